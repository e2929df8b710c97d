//! Reading a GGUF file: the tensors stay quantized; the metadata tells the
//! architecture, hyper-parameters, tokenizer and chat template.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::k_quants as k;
use candle_core::quantized::{GgmlDType, QStorage, QTensor};

use crate::error::LlmError;

/// An opened GGUF file whose metadata has been read.
pub struct GgufFile {
    pub path: PathBuf,
    pub content: Content,
    pub reader: BufReader<File>,
    /// Bytes in the file, to check each tensor's data is all there.
    pub file_size: u64,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self, LlmError> {
        let file = File::open(path).map_err(|source| LlmError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file_size = file
            .metadata()
            .map_err(|source| LlmError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader).map_err(|e| LlmError::BadModel {
            path: path.to_path_buf(),
            detail: format!("not a readable GGUF file: {e}"),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            content,
            reader,
            file_size,
        })
    }

    pub fn metadata(&self) -> &HashMap<String, Value> {
        &self.content.metadata
    }

    pub fn architecture(&self) -> Result<String, LlmError> {
        self.string("general.architecture")
    }

    fn missing(&self, key: &str) -> LlmError {
        LlmError::BadModel {
            path: self.path.clone(),
            detail: format!("metadata key `{key}` is missing"),
        }
    }

    fn wrong_type(&self, key: &str, want: &str) -> LlmError {
        LlmError::BadModel {
            path: self.path.clone(),
            detail: format!("metadata key `{key}` is not {want}"),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    pub fn string(&self, key: &str) -> Result<String, LlmError> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(self.wrong_type(key, "a string")),
            None => Err(self.missing(key)),
        }
    }

    pub fn opt_string(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// Any integer type, as GGUF writers disagree on widths.
    pub fn opt_u64(&self, key: &str) -> Option<u64> {
        Some(match self.get(key)? {
            Value::U8(v) => *v as u64,
            Value::I8(v) => *v as u64,
            Value::U16(v) => *v as u64,
            Value::I16(v) => *v as u64,
            Value::U32(v) => *v as u64,
            Value::I32(v) => *v as u64,
            Value::U64(v) => *v,
            Value::I64(v) => *v as u64,
            _ => return None,
        })
    }

    pub fn usize(&self, key: &str) -> Result<usize, LlmError> {
        match self.get(key) {
            None => Err(self.missing(key)),
            Some(_) => self
                .opt_u64(key)
                .map(|v| v as usize)
                .ok_or_else(|| self.wrong_type(key, "an integer")),
        }
    }

    pub fn opt_f32(&self, key: &str) -> Option<f32> {
        match self.get(key)? {
            Value::F32(v) => Some(*v),
            Value::F64(v) => Some(*v as f32),
            _ => None,
        }
    }

    pub fn f32(&self, key: &str) -> Result<f32, LlmError> {
        match self.get(key) {
            None => Err(self.missing(key)),
            Some(_) => self
                .opt_f32(key)
                .ok_or_else(|| self.wrong_type(key, "a float")),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn string_array(&self, key: &str) -> Result<Vec<String>, LlmError> {
        match self.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(self.wrong_type(key, "an array of strings")),
                })
                .collect(),
            Some(_) => Err(self.wrong_type(key, "an array")),
            None => Err(self.missing(key)),
        }
    }

    pub fn opt_f32_array(&self, key: &str) -> Option<Vec<f32>> {
        match self.get(key)? {
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::F32(f) => Some(*f),
                    Value::F64(f) => Some(*f as f32),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    pub fn opt_i32_array(&self, key: &str) -> Option<Vec<i32>> {
        match self.get(key)? {
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::I32(x) => Some(*x),
                    Value::U32(x) => Some(*x as i32),
                    Value::I8(x) => Some(*x as i32),
                    Value::U8(x) => Some(*x as i32),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}

/// Reads one tensor straight into its final, typed buffer. candle's own reader
/// reads the bytes and then copies them, which doubles the peak memory of the
/// largest tensor (Gemma 3's 178 MB embedding table).
pub fn read_tensor<R: std::io::Read + std::io::Seek>(
    content: &Content,
    reader: &mut R,
    file_size: u64,
    name: &str,
) -> candle_core::Result<QTensor> {
    use candle_core::quantized::GgmlDType as D;
    let Some(info) = content.tensor_infos.get(name) else {
        candle_core::bail!("cannot find tensor info for {name}")
    };
    let dims = info.shape.dims().to_vec();
    let elems: usize = dims.iter().product();
    let dtype = info.ggml_dtype;
    if !elems.is_multiple_of(dtype.block_size()) {
        candle_core::bail!("{name}: {elems} elements is not a whole number of blocks")
    }
    let bytes = elems / dtype.block_size() * dtype.type_size();
    let start = content.tensor_data_offset + info.offset;
    if start + bytes as u64 > file_size {
        candle_core::bail!(
            "{name}: needs {bytes} bytes at offset {start}, the file has {file_size}"
        )
    }
    reader.seek(SeekFrom::Start(start))?;
    let storage = match dtype {
        D::F32 => typed::<f32, R>(reader, bytes, dtype)?,
        D::F16 => typed::<half::f16, R>(reader, bytes, dtype)?,
        D::BF16 => typed::<half::bf16, R>(reader, bytes, dtype)?,
        D::Q4_0 => typed::<k::BlockQ4_0, R>(reader, bytes, dtype)?,
        D::Q4_1 => typed::<k::BlockQ4_1, R>(reader, bytes, dtype)?,
        D::Q5_0 => typed::<k::BlockQ5_0, R>(reader, bytes, dtype)?,
        D::Q5_1 => typed::<k::BlockQ5_1, R>(reader, bytes, dtype)?,
        D::Q8_0 => typed::<k::BlockQ8_0, R>(reader, bytes, dtype)?,
        D::Q8_1 => typed::<k::BlockQ8_1, R>(reader, bytes, dtype)?,
        D::Q2K => typed::<k::BlockQ2K, R>(reader, bytes, dtype)?,
        D::Q3K => typed::<k::BlockQ3K, R>(reader, bytes, dtype)?,
        D::Q4K => typed::<k::BlockQ4K, R>(reader, bytes, dtype)?,
        D::Q5K => typed::<k::BlockQ5K, R>(reader, bytes, dtype)?,
        D::Q6K => typed::<k::BlockQ6K, R>(reader, bytes, dtype)?,
        D::Q8K => typed::<k::BlockQ8K, R>(reader, bytes, dtype)?,
        #[allow(unreachable_patterns)]
        _ => return content.tensor(reader, name, &candle_core::Device::Cpu),
    };
    QTensor::new(storage, dims)
}

/// Reads `bytes` bytes into a vector of `T` blocks without an intermediate copy.
fn typed<T, R>(reader: &mut R, bytes: usize, dtype: GgmlDType) -> candle_core::Result<QStorage>
where
    T: k::GgmlType + Send + Sync + 'static,
    R: std::io::Read,
{
    let size = std::mem::size_of::<T>();
    if size != dtype.type_size() {
        candle_core::bail!(
            "{dtype:?}: block of {size} bytes, expected {}",
            dtype.type_size()
        )
    }
    let mut blocks: Vec<T> = vec![T::zeros(); bytes / size];
    // SAFETY: the blocks are plain-old-data structs of exactly `size` bytes
    // (checked above), fully initialised by `zeros`, and the byte view covers
    // exactly their memory.
    let view = unsafe { std::slice::from_raw_parts_mut(blocks.as_mut_ptr() as *mut u8, bytes) };
    reader.read_exact(view)?;
    Ok(QStorage::Cpu(Box::new(blocks)))
}
