//! The in-process backend: a GGUF model on candle, and conversations that keep
//! their KV cache between turns.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sparring_core::{FinishReason, GenerationStats, Message, PromptMode, SamplingParams};

use crate::error::LlmError;
use crate::gguf::GgufFile;
use crate::model::{KvCache, LoadOptions, Transformer};
use crate::prompt::{ChatTemplate, TranscriptStyle, CHATML};
use crate::sampler::Sampler;
use crate::text_decoder::TextDecoder;
use crate::tokenizer::Tokenizer;

/// Tokens fed to the model per forward pass while reading a prompt; bounds the
/// attention scratch memory for long prompts.
const PROMPT_CHUNK: usize = 256;

struct Inner {
    path: PathBuf,
    name: String,
    transformer: Transformer,
    tokenizer: Tokenizer,
    template: Option<ChatTemplate>,
    mode: PromptMode,
    transcript: TranscriptStyle,
}

/// A loaded model. Cheap to clone; all clones share the weights.
#[derive(Clone)]
pub struct LocalModel {
    inner: Arc<Inner>,
}

/// Facts about a loaded model, for listings and reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub path: PathBuf,
    pub architecture: String,
    pub prompt_mode: PromptMode,
    pub context: usize,
    pub vocab: usize,
    pub layers: usize,
    pub hidden: usize,
}

impl LocalModel {
    /// Loads a GGUF file. `mode` overrides the prompt mode (default: chat when the
    /// file has a chat template, transcript otherwise).
    pub fn load(
        path: &Path,
        mode: Option<PromptMode>,
        opts: &LoadOptions,
    ) -> Result<Self, LlmError> {
        let mut gguf = GgufFile::open(path)?;
        let arch = gguf.architecture()?;
        if crate::model::Arch::parse(&arch).is_none() {
            return Err(LlmError::UnsupportedArchitecture {
                path: path.to_path_buf(),
                arch,
            });
        }
        let tokenizer = Tokenizer::from_gguf(&gguf)?;
        let name = gguf.opt_string("general.name").unwrap_or_else(|| {
            path.file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into()
        });
        let template_src = gguf.opt_string("tokenizer.chat_template");
        let transformer = Transformer::load(&mut gguf, opts)?;
        let mode = mode.unwrap_or(if template_src.is_some() {
            PromptMode::Chat
        } else {
            PromptMode::Transcript
        });
        let tok_text = |id: Option<u32>| {
            id.and_then(|i| tokenizer.token_text(i))
                .unwrap_or_default()
                .to_string()
        };
        let template = match mode {
            PromptMode::Chat => Some(ChatTemplate::new(
                template_src.as_deref().unwrap_or(CHATML),
                &tok_text(tokenizer.bos()),
                &tok_text(tokenizer.eos()),
            )?),
            PromptMode::Transcript => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                name,
                transformer,
                tokenizer,
                template,
                mode,
                transcript: TranscriptStyle::default(),
            }),
        })
    }

    pub fn info(&self) -> ModelInfo {
        let c = &self.inner.transformer.cfg;
        ModelInfo {
            name: self.inner.name.clone(),
            path: self.inner.path.clone(),
            architecture: c.arch.name().into(),
            prompt_mode: self.inner.mode,
            context: c.context,
            vocab: c.vocab,
            layers: c.n_layer,
            hidden: c.hidden,
        }
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.inner.tokenizer
    }

    pub fn prompt_mode(&self) -> PromptMode {
        self.inner.mode
    }

    /// The prompt text for a conversation, ending where the model speaks next,
    /// plus the stop strings the prompt format implies.
    pub fn render(
        &self,
        messages: &[Message],
        style: Option<&TranscriptStyle>,
    ) -> Result<(String, Vec<String>), LlmError> {
        match (&self.inner.template, self.inner.mode) {
            (Some(t), PromptMode::Chat) => Ok((t.render(messages, true)?, Vec::new())),
            _ => {
                let style = style.unwrap_or(&self.inner.transcript);
                Ok((style.render(messages), style.stop_strings()))
            }
        }
    }

    /// Prompt text to tokens: BOS where the model wants it, special tokens parsed.
    pub fn encode_prompt(&self, text: &str) -> Vec<u32> {
        let tok = &self.inner.tokenizer;
        let mut ids = tok.encode(text, true, true);
        // Chat templates often write the BOS text themselves.
        if let (Some(b), [first, second, ..]) = (tok.bos(), ids.as_slice()) {
            if *first == b && *second == b {
                ids.remove(0);
            }
        }
        ids
    }

    pub fn new_conversation(&self) -> Result<Conversation, LlmError> {
        Ok(Conversation {
            cache: self.inner.transformer.new_cache()?,
            model: self.clone(),
            tokens: Vec::new(),
        })
    }
}

/// ln softmax(logits)[token], computed stably.
fn log_prob(logits: &[f32], token: u32) -> f64 {
    let max = logits
        .iter()
        .copied()
        .filter(|l| l.is_finite())
        .fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits
        .iter()
        .filter(|l| l.is_finite())
        .map(|&l| (l as f64 - max).exp())
        .sum();
    logits
        .get(token as usize)
        .map_or(f64::NEG_INFINITY, |&l| l as f64 - max - sum.ln())
}

/// One conversation with a model: owns its KV cache, so a new turn only
/// computes the tokens that were not seen before.
pub struct Conversation {
    model: LocalModel,
    cache: KvCache,
    /// Tokens whose keys and values are in the cache, in order.
    tokens: Vec<u32>,
}

impl Conversation {
    pub fn model(&self) -> &LocalModel {
        &self.model
    }

    /// Tokens currently cached.
    pub fn cached_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Forgets the cache (the next turn recomputes everything).
    pub fn reset(&mut self) {
        self.tokens.clear();
        self.cache.truncate(0);
    }

    /// Generates a reply to `messages`; `on_delta` receives text as it is made
    /// and returns false to stop early.
    pub fn chat(
        &mut self,
        messages: &[Message],
        style: Option<&TranscriptStyle>,
        params: &SamplingParams,
        on_delta: impl FnMut(&str) -> bool,
    ) -> Result<(String, GenerationStats), LlmError> {
        let (text, stops) = self.model.render(messages, style)?;
        let mut params = params.clone();
        params.stop.extend(stops);
        let prompt = self.model.encode_prompt(&text);
        self.generate(&prompt, &params, on_delta)
    }

    /// Continues raw text (no template).
    pub fn complete(
        &mut self,
        text: &str,
        params: &SamplingParams,
        on_delta: impl FnMut(&str) -> bool,
    ) -> Result<(String, GenerationStats), LlmError> {
        let prompt = self.model.encode_prompt(text);
        self.generate(&prompt, params, on_delta)
    }

    /// Feeds the prompt (reusing the cached prefix) and samples up to
    /// `max_tokens` tokens.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        params: &SamplingParams,
        mut on_delta: impl FnMut(&str) -> bool,
    ) -> Result<(String, GenerationStats), LlmError> {
        let start = Instant::now();
        let model = self.model.clone();
        let tm = &model.inner.transformer;
        let tok = &model.inner.tokenizer;
        if prompt.len() >= tm.cfg.context {
            return Err(LlmError::ContextOverflow {
                tokens: prompt.len(),
                context: tm.cfg.context,
            });
        }
        let (mut logits, common) = self.ingest(prompt)?;
        let prompt_done = start.elapsed();
        let mut sampler = Sampler::new(params.clone());
        let mut decoder = TextDecoder::new(params.stop.clone());
        let mut generated = 0usize;
        let mut first_token_at = None;
        let mut finish = FinishReason::Length;
        let mut logprob_sum = 0.0f64;
        while generated < params.max_tokens {
            let next = sampler.sample(&mut logits, &self.tokens);
            logprob_sum += log_prob(&logits, next);
            generated += 1;
            if first_token_at.is_none() {
                first_token_at = Some(start.elapsed());
            }
            if tok.is_end_of_turn(next) {
                finish = FinishReason::Stop;
                break;
            }
            let delta = decoder.push(&tok.token_bytes(next));
            if !delta.is_empty() && !on_delta(&delta) {
                finish = FinishReason::Cancelled;
                break;
            }
            if decoder.stopped() {
                finish = FinishReason::StopString;
                break;
            }
            if generated >= params.max_tokens || self.tokens.len() + 1 >= tm.cfg.context {
                break;
            }
            logits = self.step(next)?;
        }
        let rest = decoder.finish();
        if !rest.is_empty() && finish != FinishReason::Cancelled && !on_delta(&rest) {
            finish = FinishReason::Cancelled;
        }
        let total = start.elapsed();
        let ttft = first_token_at.unwrap_or(total);
        let computed = prompt.len() - common;
        let decode_secs = (total - ttft).as_secs_f64();
        let stats = GenerationStats {
            prompt_tokens: prompt.len(),
            prompt_tokens_computed: computed,
            generated_tokens: generated,
            ttft_ms: ttft.as_secs_f64() * 1e3,
            prompt_tok_s: computed as f64 / prompt_done.as_secs_f64().max(1e-9),
            decode_tok_s: if generated > 1 && decode_secs > 0.0 {
                (generated - 1) as f64 / decode_secs
            } else {
                0.0
            },
            finish_reason: finish,
            mean_logprob: (generated > 0).then(|| logprob_sum / generated as f64),
        };
        Ok((decoder.text().to_string(), stats))
    }

    /// Brings the cache to `prompt`, reusing the longest cached prefix (always
    /// computing at least the last token), and returns the next-token logits and
    /// how many prompt tokens came from the cache.
    pub fn ingest(&mut self, prompt: &[u32]) -> Result<(Vec<f32>, usize), LlmError> {
        if prompt.is_empty() {
            return Err(LlmError::Tokenizer("empty prompt".into()));
        }
        let common = self
            .tokens
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count()
            .min(prompt.len() - 1);
        self.tokens.truncate(common);
        self.cache.truncate(common);
        let mut logits = Vec::new();
        for chunk in prompt[common..].chunks(PROMPT_CHUNK) {
            logits = match self.model.inner.transformer.forward(chunk, &mut self.cache) {
                Ok(l) => l,
                Err(e) => {
                    self.reset();
                    return Err(e);
                }
            };
            self.tokens.extend_from_slice(chunk);
        }
        Ok((logits, common))
    }

    /// Runs a prompt from scratch without sampling (benchmarks of prompt speed)
    /// and returns the next-token logits.
    pub fn prefill(&mut self, prompt: &[u32]) -> Result<Vec<f32>, LlmError> {
        self.reset();
        Ok(self.ingest(prompt)?.0)
    }

    /// Feeds one token and returns the logits for the next. A failed step
    /// forgets the cache, whose last position may be half written.
    pub fn step(&mut self, token: u32) -> Result<Vec<f32>, LlmError> {
        match self
            .model
            .inner
            .transformer
            .forward(&[token], &mut self.cache)
        {
            Ok(logits) => {
                self.tokens.push(token);
                Ok(logits)
            }
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }
}
