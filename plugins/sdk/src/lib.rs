//! Write a sparring scorer plugin in Rust.
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2`. Implement [`Scorer`]
//! for a type holding your parsed configuration and register it with
//! [`export_scorer!`]; the macro wires it to the `sparring:scorer` WIT world.
//!
//! ```ignore
//! use sparring_scorer_sdk::*;
//!
//! struct Politeness { phrases: PhraseSet }
//!
//! impl Scorer for Politeness {
//!     fn describe() -> PluginInfo { /* name, version, dimensions */ }
//!     fn configure(config: &str) -> Result<Self, String> { /* parse */ }
//!     fn score_turn(&self, ctx: &TurnContext) -> Result<Vec<Score>, String> { /* rate */ }
//! }
//! export_scorer!(Politeness);
//! ```
//!
//! Helpers cover the common work: phrase matching over Chinese and English
//! ([`PhraseSet`]), evidence spans ([`span`]), configuration with defaults
//! ([`config`]), similarity to exemplars ([`ExemplarSet`]) and coaching text in
//! the conversation's language ([`pick`]).

pub mod config;
pub mod evidence;
pub mod exemplars;
pub mod host;
pub mod phrases;
pub mod quantities;
pub mod rubric;
#[doc(hidden)]
pub mod runtime;
pub mod session;

/// The generated WIT bindings (`sparring:scorer@0.1.0`).
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "scorer",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "sparring_scorer_sdk::bindings",
    });
}

pub use bindings::sparring::scorer::types::{
    DimensionInfo, Language, LogLevel, MoodValue, PluginInfo, ScenarioKind, Score, Span, Speaker,
    SpeechFeatures, Transcript, Turn, TurnContext,
};
pub use evidence::{span, Evidence};
pub use exemplars::ExemplarSet;
pub use phrases::{PhraseMatch, PhraseSet};
pub use rubric::{Assessment, Bilingual, Found, Rubric};
/// For reading configuration in plugins without adding the dependency.
pub use serde_json;

/// A scorer plugin: configuration in, scores out.
///
/// The host calls `configure` once per instance (with the instructor's JSON,
/// or `{}` for the defaults), then `score_turn` for replies or
/// `score_session` for whole transcripts. The host may reuse an instance for
/// many calls or start a fresh one at any time, so a scorer must not rely on
/// state kept between calls.
pub trait Scorer: Sized + 'static {
    /// Name, version, the dimensions scored with their skill codes, and the
    /// JSON Schema of the configuration.
    fn describe() -> PluginInfo;
    /// Parse the instructor's configuration (merged over the defaults).
    fn configure(config: &str) -> Result<Self, String>;
    /// Rate one agent reply.
    fn score_turn(&self, ctx: &TurnContext) -> Result<Vec<Score>, String>;
    /// Rate a whole conversation. The default rates every agent turn in its
    /// context and summarises each dimension ([`session::summarise`]).
    fn score_session(&self, transcript: &Transcript) -> Result<Vec<Score>, String> {
        session::score_each_turn(self, transcript)
    }
}

/// Pick the text for the conversation's language (coaching tips, labels).
pub fn pick<'a>(language: Language, zh: &'a str, en: &'a str) -> &'a str {
    match language {
        Language::Zh => zh,
        Language::En => en,
    }
}

/// Map a 0–100 value to the standard's level labels "0", "1", "2".
pub fn level_for(value: f32, level1_from: f32, level2_from: f32) -> String {
    if value >= level2_from {
        "2".into()
    } else if value >= level1_from {
        "1".into()
    } else {
        "0".into()
    }
}

/// Register a [`Scorer`] as this component's exports.
#[macro_export]
macro_rules! export_scorer {
    ($scorer:ty) => {
        struct __SparringScorerExports;

        impl $crate::bindings::Guest for __SparringScorerExports {
            fn describe() -> $crate::PluginInfo {
                <$scorer as $crate::Scorer>::describe()
            }
            fn configure(config: String) -> Result<(), String> {
                $crate::runtime::configure::<$scorer>(&config)
            }
            fn score_turn(ctx: $crate::TurnContext) -> Result<Vec<$crate::Score>, String> {
                $crate::runtime::with::<$scorer, _>(|s| $crate::Scorer::score_turn(s, &ctx))
            }
            fn score_session(
                transcript: $crate::Transcript,
            ) -> Result<Vec<$crate::Score>, String> {
                $crate::runtime::with::<$scorer, _>(|s| {
                    $crate::Scorer::score_session(s, &transcript)
                })
            }
        }

        $crate::bindings::export_world!(__SparringScorerExports with_types_in $crate::bindings);
    };
}
