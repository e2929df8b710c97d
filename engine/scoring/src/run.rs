//! Several plugins on one reply, in parallel for a trainee waiting on them or
//! one after another for a batch that already keeps every core busy; each
//! plugin's failure is its own.

use crate::error::PluginError;
use crate::plugin::Plugin;
use serde::Serialize;
use sparring_core::scoring::{Score, Transcript, TurnContext};
use std::time::{Duration, Instant};

/// One plugin's answer for one reply or session.
#[derive(Debug, Clone)]
pub struct PluginOutcome {
    pub plugin: String,
    pub version: String,
    pub result: Result<Vec<Score>, PluginError>,
    pub elapsed: Duration,
}

/// The JSON form: `{"plugin", "version", "scores"}` or `{"plugin", "version", "error": {"kind", "message"}}`.
impl Serialize for PluginOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("plugin", &self.plugin)?;
        map.serialize_entry("version", &self.version)?;
        match &self.result {
            Ok(scores) => map.serialize_entry("scores", scores)?,
            Err(e) => map.serialize_entry(
                "error",
                &serde_json::json!({"kind": e.kind(), "message": e.to_string()}),
            )?,
        }
        map.serialize_entry("elapsed_ms", &(self.elapsed.as_secs_f64() * 1000.0))?;
        map.end()
    }
}

/// Rate `ctx.reply` with every plugin at once. The reply's embedding is
/// computed once up front (when the host has a model), so plugins comparing
/// it with exemplars share it.
pub fn score_turn_all(plugins: &[&Plugin], ctx: &TurnContext) -> Vec<PluginOutcome> {
    embed_reply(plugins, ctx);
    in_parallel(plugins, |p| p.score_turn(ctx))
}

/// [`score_turn_all`] on the calling thread only, plugin after plugin: for
/// batches, whose threads each score their own call.
pub fn score_turn_each(plugins: &[&Plugin], ctx: &TurnContext) -> Vec<PluginOutcome> {
    embed_reply(plugins, ctx);
    plugins
        .iter()
        .map(|p| timed(p, |p| p.score_turn(ctx)))
        .collect()
}

/// The reply's embedding, computed once and cached for every plugin.
fn embed_reply(plugins: &[&Plugin], ctx: &TurnContext) {
    if let Some(first) = plugins.first() {
        let services = first.services_handle();
        if services.has_embeddings() {
            let _ = services.embed(std::slice::from_ref(&ctx.reply));
        }
    }
}

fn timed(p: &Plugin, f: impl FnOnce(&Plugin) -> Result<Vec<Score>, PluginError>) -> PluginOutcome {
    let started = Instant::now();
    let result = f(p);
    PluginOutcome {
        plugin: p.id.clone(),
        version: p.version.clone(),
        result,
        elapsed: started.elapsed(),
    }
}

/// Rate a whole conversation with every plugin at once.
pub fn score_session_all(plugins: &[&Plugin], transcript: &Transcript) -> Vec<PluginOutcome> {
    in_parallel(plugins, |p| p.score_session(transcript))
}

fn in_parallel(
    plugins: &[&Plugin],
    f: impl Fn(&Plugin) -> Result<Vec<Score>, PluginError> + Sync,
) -> Vec<PluginOutcome> {
    let run = |p: &Plugin| timed(p, &f);
    if plugins.len() <= 1 {
        return plugins.iter().map(|p| run(p)).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = plugins[1..]
            .iter()
            .map(|p| scope.spawn(|| run(p)))
            .collect();
        let mut out = vec![run(plugins[0])];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("plugin calls do not panic the host")),
        );
        out
    })
}
