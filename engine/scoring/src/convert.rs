//! Between the WIT records and sparring-core's plain types.

use crate::bindings::wit;
use sparring_core::scoring as core;

pub(crate) fn language(l: core::Language) -> wit::Language {
    match l {
        core::Language::Zh => wit::Language::Zh,
        core::Language::En => wit::Language::En,
    }
}

pub(crate) fn scenario(s: core::ScenarioKind) -> wit::ScenarioKind {
    match s {
        core::ScenarioKind::Inbound => wit::ScenarioKind::Inbound,
        core::ScenarioKind::Outbound => wit::ScenarioKind::Outbound,
        core::ScenarioKind::Telesales => wit::ScenarioKind::Telesales,
        core::ScenarioKind::Complaint => wit::ScenarioKind::Complaint,
    }
}

fn turn(t: &core::Turn) -> wit::Turn {
    wit::Turn {
        speaker: match t.speaker {
            core::Speaker::Agent => wit::Speaker::Agent,
            core::Speaker::Customer => wit::Speaker::Customer,
        },
        text: t.text.clone(),
    }
}

pub(crate) fn turn_context(c: &core::TurnContext) -> wit::TurnContext {
    wit::TurnContext {
        language: language(c.language),
        scenario: scenario(c.scenario),
        persona_summary: c.persona_summary.clone(),
        mood: c
            .mood
            .iter()
            .map(|m| wit::MoodValue {
                name: m.name.clone(),
                value: m.value,
            })
            .collect(),
        history: c.history.iter().map(turn).collect(),
        reply: c.reply.clone(),
        speech: c.speech.as_ref().map(|s| wit::SpeechFeatures {
            duration_ms: s.duration_ms,
            rate_per_minute: s.rate_per_minute,
            longest_pause_ms: s.longest_pause_ms,
            fillers: s.fillers,
            loudness_dbfs: s.loudness_dbfs,
        }),
    }
}

pub(crate) fn transcript(t: &core::Transcript) -> wit::Transcript {
    wit::Transcript {
        language: language(t.language),
        scenario: scenario(t.scenario),
        persona_summary: t.persona_summary.clone(),
        turns: t.turns.iter().map(turn).collect(),
    }
}

pub(crate) fn score(s: wit::Score) -> core::Score {
    core::Score {
        dimension: s.dimension,
        skill_code: s.skill_code,
        value: s.value,
        level: s.level,
        evidence: s
            .evidence
            .into_iter()
            .map(|e| core::Span {
                turn: e.turn,
                start: e.start,
                end: e.end,
                quote: e.quote,
            })
            .collect(),
        tip: s.tip,
    }
}

pub(crate) fn plugin_info(i: wit::PluginInfo) -> core::PluginInfo {
    core::PluginInfo {
        name: i.name,
        version: i.version,
        dimensions: i
            .dimensions
            .into_iter()
            .map(|d| core::DimensionInfo {
                id: d.id,
                name_zh: d.name_zh,
                name_en: d.name_en,
                skill_codes: d.skill_codes,
            })
            .collect(),
        config_schema: i.config_schema,
    }
}
