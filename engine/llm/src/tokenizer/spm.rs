//! SentencePiece-style tokenization as llama.cpp does it for `llama`-model
//! vocabularies: merge the adjacent pair whose result scores highest, then
//! fall back to `<0xXX>` byte tokens for anything not in the vocabulary.

use std::collections::{BinaryHeap, HashMap};

use super::TokenType;

pub struct Spm {
    scores: Vec<f32>,
    byte_tokens: [Option<u32>; 256],
}

pub fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

#[derive(Clone, Copy)]
struct Sym {
    start: usize,
    len: usize,
    prev: usize,
    next: usize,
}

const NONE: usize = usize::MAX;

/// Ordered as llama.cpp's queue: highest score first, then leftmost.
#[derive(PartialEq)]
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

impl Spm {
    pub fn new(scores: Vec<f32>, tokens: &[String], types: &[TokenType]) -> Self {
        let mut byte_tokens = [None; 256];
        for (i, t) in tokens.iter().enumerate() {
            if types[i] == TokenType::Byte {
                if let Some(b) = parse_byte_token(t) {
                    byte_tokens[b as usize] = Some(i as u32);
                }
            }
        }
        Self {
            scores,
            byte_tokens,
        }
    }

    /// `text` already has spaces escaped as U+2581.
    pub fn encode(&self, text: &str, vocab: &HashMap<String, u32>, out: &mut Vec<u32>) {
        let mut syms: Vec<Sym> = Vec::new();
        for (i, (start, c)) in text.char_indices().enumerate() {
            syms.push(Sym {
                start,
                len: c.len_utf8(),
                prev: if i == 0 { NONE } else { i - 1 },
                next: i + 1,
            });
        }
        if let Some(last) = syms.last_mut() {
            last.next = NONE;
        } else {
            return;
        }
        let mut heap = BinaryHeap::new();
        let try_add = |heap: &mut BinaryHeap<Bigram>, syms: &[Sym], l: usize, r: usize| {
            if l == NONE || r == NONE {
                return;
            }
            let piece = &text[syms[l].start..syms[r].start + syms[r].len];
            let Some(&id) = vocab.get(piece) else {
                return;
            };
            let Some(&score) = self.scores.get(id as usize) else {
                return;
            };
            heap.push(Bigram {
                score,
                left: l,
                right: r,
                size: piece.len(),
            });
        };
        for i in 1..syms.len() {
            try_add(&mut heap, &syms, i - 1, i);
        }
        while let Some(b) = heap.pop() {
            let (l, r) = (syms[b.left], syms[b.right]);
            if l.len == 0 || r.len == 0 || l.len + r.len != b.size {
                continue;
            }
            syms[b.left].len += r.len;
            syms[b.right].len = 0;
            syms[b.left].next = r.next;
            if r.next != NONE {
                syms[r.next].prev = b.left;
            }
            let prev = syms[b.left].prev;
            let next = syms[b.left].next;
            try_add(&mut heap, &syms, prev, b.left);
            try_add(&mut heap, &syms, b.left, next);
        }
        // Every merge produced a vocabulary piece, so a final symbol is either a
        // token or unmerged text that falls back to bytes (llama.cpp's resegment).
        let mut i = 0;
        while i != NONE {
            let s = syms[i];
            let piece = &text[s.start..s.start + s.len];
            match vocab.get(piece) {
                Some(&id) => out.push(id),
                None => out.extend(piece.bytes().filter_map(|b| self.byte_tokens[b as usize])),
            }
            i = s.next;
        }
    }
}
