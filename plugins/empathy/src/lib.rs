//! Empathy (standard 4.2.x, 4.3.2): does the reply acknowledge the customer's
//! feeling, apologise appropriately and take ownership, without blame,
//! dismissal or service taboo phrases? All phrase lists live in
//! `defaults.json` and can be changed by configuration.

use sparring_scorer_sdk::rubric::{Rubric, CONFIG_SCHEMA};
use sparring_scorer_sdk::*;

const DEFAULTS: &str = include_str!("../defaults.json");

struct Empathy(Rubric);

impl Scorer for Empathy {
    fn describe() -> PluginInfo {
        let rubric = Rubric::from_json(DEFAULTS, "").expect("built-in defaults parse");
        PluginInfo {
            name: "empathy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            dimensions: vec![rubric.dimension_info()],
            config_schema: CONFIG_SCHEMA.into(),
        }
    }

    fn configure(config: &str) -> Result<Self, String> {
        Rubric::from_json(DEFAULTS, config).map(Empathy)
    }

    fn score_turn(&self, ctx: &TurnContext) -> Result<Vec<Score>, String> {
        let assessment = self.0.assess(ctx, &[]);
        Ok(vec![self.0.score(ctx, assessment)])
    }
}

export_scorer!(Empathy);
