//! Objection handling (standard 3.2.3): does the reply acknowledge the
//! customer's objection, clarify it, reframe the value with specifics and move
//! toward a next step — without arguing, ignoring it or pressure?

use sparring_scorer_sdk::rubric::{Rubric, CONFIG_SCHEMA};
use sparring_scorer_sdk::*;

const DEFAULTS: &str = include_str!("../defaults.json");

struct Objection {
    rubric: Rubric,
    units: Vec<String>,
    prefixes: Vec<String>,
}

impl Scorer for Objection {
    fn describe() -> PluginInfo {
        let rubric = Rubric::from_json(DEFAULTS, "").expect("built-in defaults parse");
        PluginInfo {
            name: "objection".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            dimensions: vec![rubric.dimension_info()],
            config_schema: CONFIG_SCHEMA.into(),
        }
    }

    fn configure(config: &str) -> Result<Self, String> {
        let rubric = Rubric::from_json(DEFAULTS, config)?;
        Ok(Objection {
            units: rubric.extra_strings("units")?,
            prefixes: rubric.extra_strings("prefixes")?,
            rubric,
        })
    }

    fn score_turn(&self, ctx: &TurnContext) -> Result<Vec<Score>, String> {
        // Prices, amounts and allowances are the specifics of a value reframe.
        let computed: Vec<Found> = quantities::find(&ctx.reply, &self.units, &self.prefixes)
            .into_iter()
            .map(|(start, end)| Found {
                cue: "value".into(),
                start,
                end,
            })
            .collect();
        let assessment = self.rubric.assess(ctx, &computed);
        Ok(vec![self.rubric.score(ctx, assessment)])
    }
}

export_scorer!(Objection);
