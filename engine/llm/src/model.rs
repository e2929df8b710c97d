//! One quantized decoder-only transformer covering the GGUF architectures
//! sparring loads: llama (SmolLM2, Llama 3), qwen2, qwen3 and gemma3.
//!
//! Why not candle-transformers' per-architecture models: their KV cache lives
//! inside the weights, so conversations cannot share one copy of the weights,
//! caches cannot be truncated, and grow by concatenation on every token. Here the
//! weights are immutable and shared (`Arc`), and each conversation owns a
//! [`KvCache`] that is preallocated, grown geometrically and truncatable.

use std::borrow::Cow;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use crate::error::LlmError;
use crate::gguf::GgufFile;

/// Architecture family: decides block layout, norms and rope style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Gemma3,
}

impl Arch {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "gemma3" => Arch::Gemma3,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Gemma3 => "gemma3",
        }
    }
}

/// Hyper-parameters read from the GGUF metadata.
#[derive(Debug, Clone)]
pub struct Config {
    pub arch: Arch,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub hidden: usize,
    pub vocab: usize,
    pub eps: f32,
    /// Usable context: the model's own, capped by the load options.
    pub context: usize,
    pub sliding_window: Option<usize>,
}

/// A quantized linear map whose weights may have been padded with zero columns
/// (see [`LoadOptions::pad`]); narrower inputs get the matching zero columns.
struct Linear {
    matmul: QMatMul,
    in_dim: usize,
}

impl Linear {
    fn new(t: QTensor) -> Result<Self, LlmError> {
        let in_dim = t.shape().dims2()?.1;
        Ok(Self {
            matmul: QMatMul::from_qtensor(t)?,
            in_dim,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let width = x.dim(1)?;
        if width < self.in_dim {
            self.matmul
                .forward(&x.pad_with_zeros(1, 0, self.in_dim - width)?)
        } else {
            self.matmul.forward(x)
        }
    }
}

/// Several linear maps of the same input. Fused, the input is quantized once and
/// the thread pool woken once; the outputs are column ranges of one product.
enum Projections {
    Fused { linear: Linear, widths: Vec<usize> },
    Separate(Vec<Linear>),
}

impl Projections {
    /// Stacks the weights' rows when every part has the same type and input
    /// width; the bytes are concatenated, so the result is exact.
    fn new(parts: Vec<QTensor>, fuse: bool, device: &Device) -> Result<Self, LlmError> {
        let dtype = parts[0].dtype();
        let cols = parts[0].shape().dims()[1];
        let same = parts
            .iter()
            .all(|p| p.dtype() == dtype && p.shape().dims().get(1) == Some(&cols));
        if !fuse || !same || parts.len() < 2 {
            return Ok(Projections::Separate(
                parts
                    .into_iter()
                    .map(Linear::new)
                    .collect::<Result<_, _>>()?,
            ));
        }
        let mut bytes = Vec::new();
        let mut widths = Vec::with_capacity(parts.len());
        for p in &parts {
            bytes.extend_from_slice(&p.data()?);
            widths.push(p.shape().dims()[0]);
        }
        drop(parts);
        let rows: usize = widths.iter().sum();
        let storage = QStorage::from_data(Cow::Owned(bytes), device, dtype)?;
        let linear = Linear::new(QTensor::new(storage, (rows, cols))?)?;
        Ok(Projections::Fused { linear, widths })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        match self {
            Projections::Separate(ls) => ls.iter().map(|l| l.forward(x)).collect(),
            Projections::Fused { linear, widths } => {
                let y = linear.forward(x)?;
                let mut at = 0;
                widths
                    .iter()
                    .map(|&w| {
                        let part = y.narrow(1, at, w);
                        at += w;
                        part
                    })
                    .collect()
            }
        }
    }
}

struct Rope {
    cos: Tensor,
    sin: Tensor,
}

struct Layer {
    /// Query, key and value projections, fused into one matmul when they share a type.
    qkv: Projections,
    wo: Linear,
    bq: Option<Tensor>,
    bk: Option<Tensor>,
    bv: Option<Tensor>,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    attn_norm: Tensor,
    post_attn_norm: Option<Tensor>,
    ffn_norm: Tensor,
    post_ffn_norm: Option<Tensor>,
    /// Gate and up projections, fused likewise.
    gate_up: Projections,
    down: Linear,
    sliding: bool,
    rope: usize,
}

/// Quantized weights, shared by every conversation on the model.
pub struct Transformer {
    pub cfg: Config,
    embed: Arc<QTensor>,
    embed_scale: Option<f64>,
    layers: Vec<Layer>,
    norm: Tensor,
    output: QMatMul,
    ropes: Vec<Rope>,
    rope_neox: bool,
    attn_scale: f64,
    device: Device,
}

/// Attention keys and values of one conversation, layer by layer.
pub struct KvCache {
    k: Vec<Tensor>,
    v: Vec<Tensor>,
    len: usize,
    capacity: usize,
}

impl KvCache {
    /// Number of positions held.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Forget everything after `len` positions (e.g. where a new prompt diverges).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Options that change how a model is loaded.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Upper bound on the context (memory for rope tables and caches).
    pub max_context: usize,
    /// Convert weights whose candle kernels are scalar-only (Q4_1, Q5_0, Q5_1)
    /// to Q8_0 at load time, which has SIMD kernels: more memory, much faster.
    /// Env `SPARRING_REQUANTIZE=0` turns it off.
    pub requantize: bool,
    /// Fuse q/k/v and gate/up projections (exact). Env `SPARRING_FUSE=0` turns it off.
    pub fuse: bool,
    /// Pad Q8_0 weights' input width with zero columns to a multiple of 256,
    /// the shape candle's tiled (VNNI) kernels require: prompts read about 2x
    /// faster for more memory and slightly slower decoding. Env `SPARRING_PAD=0`
    /// turns it off.
    pub pad: bool,
}

/// Zero columns that bring `cols` to a multiple of 256, when that costs at most
/// half as much again (tiny test models are left alone).
fn padding(cols: usize) -> usize {
    let pad = cols.next_multiple_of(256) - cols;
    if pad * 2 <= cols {
        pad
    } else {
        0
    }
}

/// Appends `pad` zero columns to a Q8_0 matrix by appending zero blocks to each
/// row: exact, no requantization.
fn pad_q8_0(t: &QTensor, pad: usize, device: &Device) -> Result<QTensor, LlmError> {
    let (rows, cols) = t.shape().dims2()?;
    let (bs, ts) = (GgmlDType::Q8_0.block_size(), GgmlDType::Q8_0.type_size());
    let row_bytes = cols / bs * ts;
    let pad_bytes = pad / bs * ts;
    let data = t.data()?;
    let mut out = Vec::with_capacity(rows * (row_bytes + pad_bytes));
    for r in 0..rows {
        out.extend_from_slice(&data[r * row_bytes..(r + 1) * row_bytes]);
        // A Q8_0 block of zeros: scale 0 (f16 zero bits) and 32 zero quants.
        out.resize(out.len() + pad_bytes, 0);
    }
    let storage = QStorage::from_data(Cow::Owned(out), device, GgmlDType::Q8_0)?;
    Ok(QTensor::new(storage, (rows, cols + pad))?)
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_context: 8192,
            requantize: std::env::var("SPARRING_REQUANTIZE").as_deref() != Ok("0"),
            fuse: std::env::var("SPARRING_FUSE").as_deref() != Ok("0"),
            pad: std::env::var("SPARRING_PAD").as_deref() != Ok("0"),
        }
    }
}

/// Whether candle 0.11 has only a scalar dot product for this type on x86.
fn scalar_only(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

fn md_err(path: &std::path::Path, detail: String) -> LlmError {
    LlmError::BadModel {
        path: path.to_path_buf(),
        detail,
    }
}

impl Transformer {
    pub fn load(gguf: &mut GgufFile, opts: &LoadOptions) -> Result<Self, LlmError> {
        let arch_name = gguf.architecture()?;
        let arch = Arch::parse(&arch_name).ok_or_else(|| LlmError::UnsupportedArchitecture {
            path: gguf.path.clone(),
            arch: arch_name.clone(),
        })?;
        let p = arch_name.as_str();
        let n_layer = gguf.usize(&format!("{p}.block_count"))?;
        let hidden = gguf.usize(&format!("{p}.embedding_length"))?;
        let n_head = gguf.usize(&format!("{p}.attention.head_count"))?;
        let n_kv_head = gguf
            .opt_u64(&format!("{p}.attention.head_count_kv"))
            .map(|v| v as usize)
            .unwrap_or(n_head);
        let head_dim = gguf
            .opt_u64(&format!("{p}.attention.key_length"))
            .map(|v| v as usize)
            .unwrap_or(hidden / n_head);
        let rope_dim = gguf
            .opt_u64(&format!("{p}.rope.dimension_count"))
            .map(|v| v as usize)
            .unwrap_or(head_dim);
        if rope_dim != head_dim {
            return Err(md_err(
                &gguf.path,
                format!("partial rotary embeddings ({rope_dim} of {head_dim}) are not supported"),
            ));
        }
        let eps = gguf.f32(&format!("{p}.attention.layer_norm_rms_epsilon"))?;
        let ctx_train = gguf
            .opt_u64(&format!("{p}.context_length"))
            .map(|v| v as usize)
            .unwrap_or(4096);
        let context = ctx_train.min(opts.max_context);
        let rope_base = gguf
            .opt_f32(&format!("{p}.rope.freq_base"))
            .unwrap_or(10_000.0);
        // Linear rope scaling (Gemma 3 4B and larger: factor 8): positions are
        // divided by the factor, as llama.cpp's freq_scale does. Gemma 3 applies
        // it to the global layers only; its sliding layers keep their own rope.
        let rope_factor = gguf
            .opt_f32(&format!("{p}.rope.scaling.factor"))
            .or_else(|| gguf.opt_f32(&format!("{p}.rope.scale_linear")))
            .filter(|&f| f != 0.0 && f != 1.0);
        let rope_scaling = gguf
            .opt_string(&format!("{p}.rope.scaling.type"))
            .unwrap_or_else(|| "linear".into());
        let pos_scale = match (rope_scaling.as_str(), rope_factor) {
            ("linear", Some(f)) => 1.0 / f,
            ("none", _) | (_, None) => 1.0,
            (other, Some(f)) => {
                tracing::warn!(
                    "{}: rope scaling `{other}` (factor {f}) is not supported; ignored",
                    gguf.path.display()
                );
                1.0
            }
        };
        let sliding_window = match arch {
            Arch::Gemma3 => gguf
                .opt_u64(&format!("{p}.attention.sliding_window"))
                .map(|v| v as usize),
            _ => None,
        };
        let device = Device::Cpu;
        let path = gguf.path.clone();
        let GgufFile {
            content,
            reader,
            file_size,
            ..
        } = gguf;
        let mut tensor = |name: &str| -> Result<QTensor, LlmError> {
            crate::gguf::read_tensor(content, reader, *file_size, name)
                .map_err(|e| md_err(&path, format!("tensor `{name}`: {e}")))
        };
        let has = |name: &str| content.tensor_infos.contains_key(name);
        let has_output = has("output.weight");
        let has_rope_freqs = has("rope_freqs.weight");
        let has_q_bias = has("blk.0.attn_q.bias");
        let has_qk_norm = has("blk.0.attn_q_norm.weight");
        let dense = |t: QTensor| t.dequantize(&device);

        let embed = Arc::new(tensor("token_embd.weight")?);
        let vocab = embed.shape().dims()[0];
        let output = if has_output {
            QMatMul::from_qtensor(tensor("output.weight")?)?
        } else {
            QMatMul::from_arc(embed.clone())?
        };
        let norm = dense(tensor("output_norm.weight")?)?;
        let freq_factors = if has_rope_freqs {
            Some(dense(tensor("rope_freqs.weight")?)?.to_vec1::<f32>()?)
        } else {
            None
        };
        let mut ropes = vec![rope_table(
            head_dim,
            rope_base,
            freq_factors.as_deref(),
            pos_scale,
            context,
            &device,
        )?];
        if arch == Arch::Gemma3 {
            ropes.push(rope_table(head_dim, 10_000.0, None, 1.0, context, &device)?);
        }

        // Weight types candle has fast kernels for, in the shapes they need.
        let prepare = |t: QTensor| -> Result<QTensor, LlmError> {
            let t = if opts.requantize && scalar_only(t.dtype()) {
                QTensor::quantize(&t.dequantize(&device)?, GgmlDType::Q8_0)?
            } else {
                t
            };
            let pad = padding(t.shape().dims()[1]);
            Ok(if opts.pad && pad > 0 && t.dtype() == GgmlDType::Q8_0 {
                pad_q8_0(&t, pad, &device)?
            } else {
                t
            })
        };
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            let n = |s: &str| format!("blk.{i}.{s}");
            let mut parts = |names: &[&str]| -> Result<Vec<QTensor>, LlmError> {
                names.iter().map(|s| prepare(tensor(&n(s))?)).collect()
            };
            let qkv = parts(&["attn_q.weight", "attn_k.weight", "attn_v.weight"])?;
            let gate_up = parts(&["ffn_gate.weight", "ffn_up.weight"])?;
            let [wo, down] = parts(&["attn_output.weight", "ffn_down.weight"])?
                .try_into()
                .expect("two tensors");
            let qkv = Projections::new(qkv, opts.fuse, &device)?;
            let gate_up = Projections::new(gate_up, opts.fuse, &device)?;
            let (wo, down) = (Linear::new(wo)?, Linear::new(down)?);
            let sliding = arch == Arch::Gemma3 && sliding_window.is_some() && (i + 1) % 6 != 0;
            let gemma = arch == Arch::Gemma3;
            layers.push(Layer {
                qkv,
                gate_up,
                wo,
                bq: if has_q_bias {
                    Some(dense(tensor(&n("attn_q.bias"))?)?)
                } else {
                    None
                },
                bk: if has_q_bias {
                    Some(dense(tensor(&n("attn_k.bias"))?)?)
                } else {
                    None
                },
                bv: if has_q_bias {
                    Some(dense(tensor(&n("attn_v.bias"))?)?)
                } else {
                    None
                },
                q_norm: if has_qk_norm {
                    Some(dense(tensor(&n("attn_q_norm.weight"))?)?)
                } else {
                    None
                },
                k_norm: if has_qk_norm {
                    Some(dense(tensor(&n("attn_k_norm.weight"))?)?)
                } else {
                    None
                },
                attn_norm: dense(tensor(&n("attn_norm.weight"))?)?,
                post_attn_norm: if gemma {
                    Some(dense(tensor(&n("post_attention_norm.weight"))?)?)
                } else {
                    None
                },
                ffn_norm: dense(tensor(&n("ffn_norm.weight"))?)?,
                post_ffn_norm: if gemma {
                    Some(dense(tensor(&n("post_ffw_norm.weight"))?)?)
                } else {
                    None
                },
                down,
                sliding,
                rope: usize::from(sliding),
            });
        }
        let cfg = Config {
            arch,
            n_layer,
            n_head,
            n_kv_head,
            head_dim,
            hidden,
            vocab,
            eps,
            context,
            sliding_window,
        };
        Ok(Self {
            embed_scale: (arch == Arch::Gemma3).then(|| (hidden as f64).sqrt()),
            rope_neox: arch != Arch::Llama,
            attn_scale: 1.0 / (head_dim as f64).sqrt(),
            cfg,
            embed,
            layers,
            norm,
            output,
            ropes,
            device,
        })
    }

    /// An empty cache sized for a typical turn; it grows on demand.
    pub fn new_cache(&self) -> Result<KvCache, LlmError> {
        let mut cache = KvCache {
            k: Vec::new(),
            v: Vec::new(),
            len: 0,
            capacity: 0,
        };
        self.reserve(&mut cache, 512.min(self.cfg.context))?;
        Ok(cache)
    }

    fn reserve(&self, cache: &mut KvCache, needed: usize) -> Result<(), LlmError> {
        if needed <= cache.capacity {
            return Ok(());
        }
        if needed > self.cfg.context {
            return Err(LlmError::ContextOverflow {
                tokens: needed,
                context: self.cfg.context,
            });
        }
        let cap = needed
            .max(cache.capacity * 2)
            .next_multiple_of(256)
            .min(self.cfg.context);
        let shape = (self.cfg.n_kv_head, cap, self.cfg.head_dim);
        let mut k = Vec::with_capacity(self.cfg.n_layer);
        let mut v = Vec::with_capacity(self.cfg.n_layer);
        for l in 0..self.cfg.n_layer {
            let nk = Tensor::zeros(shape, DType::F32, &self.device)?;
            let nv = Tensor::zeros(shape, DType::F32, &self.device)?;
            if cache.len > 0 {
                nk.slice_set(&cache.k[l].narrow(1, 0, cache.len)?.contiguous()?, 1, 0)?;
                nv.slice_set(&cache.v[l].narrow(1, 0, cache.len)?.contiguous()?, 1, 0)?;
            }
            k.push(nk);
            v.push(nv);
        }
        cache.k = k;
        cache.v = v;
        cache.capacity = cap;
        Ok(())
    }

    fn embed_tokens(&self, tokens: &[u32]) -> Result<Tensor, LlmError> {
        let dtype = self.embed.dtype();
        let (bs, ts) = (dtype.block_size(), dtype.type_size());
        let row_bytes = self.cfg.hidden / bs * ts;
        let data = self.embed.data()?;
        let mut rows = Vec::with_capacity(tokens.len());
        for &t in tokens {
            let t = t as usize;
            if t >= self.cfg.vocab {
                return Err(LlmError::Tokenizer(format!(
                    "token id {t} outside the vocabulary of {}",
                    self.cfg.vocab
                )));
            }
            let bytes = &data[t * row_bytes..(t + 1) * row_bytes];
            let row = if dtype == GgmlDType::F32 {
                let floats: Vec<f32> = bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                Tensor::from_vec(floats, (1, self.cfg.hidden), &self.device)?
            } else {
                let storage = QStorage::from_data(Cow::Borrowed(bytes), &self.device, dtype)?;
                QTensor::new(storage, (1, self.cfg.hidden))?.dequantize(&self.device)?
            };
            rows.push(row);
        }
        let x = Tensor::cat(&rows, 0)?;
        Ok(match self.embed_scale {
            Some(s) => (x * s)?,
            None => x,
        })
    }

    /// Runs `tokens` at positions `cache.len()..` and returns the logits of the
    /// last one. The cache grows by `tokens.len()`.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>, LlmError> {
        let seq = tokens.len();
        let pos = cache.len;
        self.reserve(cache, pos + seq)?;
        let total = pos + seq;
        let cfg = &self.cfg;
        let mut x = self.embed_tokens(tokens)?;
        let causal = if seq > 1 {
            Some(self.mask(seq, pos, None)?)
        } else {
            None
        };
        let sliding = match cfg.sliding_window {
            Some(w) if total > w || seq > 1 => Some(self.mask(seq, pos, Some(w))?),
            _ => None,
        };
        for (li, layer) in self.layers.iter().enumerate() {
            let residual = x.clone();
            let h = candle_nn::ops::rms_norm(&x, &layer.attn_norm, cfg.eps)?;
            let mask = if layer.sliding {
                sliding.as_ref()
            } else {
                causal.as_ref()
            };
            let h = self.attention(layer, li, &h, cache, pos, mask)?;
            let h = match &layer.post_attn_norm {
                Some(w) => candle_nn::ops::rms_norm(&h, w, cfg.eps)?,
                None => h,
            };
            let x1 = (h + residual)?;
            let h = candle_nn::ops::rms_norm(&x1, &layer.ffn_norm, cfg.eps)?;
            let mut gu = layer.gate_up.forward(&h)?;
            let up = gu.pop().expect("up projection");
            let gate = gu.pop().expect("gate projection");
            let act = if cfg.arch == Arch::Gemma3 {
                gate.gelu()?
            } else {
                candle_nn::ops::silu(&gate)?
            };
            let h = layer.down.forward(&(act * up)?)?;
            let h = match &layer.post_ffn_norm {
                Some(w) => candle_nn::ops::rms_norm(&h, w, cfg.eps)?,
                None => h,
            };
            x = (h + x1)?;
        }
        cache.len = total;
        let last = x.narrow(0, seq - 1, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, cfg.eps)?;
        let logits = self.output.forward(&last)?;
        Ok(logits.squeeze(0)?.to_vec1::<f32>()?)
    }

    /// Additive mask (seq, pos+seq): 0 where a query may look, -inf elsewhere.
    fn mask(&self, seq: usize, pos: usize, window: Option<usize>) -> Result<Tensor, LlmError> {
        let total = pos + seq;
        let mut m = vec![0f32; seq * total];
        for i in 0..seq {
            let q = pos + i;
            for j in 0..total {
                let blocked = j > q || window.is_some_and(|w| q - j >= w);
                if blocked {
                    m[i * total + j] = f32::NEG_INFINITY;
                }
            }
        }
        Ok(Tensor::from_vec(m, (seq, total), &self.device)?)
    }

    fn attention(
        &self,
        layer: &Layer,
        li: usize,
        x: &Tensor,
        cache: &mut KvCache,
        pos: usize,
        mask: Option<&Tensor>,
    ) -> Result<Tensor, LlmError> {
        let cfg = &self.cfg;
        let seq = x.dim(0)?;
        let (nh, nkv, hd) = (cfg.n_head, cfg.n_kv_head, cfg.head_dim);
        let add_bias = |t: Tensor, b: &Option<Tensor>| -> candle_core::Result<Tensor> {
            match b {
                Some(b) => t.broadcast_add(b),
                None => Ok(t),
            }
        };
        let mut qkv = layer.qkv.forward(x)?;
        let v = add_bias(qkv.pop().expect("v"), &layer.bv)?;
        let k = add_bias(qkv.pop().expect("k"), &layer.bk)?;
        let q = add_bias(qkv.pop().expect("q"), &layer.bq)?;
        let mut q = q.reshape((seq, nh, hd))?;
        let mut k = k.reshape((seq, nkv, hd))?;
        if let Some(w) = &layer.q_norm {
            q = candle_nn::ops::rms_norm(&q, w, cfg.eps)?;
        }
        if let Some(w) = &layer.k_norm {
            k = candle_nn::ops::rms_norm(&k, w, cfg.eps)?;
        }
        let q = q.transpose(0, 1)?.contiguous()?.unsqueeze(0)?;
        let k = k.transpose(0, 1)?.contiguous()?.unsqueeze(0)?;
        let v = v.reshape((seq, nkv, hd))?.transpose(0, 1)?.contiguous()?;
        let rope = &self.ropes[layer.rope];
        let cos = rope.cos.narrow(0, pos, seq)?;
        let sin = rope.sin.narrow(0, pos, seq)?;
        let (q, k) = if self.rope_neox {
            (
                candle_nn::rotary_emb::rope(&q, &cos, &sin)?,
                candle_nn::rotary_emb::rope(&k, &cos, &sin)?,
            )
        } else {
            (
                candle_nn::rotary_emb::rope_i(&q, &cos, &sin)?,
                candle_nn::rotary_emb::rope_i(&k, &cos, &sin)?,
            )
        };
        let k = k.squeeze(0)?;
        cache.k[li].slice_set(&k, 1, pos)?;
        cache.v[li].slice_set(&v, 1, pos)?;
        let total = pos + seq;
        let keys = cache.k[li].narrow(1, 0, total)?;
        let values = cache.v[li].narrow(1, 0, total)?;
        // Grouped-query attention without copying keys: fold the query heads of
        // one kv head into the row dimension.
        let group = nh / nkv;
        let q = q.reshape((nkv, group * seq, hd))?;
        let scores = (q.matmul(&keys.t()?)? * self.attn_scale)?;
        let scores = match mask {
            Some(m) => scores
                .reshape((nkv, group, seq, total))?
                .broadcast_add(m)?
                .reshape((nkv, group * seq, total))?,
            None => scores,
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(&values)?; // (nkv, group*seq, hd)
        let out = out
            .reshape((nh, seq, hd))?
            .transpose(0, 1)?
            .reshape((seq, nh * hd))?;
        Ok(layer.wo.forward(&out)?)
    }
}

fn rope_table(
    dim: usize,
    base: f32,
    factors: Option<&[f32]>,
    pos_scale: f32,
    max_pos: usize,
    device: &Device,
) -> Result<Rope, LlmError> {
    let half = dim / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| {
            let f = pos_scale / base.powf((2 * i) as f32 / dim as f32);
            match factors {
                Some(fs) if i < fs.len() => f / fs[i],
                _ => f,
            }
        })
        .collect();
    let mut cos = Vec::with_capacity(max_pos * half);
    let mut sin = Vec::with_capacity(max_pos * half);
    for p in 0..max_pos {
        for &f in &inv {
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    Ok(Rope {
        cos: Tensor::from_vec(cos, (max_pos, half), device)?,
        sin: Tensor::from_vec(sin, (max_pos, half), device)?,
    })
}
