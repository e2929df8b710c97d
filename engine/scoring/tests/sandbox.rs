//! The host against real hostile components: every misbehaviour becomes a clear
//! error for that plugin only, and the host keeps serving.

mod common;

use common::*;
use sparring_core::scoring::Language;
use sparring_scoring::{score_turn_all, Limits, PluginError, ScoringError};
use std::time::{Duration, Instant};

fn reply() -> sparring_core::scoring::TurnContext {
    ctx(
        Language::En,
        "My internet has been down for two days!",
        "I'm so sorry, that must be really frustrating. I'll book an engineer for tomorrow morning.",
    )
}

/// Runs the hostile plugin in `mode` next to the empathy scorer: the hostile
/// one fails with the returned error, empathy still scores.
fn misbehave(mode: &str) -> PluginError {
    let host = host();
    let empathy = host.load(&manifest("empathy")).unwrap();
    let hostile = host.load(&hostile(mode)).unwrap();
    let outcomes = score_turn_all(&[&hostile, &empathy], &reply());
    assert_eq!(outcomes[1].plugin, "empathy");
    let scores = outcomes[1].result.as_ref().expect("empathy still scores");
    assert_eq!(scores[0].dimension, "empathy");
    // The host keeps serving: the same plugin instance-pre works again.
    let again = empathy.score_turn(&reply()).unwrap();
    assert_eq!(&again, scores);
    assert_eq!(outcomes[0].plugin, "hostile");
    outcomes[0].result.clone().unwrap_err()
}

#[test]
fn a_well_behaved_plugin_scores() {
    let host = host();
    let hostile = host.load(&hostile("ok")).unwrap();
    let scores = hostile.score_turn(&reply()).unwrap();
    assert_eq!(scores[0].value, 50.0);
    assert_eq!(scores[0].evidence[0].quote, reply().reply);
}

#[test]
fn speech_features_reach_the_plugin() {
    let host = host();
    let plugin = host.load(&hostile("speech")).unwrap();
    let mut spoken = reply();
    assert_eq!(plugin.score_turn(&spoken).unwrap()[0].tip, "typed");
    spoken.speech = Some(sparring_core::scoring::SpeechFeatures {
        duration_ms: 4200,
        rate_per_minute: 180.5,
        longest_pause_ms: 900,
        fillers: 2,
        loudness_dbfs: -23.0,
    });
    assert_eq!(
        plugin.score_turn(&spoken).unwrap()[0].tip,
        "4200 ms, 180.5 per minute, pause 900 ms, 2 fillers, -23 dBFS"
    );
}

#[test]
fn a_panic_is_a_trap_with_the_panic_message() {
    let err = misbehave("trap");
    let PluginError::Trapped {
        message, stderr, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(message.contains("unreachable"), "{message}");
    assert!(
        stderr.contains("hostile plugin panics on purpose"),
        "{stderr}"
    );
    assert!(
        err.to_string().starts_with("plugin `hostile` trapped"),
        "{err}"
    );
}

#[test]
fn an_infinite_loop_is_stopped_at_the_deadline() {
    let started = Instant::now();
    let err = misbehave("loop");
    assert_eq!(
        err,
        PluginError::TimedOut {
            plugin: "hostile".into(),
            limit_ms: 50
        }
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn the_deadline_is_configurable_per_plugin() {
    let host = host();
    let mut m = hostile("loop");
    m.timeout_ms = Some(10);
    let plugin = host.load(&m).unwrap();
    let started = Instant::now();
    let err = plugin.score_turn(&reply()).unwrap_err();
    assert_eq!(err.kind(), "timed_out");
    assert!(err.to_string().contains("10 ms"), "{err}");
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[test]
fn host_calls_in_a_loop_hit_the_wall_clock_backstop() {
    let limits = Limits {
        timeout: Duration::from_secs(60),
        wall_timeout: Duration::from_millis(30),
        ..Limits::default()
    };
    let host = host_with(limits, shared_cache());
    let plugin = host.load(&hostile("host-loop")).unwrap();
    let started = Instant::now();
    let err = plugin.score_turn(&reply()).unwrap_err();
    assert_eq!(
        err,
        PluginError::TimedOut {
            plugin: "hostile".into(),
            limit_ms: 30
        }
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn exhausting_memory_hits_the_cap() {
    let err = misbehave("oom");
    assert_eq!(
        err,
        PluginError::OutOfMemory {
            plugin: "hostile".into(),
            limit_mib: 64
        }
    );
}

#[test]
fn stack_overflow_is_a_trap() {
    // Rust keeps its stack in linear memory: running off its end is an
    // out-of-bounds access (or call-stack exhaustion for wasm's own stack).
    let err = misbehave("stack");
    assert_eq!(err.kind(), "trapped", "{err}");
    let text = err.to_string();
    assert!(
        text.contains("out of bounds memory access") || text.contains("call stack exhausted"),
        "{text}"
    );
}

#[test]
fn a_plugin_error_is_reported_as_such() {
    let err = misbehave("error");
    assert_eq!(
        err,
        PluginError::Failed {
            plugin: "hostile".into(),
            message: "the hostile plugin refuses to score".into()
        }
    );
}

#[test]
fn garbage_output_is_rejected_field_by_field() {
    for (mode, field, needle) in [
        ("bad-value", "scores[0].value", "250 is not within 0-100"),
        ("nan", "scores[0].value", "NaN"),
        ("bad-level", "scores[0].level", "`excellent`"),
        ("bad-dimension", "scores[0].dimension", "`undeclared`"),
        ("bad-span", "scores[0].evidence[0]", "outside the text"),
        ("huge", "scores", "bytes of text"),
        ("many", "scores", "10000 scores"),
    ] {
        let err = misbehave(mode);
        let PluginError::InvalidOutput {
            field: f, problem, ..
        } = &err
        else {
            panic!("{mode}: {err:?}")
        };
        assert_eq!(f, field, "{mode}");
        assert!(problem.contains(needle), "{mode}: {problem}");
    }
}

#[test]
fn the_sandbox_has_no_files_env_clock_or_network() {
    let host = host();
    let probe = host.load(&hostile("probe")).unwrap();
    let tip = probe.score_turn(&reply()).unwrap().remove(0).tip;
    assert_eq!(
        tip,
        "fs=denied file=denied env=0 args=0 time=0 net=denied segment=我/非常/理解/您/的/心情"
    );
}

#[test]
fn a_rejected_configuration_fails_at_load_naming_the_plugin() {
    let host = host();
    let err = host.load(&hostile("reject-config")).err().unwrap();
    assert!(matches!(err, ScoringError::Plugin { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("hostile.wasm"), "{text}");
    assert!(text.contains("refuses every configuration"), "{text}");
}

#[test]
fn a_component_for_another_interface_version_is_refused() {
    let host = host();
    let err = host.load(&manifest("future-version")).err().unwrap();
    let text = err.to_string();
    assert!(matches!(err, ScoringError::Incompatible { .. }), "{err:?}");
    assert!(text.contains("sparring:scorer/host@0.2.0"), "{text}");
    assert!(
        text.contains("this host implements sparring:scorer@0.1.0"),
        "{text}"
    );
}

#[test]
fn bytes_that_are_not_a_component_are_refused_with_the_file() {
    let host = host();
    let dir = tempfile::tempdir().unwrap();
    let mut m = manifest("empathy");
    m.wasm = dir.path().join("junk.wasm");
    std::fs::write(&m.wasm, b"\0asm garbage that is not wasm").unwrap();
    let err = host.load(&m).err().unwrap().to_string();
    assert!(
        err.contains("junk.wasm: not a valid WebAssembly component"),
        "{err}"
    );
    m.wasm = dir.path().join("missing.wasm");
    let err = host.load(&m).err().unwrap().to_string();
    assert!(err.contains("missing.wasm"), "{err}");
}

#[test]
fn memory_cap_is_configurable() {
    let limits = Limits {
        memory_bytes: 8 << 20,
        ..Limits::default()
    };
    let host = host_with(limits, shared_cache());
    let plugin = host.load(&hostile("oom")).unwrap();
    let err = plugin.score_turn(&reply()).unwrap_err();
    assert!(err.to_string().contains("8 MiB"), "{err}");
}
