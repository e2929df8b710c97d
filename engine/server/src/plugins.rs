//! The scorer plugins new sessions use: the discovered manifests with the
//! instructor's settings (enabled, config) from the store applied.

use serde::Serialize;
use serde_json::Value;
use sparring_core::scoring::PluginInfo;
use sparring_scoring::{Plugin, PluginManifest, ScoringHost};
use std::sync::{Arc, RwLock};

/// One plugin as the API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PluginItem {
    pub id: String,
    pub version: String,
    pub description: String,
    pub enabled: bool,
    pub config: Value,
    pub dimensions: Vec<DimensionItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DimensionItem {
    /// The dimension id scores carry (`empathy`).
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub skill_codes: Vec<String>,
}

struct Entry {
    manifest: PluginManifest,
    info: Option<PluginInfo>,
    error: Option<String>,
}

pub struct PluginRegistry {
    host: ScoringHost,
    entries: RwLock<Vec<Entry>>,
    active: RwLock<Arc<[Plugin]>>,
    /// Manifests that could not be read (shown in /healthz and logs).
    pub load_errors: Vec<String>,
    warm: std::sync::atomic::AtomicBool,
}

/// A setting stored for a plugin: whether it runs and its configuration.
pub struct Setting {
    pub enabled: bool,
    pub config: Value,
}

fn dimensions(info: &Option<PluginInfo>) -> Vec<DimensionItem> {
    info.iter()
        .flat_map(|i| &i.dimensions)
        .map(|d| DimensionItem {
            name: d.id.clone(),
            name_zh: d.name_zh.clone(),
            name_en: d.name_en.clone(),
            skill_codes: d.skill_codes.clone(),
        })
        .collect()
}

impl PluginRegistry {
    /// Loads every manifest once (to learn what it scores) and keeps the
    /// enabled ones for sessions. `settings` override the manifests'.
    pub fn new(
        host: ScoringHost,
        manifests: Vec<PluginManifest>,
        load_errors: Vec<String>,
        settings: impl Fn(&str) -> Option<Setting>,
    ) -> PluginRegistry {
        let entries = manifests
            .into_iter()
            .map(|mut manifest| {
                if let Some(s) = settings(&manifest.id) {
                    manifest.enabled = s.enabled;
                    manifest.config = s.config;
                }
                let (info, error) = match host.load(&manifest) {
                    Ok(p) => (Some(p.info.clone()), None),
                    Err(e) => {
                        tracing::warn!("plugin {} not loaded: {e}", manifest.id);
                        (None, Some(e.to_string()))
                    }
                };
                Entry {
                    manifest,
                    info,
                    error,
                }
            })
            .collect();
        let registry = PluginRegistry {
            host,
            entries: RwLock::new(entries),
            active: RwLock::new(Arc::from(Vec::new())),
            load_errors,
            warm: std::sync::atomic::AtomicBool::new(false),
        };
        registry.rebuild();
        registry
    }

    /// Scores one reply per language with the active plugins, so what they
    /// compute once (exemplar embeddings: seconds) is done before the first
    /// trainee waits for it.
    pub fn warm_up(&self) {
        use sparring_core::scoring::{Language, ScenarioKind, Speaker, Turn, TurnContext};
        let plugins = self.active();
        let refs: Vec<&Plugin> = plugins.iter().collect();
        let started = std::time::Instant::now();
        for (language, customer, reply) in [
            (
                Language::En,
                "My bill is wrong.",
                "I'm sorry about that, let me check it for you.",
            ),
            (
                Language::Zh,
                "我的账单不对。",
                "非常抱歉，我马上帮您查一下。",
            ),
        ] {
            for scenario in [
                ScenarioKind::Inbound,
                ScenarioKind::Complaint,
                ScenarioKind::Telesales,
            ] {
                let ctx = TurnContext {
                    language,
                    scenario,
                    persona_summary: String::new(),
                    mood: Vec::new(),
                    history: vec![Turn {
                        speaker: Speaker::Customer,
                        text: customer.into(),
                    }],
                    reply: reply.into(),
                    speech: None,
                };
                let _ = sparring_scoring::score_turn_all(&refs, &ctx);
            }
        }
        tracing::info!("plugins warmed up in {:?}", started.elapsed());
        self.warm.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether [`warm_up`](Self::warm_up) has finished: the first reply
    /// scores as fast as the others.
    pub fn is_warm(&self) -> bool {
        self.warm.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The plugins a new session gets.
    pub fn active(&self) -> Arc<[Plugin]> {
        self.active.read().expect("plugin lock").clone()
    }

    pub fn list(&self) -> Vec<PluginItem> {
        self.entries
            .read()
            .expect("plugin lock")
            .iter()
            .map(|e| PluginItem {
                id: e.manifest.id.clone(),
                version: e.manifest.version.clone(),
                description: e.manifest.description.clone(),
                enabled: e.manifest.enabled,
                config: e.manifest.config.clone(),
                dimensions: dimensions(&e.info),
                error: e.error.clone(),
            })
            .collect()
    }

    pub fn item(&self, id: &str) -> Option<PluginItem> {
        self.list().into_iter().find(|p| p.id == id)
    }

    /// Applies a setting after checking that the plugin accepts the
    /// configuration; sessions started afterwards use it. Err: why the
    /// plugin refused, or None when there is no such plugin.
    pub fn update(&self, id: &str, setting: Setting) -> Result<PluginItem, Option<String>> {
        let mut manifest = {
            let entries = self.entries.read().expect("plugin lock");
            entries
                .iter()
                .find(|e| e.manifest.id == id)
                .ok_or(None)?
                .manifest
                .clone()
        };
        manifest.enabled = setting.enabled;
        manifest.config = setting.config;
        let loaded = self.host.load(&manifest).map_err(|e| Some(e.to_string()))?;
        {
            let mut entries = self.entries.write().expect("plugin lock");
            let entry = entries
                .iter_mut()
                .find(|e| e.manifest.id == id)
                .expect("checked above");
            entry.manifest = manifest;
            entry.info = Some(loaded.info.clone());
            entry.error = None;
        }
        self.rebuild();
        Ok(self.item(id).expect("exists"))
    }

    fn rebuild(&self) {
        let plugins: Vec<Plugin> = self
            .entries
            .read()
            .expect("plugin lock")
            .iter()
            .filter(|e| e.manifest.enabled && e.error.is_none())
            .filter_map(|e| match self.host.load(&e.manifest) {
                Ok(p) => Some(p),
                Err(err) => {
                    tracing::warn!("plugin {} not loaded: {err}", e.manifest.id);
                    None
                }
            })
            .collect();
        *self.active.write().expect("plugin lock") = Arc::from(plugins);
    }
}
