//! Latency of embedding short replies, the trainer's workload: every line a
//! trainee or the model says is compared with a handful of authored lines.

use std::time::Instant;

use serde::Serialize;

use crate::embedder::E5Embedder;
use crate::error::E5Error;

/// Call-center replies of about 20 to 40 tokens each (prefix and specials included).
pub const SHORT_REPLIES: [&str; 16] = [
    "I'm so sorry for the trouble. Let me check your account and see what happened with the technician.",
    "I completely understand your frustration, and I will make sure this gets fixed today.",
    "Could you please confirm the phone number on the account so I can look up the order?",
    "I've added a credit for the three days without service; it will show on your next bill.",
    "The earliest appointment I can offer is tomorrow between nine and twelve. Does that work for you?",
    "I can't cancel the contract online, but I can transfer you to the team that handles it.",
    "Thank you for your patience. Is there anything else I can help you with today?",
    "I hear you, and you are right that nobody called you back. That should not have happened.",
    "非常抱歉给您带来不便，我马上为您查询工程师的上门安排，请您稍等一下。",
    "我理解您的心情，宽带断了三天确实影响很大，我们会按照规定给您补偿这几天的月费。",
    "请您提供一下办理业务时登记的手机号码，我这边帮您核实一下订单的处理进度。",
    "退款会在三到五个工作日内原路退回，到账后您会收到短信通知，请您留意。",
    "明天上午九点到十二点之间工程师会上门维修，出发前会提前给您打电话确认。",
    "您反映的问题我已经记录下来并加急处理，二十四小时内会有专人给您回电。",
    "Sorry 让您久等了，您的 order number 是多少？我帮您 check 一下物流状态。",
    "好的，我已经帮您把套餐改成 200M 宽带，下个月一号开始生效，月费不变。",
];

/// Sizes of one run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchConfig {
    /// Passes over all texts, for each mode.
    pub repeats: usize,
    /// Texts per `embed` call in the batched mode.
    pub batch: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            repeats: 10,
            batch: SHORT_REPLIES.len(),
        }
    }
}

/// Per-text latencies in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub texts: usize,
    /// Mean model input length, `<s>`, prefix and `</s>` included.
    pub mean_tokens: f64,
    pub threads: usize,
    /// One text per `embed` call.
    pub single_p50_ms: f64,
    pub single_p99_ms: f64,
    /// `batch` texts per call; each call's time divided by its texts.
    pub batched_p50_ms: f64,
    pub batched_p99_ms: f64,
    pub batch: usize,
}

/// The `q` quantile (0..=1) of `v`, nearest rank.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

/// Latency samples, per text, collected over passes.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub single_ms: Vec<f64>,
    pub batched_ms: Vec<f64>,
}

impl Samples {
    /// One pass: every text on its own, then the texts in calls of `batch`.
    pub fn pass(&mut self, e5: &E5Embedder, texts: &[&str], batch: usize) -> Result<(), E5Error> {
        for t in texts {
            let t0 = Instant::now();
            e5.embed_texts(&[t])?;
            self.single_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        for chunk in texts.chunks(batch.max(1)) {
            let t0 = Instant::now();
            e5.embed_texts(chunk)?;
            self.batched_ms
                .push(t0.elapsed().as_secs_f64() * 1e3 / chunk.len() as f64);
        }
        Ok(())
    }

    pub fn result(&self, e5: &E5Embedder, texts: &[&str], batch: usize) -> BenchResult {
        let tokens: usize = texts.iter().map(|t| e5.input_ids(t).len()).sum();
        BenchResult {
            texts: texts.len(),
            mean_tokens: tokens as f64 / texts.len().max(1) as f64,
            threads: candle_core::utils::get_num_threads(),
            single_p50_ms: quantile(&self.single_ms, 0.5),
            single_p99_ms: quantile(&self.single_ms, 0.99),
            batched_p50_ms: quantile(&self.batched_ms, 0.5),
            batched_p99_ms: quantile(&self.batched_ms, 0.99),
            batch,
        }
    }
}

/// Warm-up, then `cfg.repeats` passes over `texts`.
pub fn run(e5: &E5Embedder, texts: &[&str], cfg: &BenchConfig) -> Result<BenchResult, E5Error> {
    // First touches of the weights, thread pool start.
    e5.embed_texts(texts)?;
    let mut samples = Samples::default();
    for _ in 0..cfg.repeats.max(1) {
        samples.pass(e5, texts, cfg.batch)?;
    }
    Ok(samples.result(e5, texts, cfg.batch))
}
