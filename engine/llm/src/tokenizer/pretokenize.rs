//! Regex pre-tokenization for byte-level BPE, keyed by `tokenizer.ggml.pre`.
//!
//! The expressions are llama.cpp's; each is applied in turn to the pieces the
//! previous one produced, keeping the text between matches as pieces too.

use fancy_regex::Regex;

use crate::error::LlmError;

const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The split rules of one tokenizer family.
pub struct PreTokenizer {
    regexes: Vec<Regex>,
    /// Llama 3 looks a whole word up before merging.
    pub ignore_merges: bool,
}

impl PreTokenizer {
    pub fn for_pre(pre: &str) -> Result<Self, LlmError> {
        let (exprs, ignore_merges): (Vec<&str>, bool) = match pre {
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone"
            | "minerva-7b" => (vec![r"\p{N}", GPT2], false),
            "llama3" | "llama-bpe" | "llama-v3" | "falcon3" | "pixtral" => (vec![LLAMA3], true),
            "qwen2" | "deepseek-r1-qwen" | "qwen35" | "hunyuan" => (vec![QWEN2], false),
            "gpt-2" | "gpt2" | "default" | "phi-2" | "jina-es" | "jina-de" | "olmo" | "mpt"
            | "stablelm2" => (vec![GPT2], false),
            other => {
                return Err(LlmError::Tokenizer(format!(
                    "pre-tokenizer `{other}` is not supported (smollm, llama3, qwen2, gpt2 are)"
                )))
            }
        };
        let regexes = exprs
            .into_iter()
            .map(|e| Regex::new(e).map_err(|err| LlmError::Tokenizer(err.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            regexes,
            ignore_merges,
        })
    }

    /// Splits `text` into words; concatenated they give back `text`.
    pub fn split<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let mut pieces = vec![text];
        for re in &self.regexes {
            let mut next = Vec::with_capacity(pieces.len() * 2);
            for piece in pieces {
                let mut last = 0;
                for m in re.find_iter(piece).flatten() {
                    if m.start() > last {
                        next.push(&piece[last..m.start()]);
                    }
                    if m.end() > m.start() {
                        next.push(&piece[m.start()..m.end()]);
                    }
                    last = m.end();
                }
                if last < piece.len() {
                    next.push(&piece[last..]);
                }
            }
            pieces = next;
        }
        pieces
    }
}
