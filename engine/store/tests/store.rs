//! The store on real SQLite files: migrations, users, sessions, turns in
//! order, overrides with their audit trail, and a writer killed mid-session.

use serde_json::json;
use sparring_session::{CustomerLine, LineSource, TurnRecord};
use sparring_store::{NewOverride, NewSession, Role, Store, StoreError};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn turn(i: usize) -> TurnRecord {
    serde_json::from_value(json!({
        "reply": format!("reply {i}: I'm sorry, I'll call you back by 5 pm."),
        "plugins": [
            {"plugin": "empathy", "version": "0.1.0", "elapsed_ms": 0.2,
             "scores": [{"dimension": "empathy", "skill_code": "4.3.2", "value": 40.0 + i as f64,
                         "level": "1", "evidence": [], "tip": "Name the feeling."}]},
            {"plugin": "broken", "version": "0.1.0", "elapsed_ms": 50.0,
             "error": {"kind": "timed_out", "message": "ran out of time"}}
        ],
        "update": {"turn": i + 1, "moods": {"anger": 70.0}, "mood_changes": {"anger": -5.0},
                   "intent": "vent"},
        "customer": {"text": format!("line {i}"), "intent": "vent", "source": "model"}
    }))
    .unwrap()
}

fn new_session(store: &Store, user: i64) -> i64 {
    store
        .create_session(&NewSession {
            user_id: user,
            persona_id: "broadband-outage-zh".into(),
            persona_toml: "id = \"broadband-outage-zh\"".into(),
            model: "gemma3-270m".into(),
            seed: 42,
            mode: "practice".into(),
            opening: CustomerLine {
                text: "喂？".into(),
                intent: "open".into(),
                source: LineSource::Opening,
                candidates: vec![],
            },
            assignment_id: None,
        })
        .unwrap()
}

#[test]
fn sessions_turns_and_overrides_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparring.db");
    let (alice, sid) = {
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 3);
        let alice = store
            .add_user("alice", "$argon2id$x", Role::Trainee)
            .unwrap();
        assert!(matches!(
            store.add_user("alice", "h", Role::Admin),
            Err(StoreError::Conflict(m)) if m.contains("alice")
        ));
        let sid = new_session(&store, alice.id);
        for i in 0..3 {
            store.append_turn(sid, i, &turn(i)).unwrap();
        }
        // Out of order, twice, or on a missing session: refused, nothing lost.
        assert!(matches!(
            store.append_turn(sid, 5, &turn(5)),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.append_turn(sid, 1, &turn(1)),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.append_turn(999, 0, &turn(0)),
            Err(StoreError::NotFound(_))
        ));
        (alice, sid)
    };
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 3, "migrations run once");
    let turns = store.turns(sid).unwrap();
    assert_eq!(turns, (0..3).map(turn).collect::<Vec<_>>());
    let row = store.session(sid).unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.turns), ("open", 3));
    assert_eq!(store.sessions_of(alice.id).unwrap().len(), 1);
    assert_eq!(
        store.user_by_name("alice").unwrap().unwrap().role,
        Role::Trainee
    );

    let coach = store.add_user("coach", "h", Role::Instructor).unwrap();
    let fix = |dimension: &str, reason: &str| NewOverride {
        session_id: sid,
        turn: 1,
        dimension: dimension.into(),
        value: 80.0,
        level: "2".into(),
        reason: reason.into(),
        by_user: coach.id,
    };
    assert!(store.override_score(&fix("empathy", " ")).is_err());
    assert!(matches!(
        store.override_score(&fix("objection", "r")),
        Err(StoreError::NotFound(_))
    ));
    let o = store
        .override_score(&fix("empathy", "Named the feeling in a Chinese idiom"))
        .unwrap();
    assert_eq!((o.original_value, o.original_level.as_str()), (41.0, "1"));
    assert_eq!(store.overrides(sid).unwrap(), vec![o]);
    // The AI's score stays in the turn.
    assert_eq!(store.turns(sid).unwrap()[1].scores()[0].value, 41.0);

    store
        .end_session(sid, Some("satisfied"), &json!({"total": 77.0}))
        .unwrap();
    assert!(matches!(
        store.append_turn(sid, 3, &turn(3)),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.end_session(sid, None, &json!({})),
        Err(StoreError::Conflict(_))
    ));
    let row = store.session(sid).unwrap().unwrap();
    assert_eq!(row.outcome.as_deref(), Some("satisfied"));
    assert_eq!(row.scorecard.unwrap()["total"], 77.0);
}

#[test]
fn a_newer_schema_is_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Store::open(&path).err().unwrap().to_string();
    assert!(err.contains("future.db") && err.contains("99"), "{err}");
}

/// Child mode: appends turns to the session named in the environment until
/// it is killed (run by the test below, never on its own).
#[test]
#[ignore = "the child process of a_writer_killed_mid_session_loses_no_stored_turn"]
fn child_writer() {
    let (Ok(db), Ok(sid)) = (
        std::env::var("SPARRING_STORE_CHILD_DB"),
        std::env::var("SPARRING_STORE_CHILD_SESSION"),
    ) else {
        return;
    };
    let mut store = Store::open(Path::new(&db)).unwrap();
    let sid: i64 = sid.parse().unwrap();
    let mut i = store.turns(sid).unwrap().len();
    loop {
        store.append_turn(sid, i, &turn(i)).unwrap();
        i += 1;
    }
}

#[test]
fn a_writer_killed_mid_session_loses_no_stored_turn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparring.db");
    let (sid, user) = {
        let store = Store::open(&path).unwrap();
        let user = store.add_user("bob", "h", Role::Trainee).unwrap();
        (new_session(&store, user.id), user.id)
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--ignored", "--test-threads=1"])
        .env("SPARRING_STORE_CHILD_DB", &path)
        .env("SPARRING_STORE_CHILD_SESSION", sid.to_string())
        .spawn()
        .unwrap();
    let reader = Store::open(&path).unwrap();
    let started = Instant::now();
    while reader.turns(sid).unwrap().len() < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the child wrote too slowly"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no destructors, no clean close
    child.wait().unwrap();
    let seen = reader.turns(sid).unwrap().len();
    drop(reader);

    let mut store = Store::open(&path).unwrap();
    let turns = store.turns(sid).unwrap();
    assert!(
        turns.len() >= seen,
        "{} turns after the kill, {seen} seen before",
        turns.len()
    );
    assert_eq!(turns, (0..turns.len()).map(turn).collect::<Vec<_>>());
    // The session goes on where it stopped, and can be closed.
    let next = turns.len();
    store.append_turn(sid, next, &turn(next)).unwrap();
    store.end_session(sid, None, &json!({"total": 0})).unwrap();
    assert_eq!(store.sessions_of(user).unwrap()[0].turns, next + 1);
}
