//! Tokenizers built from a GGUF file's own metadata.
//!
//! The carrier packages ship no `tokenizer.json`, so the vocabulary, merges and
//! scores come from `tokenizer.ggml.*`. The algorithms follow llama.cpp's so that
//! token ids match it exactly (see `tests/tokenizer_reference.rs`).

mod bpe;
mod pretokenize;
mod spm;

use std::collections::HashMap;

use crate::error::LlmError;
use crate::gguf::GgufFile;

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl TokenType {
    fn from_i32(v: i32) -> Self {
        match v {
            2 => TokenType::Unknown,
            3 => TokenType::Control,
            4 => TokenType::UserDefined,
            5 => TokenType::Unused,
            6 => TokenType::Byte,
            _ => TokenType::Normal,
        }
    }
}

enum Algorithm {
    /// Byte-level BPE with ranked merges (GPT-2 family: SmolLM2, Llama 3, Qwen).
    Bpe(bpe::Bpe),
    /// SentencePiece-style merges by score with byte fallback (Llama 2, Gemma).
    Spm(Box<spm::Spm>),
}

/// A tokenizer for one model.
pub struct Tokenizer {
    algorithm: Algorithm,
    tokens: Vec<String>,
    types: Vec<TokenType>,
    token_to_id: HashMap<String, u32>,
    /// Control, user-defined and unknown tokens, longest text first (llama.cpp's order).
    specials: Vec<u32>,
    bos: Option<u32>,
    eos: Option<u32>,
    end_of_turn: Vec<u32>,
    add_bos: bool,
    add_space_prefix: bool,
}

impl Tokenizer {
    /// Builds the tokenizer described by `tokenizer.ggml.*` in the file.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self, LlmError> {
        let model = gguf.string("tokenizer.ggml.model")?;
        let tokens = gguf.string_array("tokenizer.ggml.tokens")?;
        let types: Vec<TokenType> = gguf
            .opt_i32_array("tokenizer.ggml.token_type")
            .map(|v| v.into_iter().map(TokenType::from_i32).collect())
            .unwrap_or_else(|| vec![TokenType::Normal; tokens.len()]);
        if types.len() != tokens.len() {
            return Err(LlmError::Tokenizer(format!(
                "{}: tokenizer.ggml.token_type has {} entries for {} tokens",
                gguf.path.display(),
                types.len(),
                tokens.len()
            )));
        }
        let mut token_to_id = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            token_to_id.insert(t.clone(), i as u32);
        }
        let id = |key: &str| gguf.opt_u64(key).map(|v| v as u32);
        let bos = id("tokenizer.ggml.bos_token_id");
        let eos = id("tokenizer.ggml.eos_token_id");
        let pre = gguf
            .opt_string("tokenizer.ggml.pre")
            .unwrap_or_else(|| "default".into());
        let (algorithm, default_add_bos, default_space_prefix) = match model.as_str() {
            "gpt2" => {
                let merges = gguf.string_array("tokenizer.ggml.merges")?;
                (Algorithm::Bpe(bpe::Bpe::new(&merges, &pre)?), false, false)
            }
            "llama" => {
                let scores = gguf
                    .opt_f32_array("tokenizer.ggml.scores")
                    .unwrap_or_else(|| vec![0.0; tokens.len()]);
                (
                    Algorithm::Spm(Box::new(spm::Spm::new(scores, &tokens, &types))),
                    true,
                    true,
                )
            }
            other => {
                return Err(LlmError::Tokenizer(format!(
                    "{}: tokenizer model `{other}` is not supported (gpt2 and llama are)",
                    gguf.path.display()
                )))
            }
        };
        let add_bos = gguf
            .opt_bool("tokenizer.ggml.add_bos_token")
            .unwrap_or(default_add_bos);
        let add_space_prefix = gguf
            .opt_bool("tokenizer.ggml.add_space_prefix")
            .unwrap_or(default_space_prefix);

        let mut specials: Vec<u32> = (0..tokens.len() as u32)
            .filter(|&i| {
                matches!(
                    types[i as usize],
                    TokenType::Control | TokenType::UserDefined | TokenType::Unknown
                ) && !tokens[i as usize].is_empty()
            })
            .collect();
        specials.sort_by_key(|&i| std::cmp::Reverse(tokens[i as usize].len()));

        // End-of-turn markers: the declared ones plus the well-known chat markers.
        let mut end_of_turn: Vec<u32> = [eos, id("tokenizer.ggml.eot_token_id")]
            .into_iter()
            .flatten()
            .collect();
        for name in [
            "<|im_end|>",
            "<end_of_turn>",
            "<|eot_id|>",
            "<|endoftext|>",
            "<|end|>",
        ] {
            if let Some(&t) = token_to_id.get(name) {
                if types[t as usize] == TokenType::Control && !end_of_turn.contains(&t) {
                    end_of_turn.push(t);
                }
            }
        }
        Ok(Self {
            algorithm,
            tokens,
            types,
            token_to_id,
            specials,
            bos,
            eos,
            end_of_turn,
            add_bos,
            add_space_prefix,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }
    /// Whether a prompt should start with BOS (`tokenizer.ggml.add_bos_token`).
    pub fn adds_bos(&self) -> bool {
        self.add_bos
    }
    /// Tokens that end the model's turn.
    pub fn end_of_turn(&self) -> &[u32] {
        &self.end_of_turn
    }
    pub fn is_end_of_turn(&self, id: u32) -> bool {
        self.end_of_turn.contains(&id)
    }
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.token_to_id.get(text).copied()
    }
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// Encodes `text`. `add_special` adds BOS where the model wants it;
    /// `parse_special` turns control-token text such as `<|im_start|>` into
    /// the token (user-defined tokens are always matched, as in llama.cpp).
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 2 + 2);
        if add_special && self.add_bos {
            if let Some(b) = self.bos {
                out.push(b);
            }
        }
        let mut prev_special = true;
        for fragment in self.partition(text, parse_special) {
            match fragment {
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
                Fragment::Text(s) => {
                    match &self.algorithm {
                        Algorithm::Bpe(bpe) => bpe.encode(s, &self.token_to_id, &mut out),
                        Algorithm::Spm(spm) => {
                            let mut t = String::with_capacity(s.len() + 3);
                            if self.add_space_prefix && prev_special {
                                t.push(' ');
                            }
                            t.push_str(s);
                            let escaped = t.replace(' ', "\u{2581}");
                            spm.encode(&escaped, &self.token_to_id, &mut out);
                        }
                    }
                    prev_special = false;
                }
            }
        }
        out
    }

    /// Splits text around special-token text, longest tokens first.
    fn partition<'a>(&self, text: &'a str, parse_special: bool) -> Vec<Fragment<'a>> {
        let mut frags = vec![Fragment::Text(text)];
        for &id in &self.specials {
            let ty = self.types[id as usize];
            if !parse_special && matches!(ty, TokenType::Control | TokenType::Unknown) {
                continue;
            }
            let needle = self.tokens[id as usize].as_str();
            if !frags
                .iter()
                .any(|f| matches!(f, Fragment::Text(t) if t.contains(needle)))
            {
                continue;
            }
            let mut next = Vec::with_capacity(frags.len() + 2);
            for f in frags {
                match f {
                    Fragment::Text(mut t) => {
                        while let Some(pos) = t.find(needle) {
                            if pos > 0 {
                                next.push(Fragment::Text(&t[..pos]));
                            }
                            next.push(Fragment::Token(id));
                            t = &t[pos + needle.len()..];
                        }
                        if !t.is_empty() {
                            next.push(Fragment::Text(t));
                        }
                    }
                    tok => next.push(tok),
                }
            }
            frags = next;
        }
        frags
    }

    /// The bytes a token stands for. Control tokens decode to nothing: they
    /// structure the prompt but are never shown.
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let Some(text) = self.tokens.get(id as usize) else {
            return Vec::new();
        };
        match self.types[id as usize] {
            TokenType::Control | TokenType::Unknown | TokenType::Unused => return Vec::new(),
            TokenType::UserDefined => return text.as_bytes().to_vec(),
            _ => {}
        }
        match &self.algorithm {
            Algorithm::Bpe(_) => bpe::decode_bytes(text),
            Algorithm::Spm(_) => {
                if self.types[id as usize] == TokenType::Byte {
                    if let Some(b) = spm::parse_byte_token(text) {
                        return vec![b];
                    }
                }
                text.replace('\u{2581}', " ").into_bytes()
            }
        }
    }

    /// Decodes ids into text (lossy only for incomplete UTF-8 at the edges).
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            bytes.extend(self.token_bytes(id));
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

enum Fragment<'a> {
    Text(&'a str),
    Token(u32),
}
