//! Session scores from turn scores: how a trainee did over a whole call.

use crate::{Score, Scorer, Speaker, Transcript, TurnContext};

/// Rate every agent turn in its context and summarise each dimension.
pub fn score_each_turn<S: Scorer>(
    scorer: &S,
    transcript: &Transcript,
) -> Result<Vec<Score>, String> {
    let mut per_turn = Vec::new();
    for (i, turn) in transcript.turns.iter().enumerate() {
        if turn.speaker != Speaker::Agent {
            continue;
        }
        let ctx = TurnContext {
            language: transcript.language,
            scenario: transcript.scenario,
            persona_summary: transcript.persona_summary.clone(),
            mood: Vec::new(),
            history: transcript.turns[..i].to_vec(),
            reply: turn.text.clone(),
            speech: None,
        };
        per_turn.push((i as u32, scorer.score_turn(&ctx)?));
    }
    Ok(summarise(&per_turn))
}

/// One score per dimension: the mean value over turns, the level of that
/// mean, evidence and tip from the weakest turn (what to coach first).
pub fn summarise(per_turn: &[(u32, Vec<Score>)]) -> Vec<Score> {
    let mut dimensions: Vec<String> = Vec::new();
    for (_, scores) in per_turn {
        for s in scores {
            if !dimensions.contains(&s.dimension) {
                dimensions.push(s.dimension.clone());
            }
        }
    }
    let mut out = Vec::new();
    for dimension in dimensions {
        let rated: Vec<(u32, &Score)> = per_turn
            .iter()
            .flat_map(|(i, scores)| {
                scores
                    .iter()
                    .filter(|s| s.dimension == dimension)
                    .map(move |s| (*i, s))
            })
            .collect();
        let mean = rated.iter().map(|(_, s)| s.value).sum::<f32>() / rated.len() as f32;
        let (weakest_turn, weakest) = rated
            .iter()
            .min_by(|a, b| a.1.value.total_cmp(&b.1.value))
            .copied()
            .expect("a dimension has at least one score");
        let mean_level = rated
            .iter()
            .map(|(_, s)| s.level.parse::<f32>().unwrap_or(0.0))
            .sum::<f32>()
            / rated.len() as f32;
        let mut evidence = weakest.evidence.clone();
        for span in &mut evidence {
            span.turn = Some(weakest_turn);
        }
        out.push(Score {
            dimension: dimension.clone(),
            skill_code: weakest.skill_code.clone(),
            value: mean,
            level: format!("{}", mean_level.round() as u8),
            evidence,
            tip: weakest.tip.clone(),
        });
    }
    out
}
