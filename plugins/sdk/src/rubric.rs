//! A configurable rubric: cues (phrase lists per language) that raise or lower
//! a 0–100 value, blockers that cap it, exemplars that refine it, and tips for
//! what is missing. Most scorers are a rubric plus a few computed cues, and
//! instructors tune them through configuration alone.
//!
//! Configuration (JSON, merged over the plugin's defaults):
//!
//! ```json
//! {
//!   "dimension": "empathy", "skill_code": "4.3.2",
//!   "name_zh": "同理心", "name_en": "Empathy", "skill_codes": ["4.2.2", "4.3.2"],
//!   "base": 10, "level1_from": 35, "level2_from": 70,
//!   "cues": {
//!     "feeling": {"weight": 30, "priority": 1,
//!                 "phrases": {"zh": ["理解您...心情"], "en": ["I understand ... frustrat*"]},
//!                 "tip": {"zh": "先说出客户的感受……", "en": "Name the feeling first…"}},
//!     "taboo":   {"weight": -40, "cap": 15, "phrases": {...}, "tip": {...}}
//!   },
//!   "exemplars": [{"level": 2, "text": "I'm so sorry…"}],
//!   "exemplar_weight": 0.3,
//!   "praise": {"zh": "…", "en": "…"}
//! }
//! ```

use crate::config;
use crate::evidence::Evidence;
use crate::exemplars::ExemplarSet;
use crate::phrases::PhraseSet;
use crate::{level_for, pick, DimensionInfo, Language, Score, TurnContext};
use serde::Deserialize;
use std::collections::BTreeMap;

/// JSON Schema of a rubric's configuration, for `describe`.
pub const CONFIG_SCHEMA: &str = include_str!("rubric.schema.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRubric {
    dimension: String,
    skill_code: String,
    skill_codes: Vec<String>,
    name_zh: String,
    name_en: String,
    base: f32,
    level1_from: f32,
    level2_from: f32,
    cues: BTreeMap<String, RawCue>,
    #[serde(default)]
    exemplars: Vec<RawExemplar>,
    #[serde(default)]
    exemplar_weight: f32,
    #[serde(default = "default_sharpness")]
    exemplar_sharpness: f32,
    #[serde(default)]
    use_embeddings: Option<bool>,
    praise: Bilingual,
    /// Custom settings of the plugin's own code (e.g. timeline units).
    #[serde(default)]
    extra: serde_json::Value,
}

fn default_sharpness() -> f32 {
    20.0
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCue {
    weight: f32,
    #[serde(default)]
    cap: Option<f32>,
    #[serde(default)]
    floor: Option<f32>,
    #[serde(default = "default_priority")]
    priority: u32,
    #[serde(default)]
    phrases: Phrases,
    #[serde(default)]
    tip: Option<Bilingual>,
}

fn default_priority() -> u32 {
    100
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Phrases {
    #[serde(default)]
    zh: Vec<String>,
    #[serde(default)]
    en: Vec<String>,
}

/// Text in both languages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub zh: String,
    pub en: String,
}

impl Bilingual {
    pub fn get(&self, language: Language) -> &str {
        pick(language, &self.zh, &self.en)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExemplar {
    level: u8,
    text: String,
}

/// One cue, compiled.
#[derive(Debug, Clone)]
pub struct Cue {
    pub id: String,
    pub weight: f32,
    pub cap: Option<f32>,
    pub floor: Option<f32>,
    pub priority: u32,
    pub tip: Option<Bilingual>,
}

/// All cues' phrases of one language in one set, so that overlapping phrases
/// of different cues resolve leftmost-longest: "won't ask you to calm down"
/// (listed under a positive cue) wins over "calm down" (a negative one).
#[derive(Debug, Clone, Default)]
struct Combined {
    set: PhraseSet,
    /// Cue index of every phrase in `set`.
    cue_of: Vec<usize>,
}

impl Combined {
    fn new(cues: &[(Vec<String>, usize)]) -> Self {
        let mut phrases = Vec::new();
        let mut cue_of = Vec::new();
        for (list, cue) in cues {
            for p in list {
                phrases.push(p.clone());
                cue_of.push(*cue);
            }
        }
        let set = PhraseSet::new(&phrases);
        Combined { set, cue_of }
    }
}

/// A cue found in the reply: which, and where (byte offsets into the reply).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub cue: String,
    pub start: usize,
    pub end: usize,
}

/// A compiled rubric.
#[derive(Debug, Clone)]
pub struct Rubric {
    pub dimension: String,
    pub skill_code: String,
    pub skill_codes: Vec<String>,
    pub name_zh: String,
    pub name_en: String,
    pub base: f32,
    pub level1_from: f32,
    pub level2_from: f32,
    pub cues: Vec<Cue>,
    zh: Combined,
    en: Combined,
    exemplars: ExemplarSet,
    exemplar_weight: f32,
    exemplar_sharpness: f32,
    praise: Bilingual,
    /// The plugin's own settings, from `"extra"`.
    pub extra: serde_json::Value,
}

/// What a rubric concluded about one reply, before it becomes a [`Score`].
#[derive(Debug, Clone)]
pub struct Assessment {
    pub value: f32,
    /// Cue ids found (each once).
    pub found: Vec<String>,
    /// The exemplar placement (0–2), when embeddings were used.
    pub placement: Option<f32>,
    pub evidence: Evidence,
}

impl Rubric {
    /// Parse `overrides` merged over `defaults`.
    pub fn from_json(defaults: &str, overrides: &str) -> Result<Self, String> {
        let raw: RawRubric = config::parse(defaults, overrides)?;
        if !(0.0..=100.0).contains(&raw.level1_from)
            || !(raw.level1_from..=100.0).contains(&raw.level2_from)
        {
            return Err("configuration: need 0 <= level1_from <= level2_from <= 100".to_string());
        }
        if !(0.0..=1.0).contains(&raw.exemplar_weight) {
            return Err("configuration: exemplar_weight must be within 0-1".into());
        }
        if !raw.skill_codes.contains(&raw.skill_code) {
            return Err(format!(
                "configuration: skill_code `{}` is not in skill_codes",
                raw.skill_code
            ));
        }
        let mut raw_cues: Vec<(String, RawCue)> = raw.cues.into_iter().collect();
        raw_cues.sort_by(|a, b| a.1.priority.cmp(&b.1.priority).then(a.0.cmp(&b.0)));
        let zh = Combined::new(
            &raw_cues
                .iter()
                .enumerate()
                .map(|(i, (_, c))| (c.phrases.zh.clone(), i))
                .collect::<Vec<_>>(),
        );
        let en = Combined::new(
            &raw_cues
                .iter()
                .enumerate()
                .map(|(i, (_, c))| (c.phrases.en.clone(), i))
                .collect::<Vec<_>>(),
        );
        let cues: Vec<Cue> = raw_cues
            .into_iter()
            .map(|(id, c)| Cue {
                id,
                weight: c.weight,
                cap: c.cap,
                floor: c.floor,
                priority: c.priority,
                tip: c.tip,
            })
            .collect();
        if raw.exemplars.iter().any(|e| e.level > 2) {
            return Err("configuration: exemplars[].level must be 0, 1 or 2".into());
        }
        let use_embeddings = raw.use_embeddings.unwrap_or(true);
        Ok(Rubric {
            dimension: raw.dimension,
            skill_code: raw.skill_code,
            skill_codes: raw.skill_codes,
            name_zh: raw.name_zh,
            name_en: raw.name_en,
            base: raw.base,
            level1_from: raw.level1_from,
            level2_from: raw.level2_from,
            cues,
            zh,
            en,
            exemplars: if use_embeddings {
                ExemplarSet::new(
                    raw.exemplars
                        .into_iter()
                        .map(|e| (e.level, e.text))
                        .collect(),
                )
            } else {
                ExemplarSet::default()
            },
            exemplar_weight: raw.exemplar_weight,
            exemplar_sharpness: raw.exemplar_sharpness,
            praise: raw.praise,
            extra: raw.extra,
        })
    }

    /// A list of strings from the plugin's own settings (`"extra": {key: [...]}`).
    pub fn extra_strings(&self, key: &str) -> Result<Vec<String>, String> {
        serde_json::from_value(self.extra[key].clone())
            .map_err(|e| format!("configuration: extra.{key}: {e}"))
    }

    /// The dimension as `describe` declares it.
    pub fn dimension_info(&self) -> DimensionInfo {
        DimensionInfo {
            id: self.dimension.clone(),
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            skill_codes: self.skill_codes.clone(),
        }
    }

    pub fn cue(&self, id: &str) -> Option<&Cue> {
        self.cues.iter().find(|c| c.id == id)
    }

    fn combined(&self, language: Language) -> &Combined {
        match language {
            Language::Zh => &self.zh,
            Language::En => &self.en,
        }
    }

    /// Cues whose phrases occur in `text`, with where (leftmost-longest over
    /// all cues' phrases).
    pub fn find(&self, language: Language, text: &str) -> Vec<Found> {
        let combined = self.combined(language);
        combined
            .set
            .find_all(text)
            .into_iter()
            .map(|m| Found {
                cue: self.cues[combined.cue_of[m.phrase]].id.clone(),
                start: m.start,
                end: m.end,
            })
            .collect()
    }

    /// Whether cue `id` is found in `text`.
    pub fn has(&self, id: &str, language: Language, text: &str) -> bool {
        self.find(language, text).iter().any(|f| f.cue == id)
    }

    /// Assess `reply` given the phrase cues found in it plus `computed` cues
    /// the plugin's own code found (e.g. a concrete timeline).
    pub fn assess(&self, ctx: &TurnContext, computed: &[Found]) -> Assessment {
        let reply = &ctx.reply;
        let mut found_all = self.find(ctx.language, reply);
        found_all.extend_from_slice(computed);
        let mut evidence = Evidence::new();
        let mut found: Vec<String> = Vec::new();
        for f in &found_all {
            if self.cue(&f.cue).is_some() {
                evidence.add(reply, f.start, f.end);
                if !found.contains(&f.cue) {
                    found.push(f.cue.clone());
                }
            }
        }
        let cues: Vec<&Cue> = found.iter().filter_map(|id| self.cue(id)).collect();
        let mut value = self.base + cues.iter().map(|c| c.weight).sum::<f32>();
        let mut placement = None;
        if self.exemplar_weight > 0.0 {
            if let Some(p) = self.exemplars.place(reply, self.exemplar_sharpness) {
                placement = Some(p.level);
                let from_exemplars = p.level * 50.0;
                value =
                    (1.0 - self.exemplar_weight) * value + self.exemplar_weight * from_exemplars;
            }
        }
        for c in &cues {
            if let Some(floor) = c.floor {
                value = value.max(floor);
            }
        }
        for c in &cues {
            if let Some(cap) = c.cap {
                value = value.min(cap);
            }
        }
        Assessment {
            value: value.clamp(0.0, 100.0),
            found,
            placement,
            evidence,
        }
    }

    /// The coaching tip: the worst problem found (a capped or negative cue),
    /// else the highest-priority positive cue missing, else praise.
    pub fn tip(&self, language: Language, found: &[String]) -> String {
        let negative = self
            .cues
            .iter()
            .filter(|c| found.contains(&c.id) && (c.weight < 0.0 || c.cap.is_some()))
            .min_by(|a, b| {
                a.cap
                    .unwrap_or(100.0)
                    .total_cmp(&b.cap.unwrap_or(100.0))
                    .then(a.weight.total_cmp(&b.weight))
            });
        let missing = || {
            self.cues.iter().find(|c| {
                c.weight > 0.0 && c.cap.is_none() && !found.contains(&c.id) && c.tip.is_some()
            })
        };
        negative
            .or_else(missing)
            .and_then(|c| c.tip.as_ref())
            .map_or_else(|| self.praise.get(language), |t| t.get(language))
            .to_string()
    }

    /// A finished score from an assessment.
    pub fn score(&self, ctx: &TurnContext, assessment: Assessment) -> Score {
        Score {
            dimension: self.dimension.clone(),
            skill_code: self.skill_code.clone(),
            value: (assessment.value * 10.0).round() / 10.0,
            level: level_for(assessment.value, self.level1_from, self.level2_from),
            evidence: assessment.evidence.into_spans(16),
            tip: self.tip(ctx.language, &assessment.found),
        }
    }
}
