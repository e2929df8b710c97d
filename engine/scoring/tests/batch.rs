//! Batch scoring of JSONL transcripts with the real built-in scorers.

mod common;

use common::*;
use sparring_core::scoring::{Language, ScenarioKind, Speaker};
use sparring_core::transcript::{parse_jsonl, Call};
use sparring_scoring::batch::{
    pending, plugins_fingerprint, score_call, score_calls, summarise, CallResult,
};
use sparring_scoring::Plugin;
use std::collections::HashMap;

const BUILTIN: [&str; 3] = ["empathy", "expectation", "objection"];

/// Turn rows, Chinese aliases, one empathetic and one dismissive reply.
const ZH: &str = r#"{"call_id":"zh-1","agent_id":"a07","scenario":"complaint","speaker":"客户","text":"我家宽带三天都没网了，你们到底管不管？"}
{"call_id":"zh-1","speaker":"客服","text":"非常抱歉，三天没网确实太影响您了，我理解您的着急。我马上帮您查线路，今天下午安排师傅上门。"}
{"call_id":"zh-1","speaker":"客户","text":"上次也是这么说的，结果没人来！"}
{"call_id":"zh-1","speaker":"坐席","text":"这不归我管，您自己看说明吧。"}
"#;

/// One call per line, English, the same pair of replies.
const EN: &str = "{\"call_id\":\"en-1\",\"agent_id\":\"a12\",\"scenario\":\"complaint\",\"timestamp\":\"2024-05-01T10:00:00Z\",\"turns\":[\
{\"speaker\":\"customer\",\"text\":\"My internet has been down for two days!\"},\
{\"speaker\":\"Agent\",\"text\":\"I'm so sorry, two days offline must be really frustrating. I'll book an engineer for tomorrow morning myself.\"},\
{\"speaker\":\"Customer\",\"text\":\"You said that last time and nobody came.\"},\
{\"speaker\":\"agent\",\"text\":\"That's not my department. Just read the manual.\"}]}\r\n";

fn load_builtins() -> Vec<Plugin> {
    let host = plain_host();
    BUILTIN
        .iter()
        .map(|id| host.load(&manifest(id)).expect("built-in plugin loads"))
        .collect()
}

fn parse(text: &str) -> Vec<Call> {
    let (calls, errors) = parse_jsonl(text);
    assert!(errors.is_empty(), "{errors:?}");
    calls
}

fn empathy(result: &CallResult, turn: usize) -> f32 {
    let t = result
        .turns
        .iter()
        .find(|t| t.turn == turn)
        .unwrap_or_else(|| panic!("turn {turn} scored: {result:?}"));
    t.scores
        .iter()
        .find(|s| s.dimension == "empathy")
        .unwrap_or_else(|| panic!("empathy scored on turn {turn}: {t:?}"))
        .value
}

#[test]
fn scores_every_agent_turn_of_zh_and_en_calls_with_the_builtins() {
    let plugins = load_builtins();
    let plugins: Vec<&Plugin> = plugins.iter().collect();
    let calls = parse(&format!("{ZH}\n{EN}"));
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].language, Language::Zh, "detected");
    assert_eq!(calls[1].language, Language::En, "detected");
    assert!(calls.iter().all(|c| c.scenario == ScenarioKind::Complaint));

    let results: Vec<CallResult> = calls.iter().map(|c| score_call(&plugins, c)).collect();
    let mut agent_turns = 0;
    for (call, result) in calls.iter().zip(&results) {
        assert_eq!(result.call_id, call.call_id);
        assert_eq!(result.agent_id, call.agent_id);
        assert_eq!(result.timestamp, call.timestamp);
        let agent: Vec<usize> = call
            .turns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.speaker == Speaker::Agent)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            result.turns.iter().map(|t| t.turn).collect::<Vec<_>>(),
            agent,
            "one result per agent turn, indexed into call.turns"
        );
        agent_turns += agent.len();
        for t in &result.turns {
            assert_eq!(t.reply, call.turns[t.turn].text);
            assert!(t.errors.is_empty(), "{:?}", t.errors);
            let dims: Vec<&str> = t.scores.iter().map(|s| s.dimension.as_str()).collect();
            assert_eq!(dims, BUILTIN, "one score per built-in, in plugin order");
            for s in &t.scores {
                assert!((0.0..=100.0).contains(&s.value), "{s:?}");
                for e in &s.evidence {
                    assert_eq!(&t.reply[e.start as usize..e.end as usize], e.quote);
                }
            }
        }
        // Per-call means are the means of the turn values.
        for dim in BUILTIN {
            let values: Vec<f64> = result
                .turns
                .iter()
                .flat_map(|t| &t.scores)
                .filter(|s| s.dimension == dim)
                .map(|s| f64::from(s.value))
                .collect();
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            assert!((result.dimensions[dim] - mean).abs() < 1e-9, "{dim}");
        }
        // Empathetic (turn 1) beats dismissive (turn 3) in the same call.
        assert!(
            empathy(result, 1) > empathy(result, 3),
            "{}: empathetic {} vs dismissive {}",
            call.call_id,
            empathy(result, 1),
            empathy(result, 3)
        );
    }
    assert_eq!(agent_turns, 4);

    let summary = summarise(&results);
    assert_eq!(
        summary
            .iter()
            .map(|s| s.dimension.as_str())
            .collect::<Vec<_>>(),
        BUILTIN,
        "one row per dimension (the built-ins cite one skill code each)"
    );
    for s in &summary {
        assert_eq!(s.n, agent_turns, "{s:?}");
        assert!(s.min <= s.mean && s.mean <= s.max, "{s:?}");
        assert!(!s.skill_code.is_empty());
    }
    let e = &summary[0];
    assert_eq!(e.skill_code, "4.3.2");
    assert!(e.max > e.min, "the dismissive replies score lower: {e:?}");

    // The results are what a report would store.
    let json = serde_json::to_string(&results).unwrap();
    let back: Vec<CallResult> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, results);
}

#[test]
fn a_failing_plugin_is_reported_per_turn_and_the_others_still_score() {
    let host = plain_host();
    let good = host.load(&manifest("empathy")).unwrap();
    let bad = host.load(&hostile("trap")).unwrap();
    let calls = parse(EN);
    let result = score_call(&[&good, &bad], &calls[0]);
    assert_eq!(result.turns.len(), 2);
    for t in &result.turns {
        assert_eq!(t.scores.len(), 1, "{t:?}");
        assert_eq!(t.scores[0].dimension, "empathy");
        assert_eq!(t.errors.len(), 1, "{t:?}");
        assert_eq!(t.errors[0].plugin, "hostile");
        assert_eq!(t.errors[0].kind, "trapped", "{:?}", t.errors[0]);
        assert!(t.errors[0].message.contains("hostile"));
    }
    assert_eq!(
        result.dimensions.keys().collect::<Vec<_>>(),
        ["empathy"],
        "no mean for the plugin that failed"
    );
    let summary = summarise(&[result]);
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].n, 2);
}

#[test]
fn no_plugins_no_scores() {
    let calls = parse(ZH);
    let result = score_call(&[], &calls[0]);
    assert_eq!(result.turns.len(), 2);
    assert!(result.turns.iter().all(|t| t.scores.is_empty()));
    assert!(result.dimensions.is_empty());
    assert!(summarise(&[result]).is_empty());
}

/// Forty copies of the two calls, each under its own key.
fn many_calls() -> Vec<(usize, Call)> {
    let base = parse(&format!("{ZH}\n{EN}"));
    (0..40)
        .map(|i| {
            let mut c = base[i % 2].clone();
            c.call_id = format!("{}-{i}", c.call_id);
            (i, c)
        })
        .collect()
}

#[test]
fn two_threads_score_what_one_thread_scores_and_every_call_once() {
    let plugins = load_builtins();
    let plugins: Vec<&Plugin> = plugins.iter().collect();
    let fp = plugins_fingerprint(&plugins);
    let (todo, skipped) = pending(many_calls(), &HashMap::new(), &fp);
    assert_eq!((todo.len(), skipped), (40, 0));
    let run = |threads| {
        let mut got: HashMap<usize, CallResult> = HashMap::new();
        score_calls(&plugins, todo.clone(), threads, |p, r| {
            assert!(got.insert(p.key, r).is_none(), "call {} twice", p.key);
            Ok::<_, ()>(())
        })
        .unwrap();
        got
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one.len(), 40);
    assert_eq!(one, two, "results do not depend on the thread count");
    assert_eq!(one[&3].call_id, "en-1-3");
}

#[test]
fn calls_scored_with_the_same_plugins_are_skipped_and_others_are_not() {
    let plugins = load_builtins();
    let plugins: Vec<&Plugin> = plugins.iter().collect();
    let fp = plugins_fingerprint(&plugins);
    let (todo, _) = pending(many_calls(), &HashMap::new(), &fp);
    let mut done: HashMap<usize, String> = todo
        .iter()
        .filter(|p| p.key < 30)
        .map(|p| (p.key, p.fingerprint.clone()))
        .collect();
    // Call 5 changed since it was scored.
    done.insert(5, "an older fingerprint".into());
    let (again, skipped) = pending(many_calls(), &done, &fp);
    assert_eq!(skipped, 29);
    let keys: Vec<usize> = again.iter().map(|p| p.key).collect();
    assert_eq!(keys, [5].into_iter().chain(30..40).collect::<Vec<_>>());

    // Other plugins (here one fewer), other fingerprints: nothing is skipped.
    let fewer = plugins_fingerprint(&plugins[..2]);
    assert_ne!(fewer, fp);
    assert_eq!(pending(many_calls(), &done, &fewer).1, 0);
    // The order plugins are given in does not matter.
    let reversed: Vec<&Plugin> = plugins.iter().rev().copied().collect();
    assert_eq!(plugins_fingerprint(&reversed), fp);
    // Nor does a config change go unnoticed: it is part of the fingerprint.
    assert!(fp.contains(plugins[0].config()));
}

#[test]
fn an_error_storing_a_result_stops_the_batch() {
    let plugins = load_builtins();
    let plugins: Vec<&Plugin> = plugins.iter().collect();
    let (todo, _) = pending(
        many_calls(),
        &HashMap::new(),
        &plugins_fingerprint(&plugins),
    );
    let mut stored = 0;
    let outcome = score_calls(&plugins, todo, 2, |_, _| {
        stored += 1;
        if stored == 3 {
            return Err("disk full");
        }
        Ok(())
    });
    assert_eq!(outcome, Err("disk full"));
    assert_eq!(stored, 3, "nothing is handed over after the error");
}
