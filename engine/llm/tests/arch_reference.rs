//! The transformer against llama.cpp, one tiny random-weight model per
//! architecture (llama, qwen2, qwen3, gemma3; see `common/tiny.rs`). The models
//! are generated here, deterministically, into a temporary folder; the expected
//! values below are llama.cpp's on the same files.
//!
//! How the expected values were made (llama.cpp of llama-cpp-python 0.3.36):
//!
//! ```sh
//! SPARRING_WRITE_TINY=/tmp/tiny cargo test -p sparring-llm --test arch_reference write_tiny_models
//! llama-completion -m /tmp/tiny/ARCH.gguf -p "$PROMPT" -n 24 --temp 0 -t 2 \
//!     --no-warmup -no-cnv --no-display-prompt --verbose-prompt     # text, prompt ids
//! ```
//!
//! and, for the generated token ids and the logits, a few lines against libllama:
//! `llama_tokenize(.., add_special = true, parse_special = true)`, one
//! `llama_decode` of the prompt, then a greedy loop (argmax of
//! `llama_get_logits_ith(ctx, -1)`, decode that one token), with an F32 KV
//! cache (`type_k = type_v = GGML_TYPE_F32`, flash attention off) as ours is
//! F32. llama.cpp's default F16 cache gives the same tokens and text. The top-1
//! margin was above 0.12 at every step for every model, so the comparison is
//! exact, not luck.
//!
//! Logits agree with llama.cpp to about 2e-5 for llama, qwen2 and qwen3. For
//! gemma3 the difference is about 4e-3: llama.cpp's CPU GELU reads a table
//! indexed by the input rounded to f16 (`GGML_GELU_FP16`); emulating that
//! rounding here brings the difference down to the 1e-5 level.

mod common;

use common::tiny::{self, TinyArch};
use sparring_core::{PromptMode, SamplingParams};
use sparring_llm::{LoadOptions, LocalModel};

const PROMPT: &str = "hello world, the quick brown fox 12";
const N: usize = 24;

struct Expected {
    /// The prompt as llama.cpp tokenizes it (BOS per `add_bos_token`).
    prompt: &'static [u32],
    /// llama.cpp's greedy continuation.
    greedy: [u32; N],
    /// Its text, as llama-completion prints it.
    text: &'static str,
    /// llama.cpp's five best logits after the prompt.
    top: [(u32, f32); 5],
    tolerance: f32,
}

const BPE_PROMPT: &[u32] = &[259, 264, 44, 265, 256, 290, 282, 285, 32, 49, 50];

fn expected(arch: TinyArch) -> Expected {
    match arch {
        TinyArch::Llama => Expected {
            prompt: BPE_PROMPT,
            greedy: [
                281, 260, 92, 48, 107, 76, 65, 107, 275, 68, 38, 62, 36, 103, 106, 286, 35, 33,
                283, 283, 283, 107, 71, 288,
            ],
            text: " brow w\\0kLAk sD&>$gj q#! f f fkG qui",
            top: [
                (281, 14.2316),
                (103, 11.6560),
                (95, 11.5698),
                (34, 9.5363),
                (65, 9.2357),
            ],
            tolerance: 1e-3,
        },
        TinyArch::Qwen2 => Expected {
            prompt: BPE_PROMPT,
            greedy: [
                291, 67, 291, 71, 291, 268, 283, 71, 266, 106, 71, 108, 40, 275, 263, 270, 117,
                280, 269, 57, 46, 283, 57, 69,
            ],
            text: "12C12G12in fG thjGl( sldanuow a9. f9E",
            top: [
                (291, 13.1048),
                (275, 9.5443),
                (261, 9.3406),
                (105, 8.8860),
                (99, 7.9102),
            ],
            tolerance: 1e-3,
        },
        TinyArch::Qwen3 => Expected {
            prompt: BPE_PROMPT,
            greedy: [
                125, 102, 66, 282, 72, 71, 72, 278, 74, 282, 72, 91, 60, 91, 91, 91, 269, 57, 282,
                100, 100, 100, 100, 100,
            ],
            text: "}fB brownHGH bJ brownH[<[[[ a9 brownddddd",
            top: [
                (125, 11.5746),
                (91, 9.8478),
                (124, 9.5795),
                (284, 8.4173),
                (51, 7.8874),
            ],
            tolerance: 1e-3,
        },
        TinyArch::Gemma3 => Expected {
            prompt: &[
                2, 266, 267, 302, 265, 268, 269, 48, 260, 282, 286, 285, 280, 305, 283, 301, 281,
                284, 287, 53, 54,
            ],
            greedy: [
                39, 125, 268, 306, 117, 262, 278, 64, 42, 60, 61, 107, 58, 57, 79, 84, 83, 75, 283,
                101, 106, 308, 268, 306,
            ],
            text: "#yorsq world s<&89g65KPOGowafuors",
            top: [
                (39, 15.3877),
                (57, 12.7996),
                (56, 10.9598),
                (77, 9.4429),
                (278, 8.1626),
            ],
            // llama.cpp's f16 GELU table, see the module documentation.
            tolerance: 2e-2,
        },
    }
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[test]
fn tiny_models_match_llama_cpp() {
    let dir = tempfile::tempdir().unwrap();
    for (arch, path) in tiny::write_all(dir.path()) {
        let exp = expected(arch);
        // Fused and separate projections must give the same result.
        for fuse in [true, false] {
            let what = format!("{arch:?} (fuse: {fuse})");
            let opts = LoadOptions {
                fuse,
                ..LoadOptions::default()
            };
            let model = LocalModel::load(&path, Some(PromptMode::Transcript), &opts)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(model.info().architecture, arch.name());
            let prompt = model.encode_prompt(PROMPT);
            assert_eq!(prompt, exp.prompt, "{what}: prompt tokens");

            // Token by token: logits after the prompt, then greedy ids.
            let mut conv = model.new_conversation().unwrap();
            let mut logits = conv.prefill(&prompt).unwrap();
            for (id, want) in exp.top {
                let got = logits[id as usize];
                assert!(
                    (got - want).abs() <= exp.tolerance,
                    "{what}: logit of token {id} is {got}, llama.cpp {want}"
                );
            }
            let mut ids = Vec::with_capacity(N);
            for _ in 0..N {
                let next = argmax(&logits);
                ids.push(next);
                logits = conv.step(next).unwrap();
            }
            assert_eq!(ids, exp.greedy, "{what}: greedy token ids");

            // Through the public generation path: the same text.
            let params = SamplingParams {
                max_tokens: N,
                ..SamplingParams::greedy()
            };
            let mut conv = model.new_conversation().unwrap();
            let (text, stats) = conv.complete(PROMPT, &params, |_| true).unwrap();
            assert_eq!(text, exp.text, "{what}: greedy text");
            assert_eq!(stats.generated_tokens, N, "{what}");
        }
    }
}

/// `SPARRING_WRITE_TINY=DIR` writes the tiny models to DIR (to run llama.cpp
/// on them); without it this does nothing.
#[test]
fn write_tiny_models() {
    let Ok(dir) = std::env::var("SPARRING_WRITE_TINY") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    for (arch, path) in tiny::write_all(std::path::Path::new(&dir)) {
        eprintln!("{arch:?}: {}", path.display());
    }
}

/// A model file cut short (an interrupted copy) is refused with an error that
/// names the file and the tensor that is missing its data.
#[test]
fn truncated_model_files_name_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.gguf");
    tiny::write(TinyArch::Llama, &path);
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len - 100).unwrap();
    drop(f);
    let err = sparring_llm::LocalModel::load(&path, None, &sparring_llm::LoadOptions::default())
        .err()
        .expect("a truncated file must not load");
    let msg = err.to_string();
    assert!(msg.contains("cut.gguf"), "{msg}");
    assert!(msg.contains("tensor `"), "{msg}");
}
