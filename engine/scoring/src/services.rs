//! What plugins may ask the host for: embeddings, similarity, Chinese word
//! segmentation, language detection and logging.

use crate::bindings::sparring::scorer::host::Host;
use crate::bindings::wit;
use crate::sandbox::{State, MAX_LOG_LINES};
use jieba_rs::Jieba;
use sparring_core::scoring::Language;
use sparring_core::{cosine, Embedder};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Texts one `embed` call may ask for, and bytes per text.
const MAX_EMBED_TEXTS: usize = 128;
const MAX_EMBED_BYTES: usize = 4096;
/// Embeddings kept in memory (exemplars are embedded once, then reused).
const CACHE_ENTRIES: usize = 8192;
const MAX_LOG_BYTES: usize = 1024;

/// Shared by all plugins of a host: the embedding model (optional: without
/// it, `embed` and `similarity` return an error the plugin can fall back on),
/// an embedding cache, and the Chinese segmenter (loaded on first use).
pub struct HostServices {
    embedder: Option<Arc<dyn Embedder>>,
    cache: Mutex<HashMap<String, Arc<Vec<f32>>>>,
    jieba: OnceLock<Jieba>,
}

impl HostServices {
    pub fn new(embedder: Option<Arc<dyn Embedder>>) -> Self {
        HostServices {
            embedder,
            cache: Mutex::new(HashMap::new()),
            jieba: OnceLock::new(),
        }
    }

    pub fn has_embeddings(&self) -> bool {
        self.embedder.is_some()
    }

    /// Embeddings for `texts`, computing only those not cached.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Arc<Vec<f32>>>, String> {
        let embedder = self
            .embedder
            .as_ref()
            .ok_or_else(|| "no embedding model is installed on this host".to_string())?;
        if texts.len() > MAX_EMBED_TEXTS {
            return Err(format!(
                "at most {MAX_EMBED_TEXTS} texts per call, got {}",
                texts.len()
            ));
        }
        if let Some(t) = texts.iter().find(|t| t.len() > MAX_EMBED_BYTES) {
            return Err(format!(
                "texts are limited to {MAX_EMBED_BYTES} bytes, got one of {}",
                t.len()
            ));
        }
        let missing: Vec<&str> = {
            let cache = self.cache.lock().expect("embedding cache");
            let mut missing: Vec<&str> = texts
                .iter()
                .filter(|t| !cache.contains_key(t.as_str()))
                .map(String::as_str)
                .collect();
            missing.sort_unstable();
            missing.dedup();
            missing
        };
        if !missing.is_empty() {
            let vectors = embedder.embed(&missing).map_err(|e| e.to_string())?;
            let mut cache = self.cache.lock().expect("embedding cache");
            if cache.len() + missing.len() > CACHE_ENTRIES {
                cache.clear();
            }
            for (text, v) in missing.iter().zip(vectors) {
                cache.insert((*text).to_string(), Arc::new(v));
            }
        }
        let cache = self.cache.lock().expect("embedding cache");
        texts
            .iter()
            .map(|t| {
                cache
                    .get(t.as_str())
                    .cloned()
                    .ok_or_else(|| "embedding cache evicted during the call".to_string())
            })
            .collect()
    }

    /// Words of `text`: Chinese by dictionary (jieba, no HMM, so results do
    /// not depend on anything but the dictionary), other text on whitespace
    /// and punctuation.
    pub fn segment(&self, text: &str) -> Vec<String> {
        let jieba = self.jieba.get_or_init(Jieba::new);
        jieba
            .cut(text, false)
            .into_iter()
            .map(str::trim)
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .map(str::to_string)
            .collect()
    }
}

impl Default for HostServices {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Host for State {
    fn embed(&mut self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, String> {
        let vectors = self.services.embed(&texts)?;
        Ok(vectors.iter().map(|v| v.as_ref().clone()).collect())
    }

    fn similarity(&mut self, a: String, b: String) -> Result<f32, String> {
        let v = self.services.embed(&[a, b])?;
        Ok(cosine(&v[0], &v[1]))
    }

    fn segment(&mut self, text: String) -> Vec<String> {
        self.services.segment(&text)
    }

    fn detect_language(&mut self, text: String) -> wit::Language {
        match Language::detect(&text) {
            Language::Zh => wit::Language::Zh,
            Language::En => wit::Language::En,
        }
    }

    fn log(&mut self, level: wit::LogLevel, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let mut message = message;
        if message.len() > MAX_LOG_BYTES {
            let mut cut = MAX_LOG_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let plugin = self.plugin.as_str();
        match level {
            wit::LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            wit::LogLevel::Info => tracing::info!(plugin, "{message}"),
            wit::LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            wit::LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

impl wit::Host for State {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_chinese_and_english() {
        let s = HostServices::default();
        assert_eq!(
            s.segment("我非常理解您的心情，马上为您处理。OK, thanks!"),
            [
                "我", "非常", "理解", "您", "的", "心情", "马上", "为", "您", "处理", "OK",
                "thanks"
            ]
        );
    }

    #[test]
    fn embed_without_model_is_a_clear_error() {
        let s = HostServices::default();
        let err = s.embed(&["hi".into()]).unwrap_err();
        assert!(err.contains("no embedding model"), "{err}");
    }
}
