//! Expectation management (standard 1.2.3, 3.2.5): does the reply set a
//! concrete, realistic time, say what happens next and what the customer must
//! do, and check agreement — without over-promising or vague comfort?

use sparring_scorer_sdk::rubric::{Rubric, CONFIG_SCHEMA};
use sparring_scorer_sdk::*;

const DEFAULTS: &str = include_str!("../defaults.json");

struct Expectation {
    rubric: Rubric,
    units: Vec<String>,
    prefixes: Vec<String>,
}

impl Scorer for Expectation {
    fn describe() -> PluginInfo {
        let rubric = Rubric::from_json(DEFAULTS, "").expect("built-in defaults parse");
        PluginInfo {
            name: "expectation".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            dimensions: vec![rubric.dimension_info()],
            config_schema: CONFIG_SCHEMA.into(),
        }
    }

    fn configure(config: &str) -> Result<Self, String> {
        let rubric = Rubric::from_json(DEFAULTS, config)?;
        Ok(Expectation {
            units: rubric.extra_strings("units")?,
            prefixes: rubric.extra_strings("prefixes")?,
            rubric,
        })
    }

    fn score_turn(&self, ctx: &TurnContext) -> Result<Vec<Score>, String> {
        // A number with a time unit ("48 hours", "3到5个工作日") is a timeline.
        let mut computed: Vec<Found> = quantities::find(&ctx.reply, &self.units, &self.prefixes)
            .into_iter()
            .map(|(start, end)| Found {
                cue: "timeline".into(),
                start,
                end,
            })
            .collect();
        // Ending on a question is checking agreement.
        let trimmed = ctx.reply.trim_end();
        if trimmed.ends_with('?') || trimmed.ends_with('？') {
            let start = trimmed
                .rfind(['.', '。', '!', '！', ',', '，', '—'])
                .map_or(0, |i| {
                    i + trimmed[i..].chars().next().map_or(1, char::len_utf8)
                });
            computed.push(Found {
                cue: "check".into(),
                start,
                end: trimmed.len(),
            });
        }
        let assessment = self.rubric.assess(ctx, &computed);
        Ok(vec![self.rubric.score(ctx, assessment)])
    }
}

export_scorer!(Expectation);
