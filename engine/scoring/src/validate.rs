//! Scores from a plugin are untrusted: check every field before anyone sees them.

use crate::error::PluginError;
use crate::sandbox::Limits;
use sparring_core::scoring::{PluginInfo, Score};

/// Where evidence spans point: the reply, or (for session scores) one turn.
pub(crate) enum Quoted<'a> {
    Reply(&'a str),
    Turns(&'a [&'a str]),
}

const MAX_TIP_BYTES: usize = 1024;

pub(crate) fn scores(
    plugin: &str,
    info: &PluginInfo,
    scores: &[Score],
    quoted: Quoted<'_>,
    limits: &Limits,
) -> Result<(), PluginError> {
    let invalid = |field: String, problem: String| PluginError::InvalidOutput {
        plugin: plugin.to_string(),
        field,
        problem,
    };
    if scores.len() > limits.max_scores {
        return Err(invalid(
            "scores".into(),
            format!(
                "{} scores, at most {} allowed",
                scores.len(),
                limits.max_scores
            ),
        ));
    }
    let bytes: usize = scores
        .iter()
        .map(|s| {
            s.dimension.len()
                + s.skill_code.len()
                + s.level.len()
                + s.tip.len()
                + s.evidence.iter().map(|e| e.quote.len()).sum::<usize>()
        })
        .sum();
    if bytes > limits.output_bytes {
        return Err(invalid(
            "scores".into(),
            format!(
                "{bytes} bytes of text, at most {} allowed",
                limits.output_bytes
            ),
        ));
    }
    for (i, s) in scores.iter().enumerate() {
        let field = |name: &str| format!("scores[{i}].{name}");
        let Some(dimension) = info.dimensions.iter().find(|d| d.id == s.dimension) else {
            return Err(invalid(
                field("dimension"),
                format!("`{}` is not a dimension the plugin declared", s.dimension),
            ));
        };
        if !dimension.skill_codes.contains(&s.skill_code) {
            return Err(invalid(
                field("skill_code"),
                format!(
                    "`{}` is not declared for dimension `{}`",
                    s.skill_code, s.dimension
                ),
            ));
        }
        if !s.value.is_finite() || !(0.0..=100.0).contains(&s.value) {
            return Err(invalid(
                field("value"),
                format!("{} is not within 0-100", s.value),
            ));
        }
        if s.level_number().is_none() {
            return Err(invalid(
                field("level"),
                format!("`{}` is not one of \"0\", \"1\", \"2\"", s.level),
            ));
        }
        if s.tip.len() > MAX_TIP_BYTES {
            return Err(invalid(
                field("tip"),
                format!("{} bytes, at most {MAX_TIP_BYTES}", s.tip.len()),
            ));
        }
        if s.evidence.len() > limits.max_spans {
            return Err(invalid(
                field("evidence"),
                format!("{} spans, at most {}", s.evidence.len(), limits.max_spans),
            ));
        }
        for (j, e) in s.evidence.iter().enumerate() {
            let at = format!("scores[{i}].evidence[{j}]");
            let text = match (&quoted, e.turn) {
                (Quoted::Reply(reply), None) => *reply,
                (Quoted::Turns(turns), Some(t)) => match turns.get(t as usize) {
                    Some(text) => *text,
                    None => {
                        return Err(invalid(
                            at,
                            format!("turn {t} is not in the transcript ({} turns)", turns.len()),
                        ))
                    }
                },
                (Quoted::Reply(_), Some(_)) => {
                    return Err(invalid(
                        at,
                        "a turn score's span must not name a turn".into(),
                    ))
                }
                (Quoted::Turns(_), None) => {
                    return Err(invalid(
                        at,
                        "a session score's span must name its turn".into(),
                    ))
                }
            };
            let (start, end) = (e.start as usize, e.end as usize);
            if start > end || end > text.len() {
                return Err(invalid(
                    at,
                    format!(
                        "bytes {start}..{end} are outside the text ({} bytes)",
                        text.len()
                    ),
                ));
            }
            if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                return Err(invalid(
                    at,
                    format!("bytes {start}..{end} split a character"),
                ));
            }
            if text[start..end] != e.quote {
                return Err(invalid(
                    at,
                    format!(
                        "quote {:?} is not the text at {start}..{end} ({:?})",
                        e.quote,
                        &text[start..end]
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `describe` output must make sense before a plugin is accepted.
pub(crate) fn info(plugin: &str, info: &PluginInfo) -> Result<(), PluginError> {
    let invalid = |field: &str, problem: String| PluginError::InvalidOutput {
        plugin: plugin.to_string(),
        field: format!("describe.{field}"),
        problem,
    };
    if info.dimensions.is_empty() {
        return Err(invalid("dimensions", "no dimensions declared".into()));
    }
    for (i, d) in info.dimensions.iter().enumerate() {
        if d.id.is_empty() || d.skill_codes.is_empty() {
            return Err(invalid(
                &format!("dimensions[{i}]"),
                "every dimension needs an id and at least one skill code".into(),
            ));
        }
    }
    if !info.config_schema.trim().is_empty()
        && serde_json::from_str::<serde_json::Value>(&info.config_schema).is_err()
    {
        return Err(invalid("config_schema", "not valid JSON".into()));
    }
    Ok(())
}
