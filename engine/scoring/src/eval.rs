//! Agreement of plugin scores with human labels, per dimension.

use crate::labelled::LabelledReply;
use crate::plugin::Plugin;
use serde::Serialize;
use sparring_core::agreement::{confusion, pairwise_accuracy, quadratic_weighted_kappa, spearman};
use sparring_core::scoring::Language;

/// One labelled reply as scored.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub id: String,
    pub dimension: String,
    pub language: Language,
    pub label: u8,
    pub level: u8,
    pub value: f32,
}

/// Agreement on one dimension (optionally one language of it).
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub dimension: String,
    /// "all", "zh" or "en".
    pub language: String,
    pub n: usize,
    /// Spearman of the 0–100 value against the label.
    pub spearman: Option<f64>,
    /// Quadratic weighted kappa of the level against the label.
    pub qwk: Option<f64>,
    pub pairwise: Option<f64>,
    /// Share of exact level matches.
    pub accuracy: f64,
    /// Rows: label 0/1/2; columns: predicted level 0/1/2.
    pub confusion: Vec<Vec<u32>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub agreements: Vec<Agreement>,
    pub predictions: Vec<Prediction>,
    /// Items that could not be scored: (id, why).
    pub failures: Vec<(String, String)>,
}

/// Score every labelled item (that has a `level` and a `dimension`) with the
/// plugin declaring its dimension, and measure agreement.
pub fn evaluate(plugins: &[&Plugin], items: &[LabelledReply]) -> EvalReport {
    let mut predictions = Vec::new();
    let mut failures = Vec::new();
    for item in items {
        let (Some(label), Some(dimension)) = (item.level, item.dimension.as_deref()) else {
            failures.push((item.id.clone(), "needs `level` and `dimension`".into()));
            continue;
        };
        let Some(plugin) = plugins
            .iter()
            .find(|p| p.info.dimensions.iter().any(|d| d.id == dimension))
        else {
            failures.push((item.id.clone(), format!("no plugin scores `{dimension}`")));
            continue;
        };
        match plugin.score_turn(&item.ctx) {
            Ok(scores) => match scores.iter().find(|s| s.dimension == dimension) {
                Some(s) => predictions.push(Prediction {
                    id: item.id.clone(),
                    dimension: dimension.to_string(),
                    language: item.ctx.language,
                    label,
                    level: s.level_number().unwrap_or(0),
                    value: s.value,
                }),
                None => failures.push((
                    item.id.clone(),
                    format!("plugin `{}` returned no `{dimension}` score", plugin.id),
                )),
            },
            Err(e) => failures.push((item.id.clone(), e.to_string())),
        }
    }
    let mut dimensions: Vec<String> = predictions.iter().map(|p| p.dimension.clone()).collect();
    dimensions.sort();
    dimensions.dedup();
    let mut agreements = Vec::new();
    for dimension in &dimensions {
        for language in [None, Some(Language::Zh), Some(Language::En)] {
            let subset: Vec<&Prediction> = predictions
                .iter()
                .filter(|p| &p.dimension == dimension && language.is_none_or(|l| p.language == l))
                .collect();
            if subset.is_empty() {
                continue;
            }
            agreements.push(agree(
                dimension,
                language.map_or("all".to_string(), |l| l.code().to_string()),
                &subset,
            ));
        }
    }
    EvalReport {
        agreements,
        predictions,
        failures,
    }
}

fn agree(dimension: &str, language: String, subset: &[&Prediction]) -> Agreement {
    let labels: Vec<usize> = subset.iter().map(|p| p.label as usize).collect();
    let levels: Vec<usize> = subset.iter().map(|p| p.level as usize).collect();
    let values: Vec<f64> = subset.iter().map(|p| p.value as f64).collect();
    let label_values: Vec<f64> = labels.iter().map(|&l| l as f64).collect();
    Agreement {
        dimension: dimension.to_string(),
        language,
        n: subset.len(),
        spearman: spearman(&values, &label_values),
        qwk: quadratic_weighted_kappa(&labels, &levels, 3),
        pairwise: pairwise_accuracy(&labels, &values),
        accuracy: labels.iter().zip(&levels).filter(|(a, b)| a == b).count() as f64
            / subset.len() as f64,
        confusion: confusion(&labels, &levels, 3),
    }
}
