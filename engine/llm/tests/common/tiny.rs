//! Tiny random-weight GGUF models, one per architecture the transformer
//! covers, written deterministically so that the same bytes come out on every
//! run and machine. They carry the metadata keys, tensor names and shapes
//! llama.cpp expects, so its output on them can serve as a reference
//! (`tests/arch_reference.rs`).
//!
//! The weights come from a fixed-seed SplitMix64. Only printable tokens get a
//! non-zero output row, so every other token has logit exactly 0 and greedy
//! decoding (random printable logits, spread of a few units) produces printable
//! ASCII: text and token ids then map one to one.
#![allow(dead_code)]

use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

/// The architectures with a tiny model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TinyArch {
    Llama,
    Qwen2,
    Qwen3,
    Gemma3,
}

impl TinyArch {
    pub const ALL: [TinyArch; 4] = [
        TinyArch::Llama,
        TinyArch::Qwen2,
        TinyArch::Qwen3,
        TinyArch::Gemma3,
    ];

    /// `general.architecture`.
    pub fn name(self) -> &'static str {
        match self {
            TinyArch::Llama => "llama",
            TinyArch::Qwen2 => "qwen2",
            TinyArch::Qwen3 => "qwen3",
            TinyArch::Gemma3 => "gemma3",
        }
    }
}

/// Hyper-parameters of the tiny models.
pub const HIDDEN: usize = 64;
pub const N_HEAD: usize = 4;
pub const N_KV_HEAD: usize = 2;
pub const FFN: usize = 128;
pub const CONTEXT: usize = 256;
/// Gemma 3: head size independent of the width, as in the real models.
pub const GEMMA_HEAD_DIM: usize = 32;
/// Gemma 3: small window so that short prompts already cross it; with six
/// layers and llama.cpp's default pattern of 6, layers 0-4 are sliding and
/// layer 5 global.
pub const GEMMA_WINDOW: usize = 4;

/// Gain of the maps that write into the residual stream. With tied embeddings
/// a token's own row dominates the last hidden state at gain 1, and greedy
/// decoding repeats one token forever; larger updates give varied output.
const RESIDUAL_GAIN: f32 = 6.0;

/// SplitMix64, as in the sampler: tiny, fast, identical everywhere.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// GPT-2's byte-to-character map of byte-level BPE.
pub fn byte_chars() -> Vec<char> {
    let printable = |b: u32| {
        (u32::from(b'!')..=u32::from(b'~')).contains(&b)
            || (0xA1..=0xAC).contains(&b)
            || (0xAE..=0xFF).contains(&b)
    };
    let mut extra = 0;
    (0u32..256)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).unwrap()
            } else {
                extra += 1;
                char::from_u32(255 + extra).unwrap()
            }
        })
        .collect()
}

/// Merges of the byte-level vocabulary, in rank order; each result is a token.
const BPE_MERGES: &[(&str, &str)] = &[
    ("h", "e"),
    ("l", "l"),
    ("he", "ll"),
    ("hell", "o"),
    ("Ġ", "w"),
    ("o", "r"),
    ("Ġw", "or"),
    ("l", "d"),
    ("Ġwor", "ld"),
    ("Ġ", "t"),
    ("Ġt", "h"),
    ("Ġth", "e"),
    ("i", "n"),
    ("Ġ", "a"),
    ("a", "n"),
    ("e", "r"),
    ("o", "n"),
    ("a", "t"),
    ("e", "s"),
    ("Ġ", "s"),
    ("e", "n"),
    ("r", "e"),
    ("Ġ", "b"),
    ("Ġb", "r"),
    ("o", "w"),
    ("Ġbr", "ow"),
    ("Ġbrow", "n"),
    ("Ġ", "f"),
    ("o", "x"),
    ("Ġf", "ox"),
    ("Ġ", "q"),
    ("u", "i"),
    ("Ġq", "ui"),
    ("c", "k"),
    ("Ġqui", "ck"),
    ("1", "2"),
];

/// SentencePiece pieces (besides the bytes), best score first.
const SPM_PIECES: &[&str] = &[
    "▁the", "▁hello", "▁world", "hello", "▁a", "▁w", "he", "ll", "or", "ld", "in", "an", "er",
    "on", "at", "es", "en", "re", "▁s", "▁t", "▁b", "▁f", "▁q", "ow", "ox", "ck", "ui", "▁",
];

struct Builder {
    rng: Rng,
    meta: Vec<(String, Value)>,
    tensors: Vec<(String, QTensor)>,
}

impl Builder {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng(seed),
            meta: Vec::new(),
            tensors: Vec::new(),
        }
    }

    fn meta(&mut self, key: &str, value: Value) {
        self.meta.push((key.to_string(), value));
    }

    /// An architecture-scoped key such as `llama.block_count`.
    fn arch_meta(&mut self, arch: &str, key: &str, value: Value) {
        self.meta(&format!("{arch}.{key}"), value);
    }

    fn values(&mut self, n: usize, center: f32, spread: f32) -> Vec<f32> {
        (0..n)
            .map(|_| center + spread * self.rng.uniform())
            .collect()
    }

    fn push(&mut self, name: &str, data: Vec<f32>, shape: &[usize], dtype: GgmlDType) {
        let t = Tensor::from_vec(data, shape, &Device::Cpu).expect("tensor");
        let q = QTensor::quantize(&t, dtype).expect("quantize");
        self.tensors.push((name.to_string(), q));
    }

    /// A linear map `rows x cols` (candle's (out, in); GGUF ne = [in, out]),
    /// uniform with standard deviation `gain / sqrt(cols)`.
    fn matrix(&mut self, name: &str, rows: usize, cols: usize, gain: f32, dtype: GgmlDType) {
        let spread = gain * (3.0 / cols as f32).sqrt();
        let data = self.values(rows * cols, 0.0, spread);
        self.push(name, data, &[rows, cols], dtype);
    }

    fn vector(&mut self, name: &str, len: usize, center: f32, spread: f32) {
        let data = self.values(len, center, spread);
        self.push(name, data, &[len], GgmlDType::F32);
    }

    /// Token rows (vocab x hidden), zero for tokens that must never win.
    fn token_rows(&mut self, name: &str, keep: &[bool], dtype: GgmlDType) {
        let mut data = Vec::with_capacity(keep.len() * HIDDEN);
        for &k in keep {
            let row = self.values(HIDDEN, 0.0, 1.0);
            if k {
                data.extend(row);
            } else {
                data.extend(std::iter::repeat_n(0.0, HIDDEN));
            }
        }
        self.push(name, data, &[keep.len(), HIDDEN], dtype);
    }

    fn write(self, path: &Path) {
        let mut file = std::fs::File::create(path).expect("create gguf");
        let meta: Vec<(&str, &Value)> = self.meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let tensors: Vec<(&str, &QTensor)> =
            self.tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
        gguf_file::write(&mut file, &meta, &tensors).expect("write gguf");
    }
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

/// A vocabulary: tokens, llama.cpp token types, which tokens may be generated.
struct Vocab {
    tokens: Vec<String>,
    types: Vec<i32>,
    printable: Vec<bool>,
}

const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const BYTE: i32 = 6;

/// Byte-level BPE: 256 byte characters, the merges' results, `<|endoftext|>`.
/// Returns the vocabulary and the EOS id.
fn bpe_vocab(b: &mut Builder, pre: &str) -> (Vocab, u32) {
    let chars = byte_chars();
    let mut tokens: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
    let mut printable: Vec<bool> = (0u8..=255).map(|b| (0x20..0x7f).contains(&b)).collect();
    for (l, r) in BPE_MERGES {
        tokens.push(format!("{l}{r}"));
        printable.push(true);
    }
    let eos = tokens.len() as u32;
    tokens.push("<|endoftext|>".into());
    printable.push(false);
    let mut types = vec![NORMAL; tokens.len()];
    types[eos as usize] = CONTROL;
    let merges: Vec<String> = BPE_MERGES.iter().map(|(l, r)| format!("{l} {r}")).collect();
    b.meta("tokenizer.ggml.model", Value::String("gpt2".into()));
    b.meta("tokenizer.ggml.pre", Value::String(pre.into()));
    b.meta("tokenizer.ggml.tokens", strings(&tokens));
    b.meta(
        "tokenizer.ggml.token_type",
        Value::Array(types.iter().map(|&t| Value::I32(t)).collect()),
    );
    b.meta("tokenizer.ggml.merges", strings(&merges));
    b.meta("tokenizer.ggml.eos_token_id", Value::U32(eos));
    b.meta("tokenizer.ggml.bos_token_id", Value::U32(eos));
    b.meta("tokenizer.ggml.padding_token_id", Value::U32(eos));
    b.meta("tokenizer.ggml.add_bos_token", Value::Bool(false));
    b.meta("tokenizer.ggml.add_eos_token", Value::Bool(false));
    (
        Vocab {
            tokens,
            types,
            printable,
        },
        eos,
    )
}

/// SentencePiece ("llama") vocabulary as Gemma's: pad, eos, bos, unk, the 256
/// byte tokens, lowercase letters and a few longer pieces with scores.
fn spm_vocab(b: &mut Builder) -> Vocab {
    let mut tokens: Vec<String> = ["<pad>", "<eos>", "<bos>", "<unk>"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut types = vec![CONTROL, CONTROL, CONTROL, UNKNOWN];
    let mut scores = vec![0f32; 4];
    let mut printable = vec![false; 4];
    for byte in 0u8..=255 {
        tokens.push(format!("<0x{byte:02X}>"));
        types.push(BYTE);
        scores.push(0.0);
        printable.push((0x20..0x7f).contains(&byte));
    }
    let pieces = SPM_PIECES
        .iter()
        .map(|s| s.to_string())
        .chain((b'a'..=b'z').map(|c| char::from(c).to_string()));
    for (i, p) in pieces.enumerate() {
        tokens.push(p);
        types.push(NORMAL);
        scores.push(-(i as f32) * 0.5);
        printable.push(true);
    }
    b.meta("tokenizer.ggml.model", Value::String("llama".into()));
    b.meta("tokenizer.ggml.pre", Value::String("default".into()));
    b.meta("tokenizer.ggml.tokens", strings(&tokens));
    b.meta(
        "tokenizer.ggml.token_type",
        Value::Array(types.iter().map(|&t| Value::I32(t)).collect()),
    );
    b.meta(
        "tokenizer.ggml.scores",
        Value::Array(scores.iter().map(|&s| Value::F32(s)).collect()),
    );
    b.meta("tokenizer.ggml.padding_token_id", Value::U32(0));
    b.meta("tokenizer.ggml.eos_token_id", Value::U32(1));
    b.meta("tokenizer.ggml.bos_token_id", Value::U32(2));
    b.meta("tokenizer.ggml.unknown_token_id", Value::U32(3));
    b.meta("tokenizer.ggml.add_bos_token", Value::Bool(true));
    b.meta("tokenizer.ggml.add_eos_token", Value::Bool(false));
    b.meta("tokenizer.ggml.add_space_prefix", Value::Bool(false));
    Vocab {
        tokens,
        types,
        printable,
    }
}

/// Writes the tiny model of `arch` to `path`.
pub fn write(arch: TinyArch, path: &Path) {
    build(arch).write(path)
}

/// Writes all four tiny models into `dir` as `ARCH.gguf`.
pub fn write_all(dir: &Path) -> Vec<(TinyArch, std::path::PathBuf)> {
    TinyArch::ALL
        .iter()
        .map(|&a| {
            let p = dir.join(format!("{}.gguf", a.name()));
            write(a, &p);
            (a, p)
        })
        .collect()
}

fn build(arch: TinyArch) -> Builder {
    use GgmlDType::{F16, F32, Q8_0};
    let p = arch.name();
    // Variants picked among the first 40 so that llama.cpp's greedy run on the
    // prompt of `tests/arch_reference.rs` has a clear winner at every step
    // (top-1 margin > 0.1, with an F16 or an F32 KV cache) and varied output;
    // most variants work, some have near-ties. Changing anything here changes
    // the weights: the expected values there must then be made again.
    let variant: u64 = match arch {
        TinyArch::Llama => 18,
        TinyArch::Qwen2 => 34,
        TinyArch::Qwen3 => 24,
        TinyArch::Gemma3 => 27,
    };
    let mut b = Builder::new(0x5EED_0000 + arch as u64 + variant * 16);
    let (n_layer, head_dim, eps, rope_base) = match arch {
        TinyArch::Llama => (2, HIDDEN / N_HEAD, 1e-5f32, 10_000.0f32),
        TinyArch::Qwen2 => (3, HIDDEN / N_HEAD, 1e-6, 1_000_000.0),
        TinyArch::Qwen3 => (2, HIDDEN / N_HEAD, 1e-6, 1_000_000.0),
        TinyArch::Gemma3 => (6, GEMMA_HEAD_DIM, 1e-6, 1_000_000.0),
    };
    let q_dim = N_HEAD * head_dim;
    let kv_dim = N_KV_HEAD * head_dim;
    // llama: everything F32, tied output. qwen2: F16 embedding, own F32 output,
    // q/k/v biases. qwen3: Q8_0 projections, tied output. gemma3: F32, own output.
    let (embed_dtype, proj_dtype, tied) = match arch {
        TinyArch::Llama => (F32, F32, true),
        TinyArch::Qwen2 => (F16, F32, false),
        TinyArch::Qwen3 => (F32, Q8_0, true),
        TinyArch::Gemma3 => (F32, F32, false),
    };

    b.meta("general.architecture", Value::String(p.into()));
    b.meta("general.name", Value::String(format!("tiny-{p}")));
    b.meta("general.alignment", Value::U32(32));
    b.arch_meta(p, "context_length", Value::U32(CONTEXT as u32));
    b.arch_meta(p, "embedding_length", Value::U32(HIDDEN as u32));
    b.arch_meta(p, "block_count", Value::U32(n_layer as u32));
    b.arch_meta(p, "feed_forward_length", Value::U32(FFN as u32));
    b.arch_meta(p, "attention.head_count", Value::U32(N_HEAD as u32));
    b.arch_meta(p, "attention.head_count_kv", Value::U32(N_KV_HEAD as u32));
    b.arch_meta(p, "attention.layer_norm_rms_epsilon", Value::F32(eps));
    b.arch_meta(p, "rope.freq_base", Value::F32(rope_base));
    if arch == TinyArch::Gemma3 {
        b.arch_meta(p, "attention.key_length", Value::U32(head_dim as u32));
        b.arch_meta(p, "attention.value_length", Value::U32(head_dim as u32));
        b.arch_meta(
            p,
            "attention.sliding_window",
            Value::U32(GEMMA_WINDOW as u32),
        );
        // As Gemma 3 4B and larger: linear rope scaling on the global layers.
        b.arch_meta(p, "rope.scaling.type", Value::String("linear".into()));
        b.arch_meta(p, "rope.scaling.factor", Value::F32(8.0));
    } else {
        b.arch_meta(p, "rope.dimension_count", Value::U32(head_dim as u32));
    }

    let vocab = match arch {
        TinyArch::Llama => bpe_vocab(&mut b, "smollm").0,
        TinyArch::Qwen2 | TinyArch::Qwen3 => bpe_vocab(&mut b, "qwen2").0,
        TinyArch::Gemma3 => spm_vocab(&mut b),
    };
    debug_assert_eq!(vocab.tokens.len(), vocab.types.len());
    let n_vocab = vocab.tokens.len();

    if tied {
        b.token_rows("token_embd.weight", &vocab.printable, embed_dtype);
    } else {
        let all = vec![true; n_vocab];
        b.token_rows("token_embd.weight", &all, embed_dtype);
        b.token_rows("output.weight", &vocab.printable, F32);
    }
    b.vector("output_norm.weight", HIDDEN, 1.0, 0.1);
    for i in 0..n_layer {
        let n = |s: &str| format!("blk.{i}.{s}");
        b.vector(&n("attn_norm.weight"), HIDDEN, 1.0, 0.1);
        b.matrix(&n("attn_q.weight"), q_dim, HIDDEN, 1.0, proj_dtype);
        b.matrix(&n("attn_k.weight"), kv_dim, HIDDEN, 1.0, proj_dtype);
        b.matrix(&n("attn_v.weight"), kv_dim, HIDDEN, 1.0, proj_dtype);
        if arch == TinyArch::Qwen2 {
            b.vector(&n("attn_q.bias"), q_dim, 0.0, 0.5);
            b.vector(&n("attn_k.bias"), kv_dim, 0.0, 0.5);
            b.vector(&n("attn_v.bias"), kv_dim, 0.0, 0.5);
        }
        if matches!(arch, TinyArch::Qwen3 | TinyArch::Gemma3) {
            b.vector(&n("attn_q_norm.weight"), head_dim, 1.0, 0.2);
            b.vector(&n("attn_k_norm.weight"), head_dim, 1.0, 0.2);
        }
        b.matrix(
            &n("attn_output.weight"),
            HIDDEN,
            q_dim,
            RESIDUAL_GAIN,
            proj_dtype,
        );
        if arch == TinyArch::Gemma3 {
            b.vector(&n("post_attention_norm.weight"), HIDDEN, 1.0, 0.1);
        }
        b.vector(&n("ffn_norm.weight"), HIDDEN, 1.0, 0.1);
        b.matrix(&n("ffn_gate.weight"), FFN, HIDDEN, 1.0, proj_dtype);
        b.matrix(&n("ffn_up.weight"), FFN, HIDDEN, 1.0, proj_dtype);
        b.matrix(
            &n("ffn_down.weight"),
            HIDDEN,
            FFN,
            RESIDUAL_GAIN,
            proj_dtype,
        );
        if arch == TinyArch::Gemma3 {
            b.vector(&n("post_ffw_norm.weight"), HIDDEN, 1.0, 0.1);
        }
    }
    b
}
