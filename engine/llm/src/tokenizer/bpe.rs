//! Byte-level BPE (GPT-2 family) with llama.cpp's merge order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::OnceLock;

use super::pretokenize::PreTokenizer;
use crate::error::LlmError;

pub struct Bpe {
    pre: PreTokenizer,
    /// Merge texts, resolved to ids lazily against the vocabulary.
    merges: Vec<(String, String)>,
    ranks: OnceLock<HashMap<(u32, u32), (u32, u32)>>,
}

/// GPT-2's reversible map from bytes to printable characters.
fn byte_to_char() -> &'static [char; 256] {
    static TABLE: OnceLock<[char; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = ['\0'; 256];
        let mut n = 0u32;
        for b in 0..256u32 {
            let printable = (0x21..=0x7e).contains(&b)
                || (0xa1..=0xac).contains(&b)
                || (0xae..=0xff).contains(&b);
            table[b as usize] = if printable {
                char::from_u32(b).unwrap()
            } else {
                n += 1;
                char::from_u32(255 + n).unwrap()
            };
        }
        table
    })
}

fn char_to_byte() -> &'static HashMap<char, u8> {
    static TABLE: OnceLock<HashMap<char, u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        byte_to_char()
            .iter()
            .enumerate()
            .map(|(b, &c)| (c, b as u8))
            .collect()
    })
}

/// Bytes of a byte-level token text.
pub fn decode_bytes(text: &str) -> Vec<u8> {
    let map = char_to_byte();
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match map.get(&c) {
            Some(&b) => out.push(b),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out
}

struct Sym {
    id: u32,
    prev: usize,
    next: usize,
    alive: bool,
}

const NONE: usize = usize::MAX;

impl Bpe {
    pub fn new(merges: &[String], pre: &str) -> Result<Self, LlmError> {
        let merges = merges
            .iter()
            .filter_map(|m| {
                let (a, b) = m.split_once(' ')?;
                Some((a.to_string(), b.to_string()))
            })
            .collect();
        Ok(Self {
            pre: PreTokenizer::for_pre(pre)?,
            merges,
            ranks: OnceLock::new(),
        })
    }

    fn ranks(&self, vocab: &HashMap<String, u32>) -> &HashMap<(u32, u32), (u32, u32)> {
        self.ranks.get_or_init(|| {
            let mut ranks = HashMap::with_capacity(self.merges.len());
            for (rank, (a, b)) in self.merges.iter().enumerate() {
                let (Some(&ia), Some(&ib)) = (vocab.get(a), vocab.get(b)) else {
                    continue;
                };
                let Some(&merged) = vocab.get(&format!("{a}{b}")) else {
                    continue;
                };
                ranks.entry((ia, ib)).or_insert((rank as u32, merged));
            }
            ranks
        })
    }

    pub fn encode(&self, text: &str, vocab: &HashMap<String, u32>, out: &mut Vec<u32>) {
        let ranks = self.ranks(vocab);
        let table = byte_to_char();
        for word in self.pre.split(text) {
            let encoded: String = word.bytes().map(|b| table[b as usize]).collect();
            if self.pre.ignore_merges {
                if let Some(&id) = vocab.get(&encoded) {
                    out.push(id);
                    continue;
                }
            }
            let mut syms: Vec<Sym> = Vec::with_capacity(encoded.len());
            let mut buf = [0u8; 4];
            for c in encoded.chars() {
                let id = vocab
                    .get(c.encode_utf8(&mut buf) as &str)
                    .copied()
                    .unwrap_or(u32::MAX);
                let i = syms.len();
                syms.push(Sym {
                    id,
                    prev: if i == 0 { NONE } else { i - 1 },
                    next: i + 1,
                    alive: true,
                });
            }
            if let Some(last) = syms.last_mut() {
                last.next = NONE;
            }
            // (rank, left index, left id, right index, right id), smallest first.
            let mut heap = BinaryHeap::new();
            let push = |heap: &mut BinaryHeap<_>, syms: &[Sym], l: usize, r: usize| {
                if l == NONE || r == NONE {
                    return;
                }
                if let Some(&(rank, _)) = ranks.get(&(syms[l].id, syms[r].id)) {
                    heap.push(Reverse((rank, l, syms[l].id, r, syms[r].id)));
                }
            };
            for i in 1..syms.len() {
                push(&mut heap, &syms, i - 1, i);
            }
            while let Some(Reverse((_, l, lid, r, rid))) = heap.pop() {
                if !syms[l].alive
                    || !syms[r].alive
                    || syms[l].next != r
                    || syms[l].id != lid
                    || syms[r].id != rid
                {
                    continue;
                }
                let merged = ranks[&(lid, rid)].1;
                syms[l].id = merged;
                syms[r].alive = false;
                let next = syms[r].next;
                syms[l].next = next;
                if next != NONE {
                    syms[next].prev = l;
                }
                let prev = syms[l].prev;
                push(&mut heap, &syms, prev, l);
                push(&mut heap, &syms, l, next);
            }
            let mut i = if syms.is_empty() { NONE } else { 0 };
            while i != NONE {
                if syms[i].id != u32::MAX {
                    out.push(syms[i].id);
                }
                i = syms[i].next;
            }
        }
    }
}
