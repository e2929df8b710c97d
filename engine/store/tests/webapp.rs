//! The web app's storage on real SQLite files: migrating a version-1
//! database, logins that expire, the persona library and its history,
//! plugin settings, assignments and their status, progress and overview
//! statistics (overrides applied), and batch jobs that outlive the process.

use serde_json::json;
use sparring_session::{CustomerLine, LineSource, TurnRecord};
use sparring_store::{
    BatchCall, BatchError, BatchInput, NewAssignment, NewBatch, NewOverride, NewSession, Role,
    Store, StoreError, User,
};
use std::collections::BTreeMap;
use std::path::Path;

/// A turn as the scorer plugins leave it (the shape of `tests/store.rs`),
/// with one score per `(dimension, value)`.
fn scored_turn(i: usize, scores: &[(&str, f64)]) -> TurnRecord {
    let scores: Vec<_> = scores
        .iter()
        .map(|(d, v)| {
            json!({"dimension": d, "skill_code": "4.3.2", "value": v, "level": "1",
                   "evidence": [], "tip": "Name the feeling."})
        })
        .collect();
    serde_json::from_value(json!({
        "reply": format!("reply {i}: I'm sorry, I'll call you back by 5 pm."),
        "plugins": [{"plugin": "empathy", "version": "0.1.0", "elapsed_ms": 0.2,
                     "scores": scores}],
        "update": {"turn": i + 1, "moods": {"anger": 70.0}, "mood_changes": {"anger": -5.0},
                   "intent": "vent"},
        "customer": {"text": format!("line {i}"), "intent": "vent", "source": "model"}
    }))
    .unwrap()
}

fn session_for(user: i64, persona: &str, mode: &str, assignment: Option<i64>) -> NewSession {
    NewSession {
        user_id: user,
        persona_id: persona.into(),
        persona_toml: format!("id = \"{persona}\""),
        model: "gemma3-270m".into(),
        seed: 42,
        mode: mode.into(),
        opening: CustomerLine {
            text: "喂？".into(),
            intent: "open".into(),
            source: LineSource::Opening,
            candidates: vec![],
        },
        assignment_id: assignment,
    }
}

/// A session with these turns' scores, ended with `total` when given.
fn played(store: &mut Store, user: i64, turns: &[&[(&str, f64)]], total: Option<f64>) -> i64 {
    let sid = store
        .create_session(&session_for(user, "broadband-outage-zh", "practice", None))
        .unwrap();
    for (i, scores) in turns.iter().enumerate() {
        store.append_turn(sid, i, &scored_turn(i, scores)).unwrap();
    }
    if let Some(total) = total {
        store
            .end_session(sid, Some("satisfied"), &json!({"total": total}))
            .unwrap();
    }
    sid
}

fn fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparring.db");
    (dir, path)
}

fn user(store: &Store, name: &str, role: Role) -> User {
    store.add_user(name, "$argon2id$x", role).unwrap()
}

fn count(path: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// The schema as version 1 wrote it, frozen here (step 1 is never edited,
/// and this copy keeps the test honest if it were).
const SCHEMA_V1: &str = "
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('trainee', 'instructor', 'evaluator', 'admin')),
        created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE TABLE sessions (
        id           INTEGER PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id),
        persona_id   TEXT NOT NULL,
        persona_toml TEXT NOT NULL,
        model        TEXT NOT NULL,
        seed         INTEGER NOT NULL,
        mode         TEXT NOT NULL CHECK (mode IN ('practice', 'exam')),
        opening      TEXT NOT NULL,
        status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ended')),
        outcome      TEXT,
        scorecard    TEXT,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        ended_at     TEXT
    );
    CREATE INDEX sessions_by_user ON sessions(user_id, id);
    CREATE TABLE turns (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        idx        INTEGER NOT NULL,
        reply      TEXT NOT NULL,
        record     TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        PRIMARY KEY (session_id, idx)
    );
    CREATE TABLE scores (
        session_id INTEGER NOT NULL,
        idx        INTEGER NOT NULL,
        plugin     TEXT NOT NULL,
        dimension  TEXT NOT NULL,
        skill_code TEXT NOT NULL,
        value      REAL NOT NULL,
        level      TEXT NOT NULL,
        FOREIGN KEY (session_id, idx) REFERENCES turns(session_id, idx)
    );
    CREATE INDEX scores_by_dimension ON scores(dimension, session_id);
    CREATE TABLE overrides (
        id             INTEGER PRIMARY KEY,
        session_id     INTEGER NOT NULL,
        idx            INTEGER NOT NULL,
        dimension      TEXT NOT NULL,
        original_value REAL NOT NULL,
        original_level TEXT NOT NULL,
        value          REAL NOT NULL,
        level          TEXT NOT NULL,
        reason         TEXT NOT NULL,
        by_user        INTEGER NOT NULL REFERENCES users(id),
        at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        FOREIGN KEY (session_id, idx) REFERENCES turns(session_id, idx)
    );
    PRAGMA user_version = 1;
";

#[test]
fn a_version_1_database_migrates_keeping_its_rows() {
    let (_dir, path) = fixture();
    let turn = scored_turn(0, &[("empathy", 40.0)]);
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(SCHEMA_V1).unwrap();
        db.execute_batch(
            "INSERT INTO users (id, name, password_hash, role) VALUES
                 (1, 'alice', 'h', 'trainee'), (2, 'coach', 'h', 'instructor');
             INSERT INTO sessions (id, user_id, persona_id, persona_toml, model, seed, mode,
                                   opening, status, scorecard, ended_at)
             VALUES (7, 1, 'broadband-outage-zh', 'id = 1', 'gemma3-270m', 42, 'exam',
                     '{\"text\":\"喂？\",\"intent\":\"open\",\"source\":\"opening\"}',
                     'ended', '{\"total\": 61.5}', '2024-05-01T10:00:00.000Z');",
        )
        .unwrap();
        db.execute(
            "INSERT INTO turns (session_id, idx, reply, record) VALUES (7, 0, ?1, ?2)",
            [&turn.reply, &serde_json::to_string(&turn).unwrap()],
        )
        .unwrap();
        db.execute_batch(
            "INSERT INTO scores VALUES (7, 0, 'empathy', 'empathy', '4.3.2', 40.0, '1');
             INSERT INTO overrides (session_id, idx, dimension, original_value, original_level,
                                    value, level, reason, by_user)
             VALUES (7, 0, 'empathy', 40.0, '1', 90.0, '2', 'she named the feeling', 2);",
        )
        .unwrap();
    }

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 3);
    let row = store.session(7).unwrap().unwrap();
    assert_eq!(
        (row.user_name.as_str(), row.mode.as_str(), row.turns),
        ("alice", "exam", 1)
    );
    assert_eq!(
        row.assignment_id, None,
        "the new column is NULL on old rows"
    );
    assert_eq!(row.scorecard.unwrap()["total"], 61.5);
    assert_eq!(store.turns(7).unwrap(), vec![turn]);
    assert_eq!(store.overrides(7).unwrap()[0].value, 90.0);
    assert_eq!(store.all_sessions().unwrap().len(), 1);
    // The old rows feed the new statistics.
    let points = store.progress(1).unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(
        (points[0].value, points[0].at.as_str()),
        (90.0, "2024-05-01T10:00:00.000Z")
    );
    // And the new tables work next to them.
    store
        .put_persona("broadband-outage-zh", "id = 1", Some(2))
        .unwrap();
    let a = store
        .add_assignment(&NewAssignment {
            user_id: 1,
            persona_id: "broadband-outage-zh".into(),
            mode: "exam".into(),
            due: None,
            assigned_by: 2,
        })
        .unwrap();
    let sid = store
        .create_session(&session_for(1, "broadband-outage-zh", "exam", Some(a.id)))
        .unwrap();
    assert_eq!(
        store.session(sid).unwrap().unwrap().assignment_id,
        Some(a.id)
    );
    drop(store);
    assert_eq!(Store::open(&path).unwrap().schema_version().unwrap(), 3);
}

#[test]
fn logins_last_until_they_expire_or_log_out() {
    let (_dir, path) = fixture();
    let store = Store::open(&path).unwrap();
    let alice = user(&store, "alice", Role::Trainee);
    store
        .create_login(alice.id, "hash-a", "csrf-a", 3600)
        .unwrap();
    store
        .create_login(alice.id, "hash-old", "csrf-old", -1)
        .unwrap();
    store
        .create_login(alice.id, "hash-short", "csrf-s", 1)
        .unwrap();
    assert!(matches!(
        store.create_login(alice.id, "hash-a", "x", 60),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_login(999, "hash-z", "x", 60),
        Err(StoreError::NotFound(_))
    ));

    let (who, csrf) = store.login("hash-a").unwrap().unwrap();
    assert_eq!((who, csrf.as_str()), (alice.clone(), "csrf-a"));
    assert_eq!(store.login("hash-old").unwrap(), None, "expired");
    assert!(store.login("hash-short").unwrap().is_some());
    assert_eq!(store.login("no-such-hash").unwrap(), None);
    assert_eq!(
        count(
            &path,
            "SELECT COUNT(*) FROM auth_sessions WHERE token_hash = 'hash-old'"
        ),
        0,
        "expired rows are deleted"
    );

    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(store.login("hash-short").unwrap(), None, "expired by now");
    drop(store);

    // Logins survive a restart; logging out ends one.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.login("hash-a").unwrap().unwrap().1, "csrf-a");
    store.delete_login("hash-a").unwrap();
    store.delete_login("hash-a").unwrap();
    assert_eq!(store.login("hash-a").unwrap(), None);
    // The next login clears the expired ones.
    store
        .create_login(alice.id, "hash-b", "csrf-b", 60)
        .unwrap();
    store
        .create_login(alice.id, "hash-c", "csrf-c", 60)
        .unwrap();
    assert_eq!(count(&path, "SELECT COUNT(*) FROM auth_sessions"), 2);
    // A new password ends every login of that user.
    store.set_password(alice.id, "new-hash").unwrap();
    store.delete_logins_of(alice.id).unwrap();
    assert_eq!(store.login("hash-b").unwrap(), None);
    assert_eq!(
        store.user(alice.id).unwrap().unwrap().password_hash,
        "new-hash"
    );
    assert!(matches!(
        store.set_password(999, "x"),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn personas_are_seeded_once_and_edits_keep_their_history() {
    let (_dir, path) = fixture();
    let mut store = Store::open(&path).unwrap();
    let coach = user(&store, "coach", Role::Instructor);
    assert!(store.insert_persona_if_absent("b-zh", "v = 1").unwrap());
    assert!(store.insert_persona_if_absent("a-en", "v = 1").unwrap());
    assert!(!store.insert_persona_if_absent("b-zh", "v = 0").unwrap());
    assert_eq!(
        store.persona_toml("b-zh").unwrap().as_deref(),
        Some("v = 1")
    );

    let before = store.persona("b-zh").unwrap().unwrap();
    assert_eq!(before.updated_by, None, "seeded from a file");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let put = store.put_persona("b-zh", "v = 2", Some(coach.id)).unwrap();
    assert_eq!(
        (put.toml.as_str(), put.updated_by),
        ("v = 2", Some(coach.id))
    );
    assert!(
        put.updated_at > before.updated_at,
        "{put:?} after {before:?}"
    );
    store.put_persona("c-zh", "v = 1", Some(coach.id)).unwrap();
    drop(store);

    // A restart seeds again from the files: the edit wins.
    let mut store = Store::open(&path).unwrap();
    assert!(!store.insert_persona_if_absent("b-zh", "v = 1").unwrap());
    assert_eq!(
        store.persona_toml("b-zh").unwrap().as_deref(),
        Some("v = 2")
    );
    assert_eq!(store.persona_toml("nope").unwrap(), None);
    let ids: Vec<_> = store
        .personas()
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["a-en", "b-zh", "c-zh"]);
    let history: Vec<_> = store
        .persona_versions("b-zh")
        .unwrap()
        .into_iter()
        .map(|v| (v.toml, v.updated_by))
        .collect();
    assert_eq!(
        history,
        [
            ("v = 1".to_string(), None),
            ("v = 2".to_string(), Some(coach.id))
        ]
    );
    assert!(store.persona_versions("nope").unwrap().is_empty());
}

#[test]
fn plugin_settings_round_trip_and_survive_reopening() {
    let (_dir, path) = fixture();
    let store = Store::open(&path).unwrap();
    let coach = user(&store, "coach", Role::Instructor);
    assert!(store.plugin_settings().unwrap().is_empty());
    let config = json!({"threshold": 0.5, "phrases": ["抱歉", "sorry"]});
    store
        .set_plugin_setting("empathy", true, &config, coach.id)
        .unwrap();
    store
        .set_plugin_setting("objection", true, &json!({}), coach.id)
        .unwrap();
    let off = store
        .set_plugin_setting("objection", false, &json!({"strict": true}), coach.id)
        .unwrap();
    assert!(!off.enabled);
    assert!(matches!(
        store.set_plugin_setting("empathy", true, &json!([1]), coach.id),
        Err(StoreError::Conflict(_))
    ));
    drop(store);

    let store = Store::open(&path).unwrap();
    let got: Vec<_> = store
        .plugin_settings()
        .unwrap()
        .into_iter()
        .map(|s| (s.plugin_id, s.enabled, s.config, s.updated_by))
        .collect();
    assert_eq!(
        got,
        [
            ("empathy".to_string(), true, config, Some(coach.id)),
            (
                "objection".to_string(),
                false,
                json!({"strict": true}),
                Some(coach.id)
            ),
        ]
    );
    assert_eq!(store.plugin_setting("none").unwrap(), None);
}

fn assign(user_id: i64, mode: &str, due: Option<&str>, by: i64) -> NewAssignment {
    NewAssignment {
        user_id,
        persona_id: "broadband-outage-zh".into(),
        mode: mode.into(),
        due: due.map(String::from),
        assigned_by: by,
    }
}

#[test]
fn assignments_are_refused_unless_valid() {
    let (_dir, path) = fixture();
    let mut store = Store::open(&path).unwrap();
    let alice = user(&store, "alice", Role::Trainee);
    let coach = user(&store, "coach", Role::Instructor);
    store
        .put_persona("broadband-outage-zh", "id = 1", Some(coach.id))
        .unwrap();
    for (a, why) in [
        (assign(alice.id, "drill", None, coach.id), "mode"),
        (
            assign(alice.id, "exam", Some("2025-13-01"), coach.id),
            "month",
        ),
        (
            assign(alice.id, "exam", Some("2025-02-30"), coach.id),
            "day",
        ),
        (assign(alice.id, "exam", Some("1 May"), coach.id), "format"),
        (
            assign(alice.id, "exam", Some("2025-5-01"), coach.id),
            "format",
        ),
        (assign(coach.id, "exam", None, coach.id), "not a trainee"),
        (assign(999, "exam", None, coach.id), "no user"),
        (
            NewAssignment {
                persona_id: "unknown".into(),
                ..assign(alice.id, "exam", None, coach.id)
            },
            "no persona",
        ),
    ] {
        assert!(
            matches!(store.add_assignment(&a), Err(StoreError::Conflict(_))),
            "{why}: {a:?}"
        );
    }
    assert!(store.assignments(None).unwrap().is_empty());
    let ok = store
        .add_assignment(&assign(alice.id, "exam", Some("2024-02-29"), coach.id))
        .unwrap();
    assert_eq!(ok.due.as_deref(), Some("2024-02-29"));
    assert_eq!((ok.user_name.as_str(), ok.session_id), ("alice", None));

    // A session for it must match it.
    let bob = user(&store, "bob", Role::Trainee);
    for (s, why) in [
        (
            session_for(bob.id, "broadband-outage-zh", "exam", Some(ok.id)),
            "user",
        ),
        (
            session_for(alice.id, "other", "exam", Some(ok.id)),
            "persona",
        ),
        (
            session_for(alice.id, "broadband-outage-zh", "practice", Some(ok.id)),
            "mode",
        ),
    ] {
        assert!(
            matches!(store.create_session(&s), Err(StoreError::Conflict(_))),
            "{why}"
        );
    }
    assert!(matches!(
        store.create_session(&session_for(
            alice.id,
            "broadband-outage-zh",
            "exam",
            Some(999)
        )),
        Err(StoreError::NotFound(_))
    ));
    assert!(store.all_sessions().unwrap().is_empty());
}

#[test]
fn assignment_status_follows_its_sessions_and_the_date() {
    let (_dir, path) = fixture();
    let mut store = Store::open(&path).unwrap();
    let alice = user(&store, "alice", Role::Trainee);
    let bob = user(&store, "bob", Role::Trainee);
    let coach = user(&store, "coach", Role::Instructor);
    store
        .put_persona("broadband-outage-zh", "id = 1", Some(coach.id))
        .unwrap();
    let future = store
        .add_assignment(&assign(alice.id, "exam", Some("2999-12-31"), coach.id))
        .unwrap();
    let past = store
        .add_assignment(&assign(alice.id, "practice", Some("2000-01-01"), coach.id))
        .unwrap();
    let undated = store
        .add_assignment(&assign(bob.id, "exam", None, coach.id))
        .unwrap();
    let status = |store: &Store, id: i64| {
        let a = store.assignment(id).unwrap().unwrap();
        (a.status, a.session_id)
    };
    assert_eq!(status(&store, future.id), ("open".into(), None));
    assert_eq!(status(&store, past.id), ("overdue".into(), None));
    assert_eq!(status(&store, undated.id), ("open".into(), None));

    // Started is not done; a second try is the session shown; ending one is.
    let first = store
        .create_session(&session_for(
            alice.id,
            "broadband-outage-zh",
            "exam",
            Some(future.id),
        ))
        .unwrap();
    let second = store
        .create_session(&session_for(
            alice.id,
            "broadband-outage-zh",
            "exam",
            Some(future.id),
        ))
        .unwrap();
    assert_eq!(status(&store, future.id), ("open".into(), Some(second)));
    store
        .end_session(first, None, &json!({"total": 50}))
        .unwrap();
    assert_eq!(status(&store, future.id), ("done".into(), Some(second)));
    let late = store
        .create_session(&session_for(
            alice.id,
            "broadband-outage-zh",
            "practice",
            Some(past.id),
        ))
        .unwrap();
    assert_eq!(status(&store, past.id), ("overdue".into(), Some(late)));
    store
        .end_session(late, None, &json!({"total": 50}))
        .unwrap();
    assert_eq!(
        status(&store, past.id),
        ("done".into(), Some(late)),
        "late but done"
    );

    let ids = |v: Vec<sparring_store::Assignment>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.assignments(Some(alice.id)).unwrap()),
        [future.id, past.id]
    );
    assert_eq!(ids(store.assignments(Some(bob.id)).unwrap()), [undated.id]);
    assert_eq!(ids(store.assignments(None).unwrap()).len(), 3);

    // Sessions list with their owner and assignment, newest first.
    let rows: Vec<_> = store
        .all_sessions()
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.user_name, s.assignment_id))
        .collect();
    assert_eq!(
        rows,
        [
            (late, "alice".to_string(), Some(past.id)),
            (second, "alice".to_string(), Some(future.id)),
            (first, "alice".to_string(), Some(future.id)),
        ]
    );

    // Deleting one keeps its sessions, unlinked.
    store.delete_assignment(future.id).unwrap();
    assert!(matches!(
        store.delete_assignment(future.id),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.assignment(future.id).unwrap(), None);
    assert_eq!(store.session(first).unwrap().unwrap().assignment_id, None);
    assert_eq!(store.all_sessions().unwrap().len(), 3);
}

#[test]
fn progress_is_a_mean_per_ended_session_with_overrides_applied() {
    let (_dir, path) = fixture();
    let mut store = Store::open(&path).unwrap();
    let alice = user(&store, "alice", Role::Trainee);
    let bob = user(&store, "bob", Role::Trainee);
    let coach = user(&store, "coach", Role::Instructor);
    let s1 = played(
        &mut store,
        alice.id,
        &[
            &[("empathy", 40.0), ("clarity", 80.0)],
            &[("empathy", 60.0)],
        ],
        None,
    );
    for (value, reason) in [(90.0, "first look"), (100.0, "on second thought")] {
        store
            .override_score(&NewOverride {
                session_id: s1,
                turn: 1,
                dimension: "empathy".into(),
                value,
                level: "2".into(),
                reason: reason.into(),
                by_user: coach.id,
            })
            .unwrap();
    }
    store.end_session(s1, None, &json!({"total": 70})).unwrap();
    let _open = played(&mut store, alice.id, &[&[("empathy", 0.0)]], None);
    let s3 = played(&mut store, alice.id, &[&[("empathy", 50.0)]], Some(50.0));
    let _bobs = played(&mut store, bob.id, &[&[("empathy", 5.0)]], Some(5.0));

    let points: Vec<_> = store
        .progress(alice.id)
        .unwrap()
        .into_iter()
        .map(|p| (p.session_id, p.dimension, p.value))
        .collect();
    assert_eq!(
        points,
        [
            (s1, "clarity".to_string(), 80.0),
            // (40 + the latest override, 100) / 2; not the AI's 60, not the first fix.
            (s1, "empathy".to_string(), 70.0),
            (s3, "empathy".to_string(), 50.0),
        ]
    );
    let p = &store.progress(alice.id).unwrap()[0];
    let row = store.session(s1).unwrap().unwrap();
    assert_eq!(Some(&p.at), row.ended_at.as_ref());
    assert_eq!(p.persona_id, "broadband-outage-zh");
    assert!(store.progress(coach.id).unwrap().is_empty());
}

#[test]
fn the_overview_lists_every_trainee_even_without_sessions() {
    let (_dir, path) = fixture();
    let mut store = Store::open(&path).unwrap();
    let alice = user(&store, "alice", Role::Trainee);
    let coach = user(&store, "coach", Role::Instructor);
    let bob = user(&store, "bob", Role::Trainee);
    let s1 = played(
        &mut store,
        alice.id,
        &[
            &[("empathy", 40.0), ("clarity", 80.0)],
            &[("empathy", 60.0)],
        ],
        Some(70.0),
    );
    store
        .override_score(&NewOverride {
            session_id: s1,
            turn: 0,
            dimension: "clarity".into(),
            value: 20.0,
            level: "0".into(),
            reason: "rambling".into(),
            by_user: coach.id,
        })
        .unwrap();
    played(&mut store, alice.id, &[&[("empathy", 80.0)]], Some(90.0));
    played(&mut store, alice.id, &[&[("empathy", 20.0)]], None);
    played(&mut store, coach.id, &[&[("empathy", 0.0)]], Some(0.0));

    let rows = store.overview().unwrap();
    assert_eq!(rows.len(), 2, "trainees only: {rows:?}");
    let a = &rows[0];
    assert_eq!((a.user_id, a.name.as_str()), (alice.id, "alice"));
    assert_eq!((a.sessions, a.ended, a.mean_total), (3, 2, Some(80.0)));
    // Every scored turn (the open session's too): (40 + 60 + 80 + 20) / 4.
    assert_eq!(
        a.dimensions,
        BTreeMap::from([("clarity".to_string(), 20.0), ("empathy".to_string(), 50.0)])
    );
    let b = &rows[1];
    assert_eq!((b.user_id, b.name.as_str()), (bob.id, "bob"));
    assert_eq!((b.sessions, b.ended, b.mean_total), (0, 0, None));
    assert!(b.dimensions.is_empty());
    assert_eq!(
        store
            .users_with_role(Role::Trainee)
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect::<Vec<_>>(),
        ["alice", "bob"]
    );
}

fn batch_call(
    idx: usize,
    file: &str,
    call_id: &str,
    agent_id: Option<&str>,
    result: serde_json::Value,
) -> BatchCall {
    BatchCall {
        idx,
        file: file.into(),
        call_id: call_id.into(),
        agent_id: agent_id.map(String::from),
        fingerprint: format!("fp-{idx}"),
        result,
    }
}

#[test]
fn batches_survive_reopening_and_unfinished_ones_are_reported() {
    let (_dir, path) = fixture();
    let inputs = [
        BatchInput {
            name: "march.jsonl".into(),
            format: "jsonl".into(),
            content: "{\"call_id\":\"c1\"}\nnot JSON\n".into(),
        },
        BatchInput {
            name: "c2.txt".into(),
            format: "text".into(),
            content: "客户：你好\n客服：您好".into(),
        },
    ];
    let errors = [BatchError {
        file: "march.jsonl".into(),
        line: 3,
        message: "not JSON".into(),
    }];
    let (eve, done, cut) = {
        let mut store = Store::open(&path).unwrap();
        let eve = user(&store, "eve", Role::Evaluator);
        let new = |name, calls_total| NewBatch {
            user_id: eve.id,
            name,
            inputs: &inputs,
            calls_total,
            errors: &errors,
        };
        let done = store.create_batch(&new("march", 2)).unwrap();
        let result = json!({"turns": 1, "dimensions": {"empathy": 55.0}});
        store
            .put_batch_call(
                done,
                &batch_call(0, "march.jsonl", "c1", Some("a7"), json!({"first": true})),
            )
            .unwrap();
        // Scored again (the plugins changed): the later result replaces it.
        store
            .put_batch_call(
                done,
                &batch_call(0, "march.jsonl", "c1", Some("a7"), result.clone()),
            )
            .unwrap();
        store
            .put_batch_call(done, &batch_call(1, "c2.txt", "c2", None, json!({})))
            .unwrap();
        assert!(matches!(
            store.finish_batch(done, "running", &json!({})),
            Err(StoreError::Conflict(_))
        ));
        store
            .finish_batch(
                done,
                "done",
                &json!({"dimensions": [{"dimension": "empathy"}]}),
            )
            .unwrap();
        assert!(matches!(
            store.finish_batch(done, "failed", &json!({})),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.put_batch_call(done, &batch_call(2, "c3.txt", "c3", None, json!({}))),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.put_batch_call(999, &batch_call(0, "x", "x", None, json!({}))),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.finish_batch(999, "done", &json!({})),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.create_batch(&NewBatch {
                user_id: 999,
                ..new("x", 0)
            }),
            Err(StoreError::NotFound(_))
        ));

        // A job cut off half way: the process goes away without finishing it.
        let cut = store.create_batch(&new("april", 3)).unwrap();
        store
            .put_batch_call(
                cut,
                &batch_call(0, "march.jsonl", "d1", Some("a1"), json!({"n": 1})),
            )
            .unwrap();
        (eve, done, cut)
    };

    let store = Store::open(&path).unwrap();
    assert_eq!(store.interrupted_batches().unwrap(), [cut]);
    let row = store.batch(done).unwrap().unwrap();
    assert_eq!(
        (
            row.name.as_str(),
            row.status.as_str(),
            row.calls_total,
            row.scored,
            row.errors
        ),
        ("march", "done", 2, 2, 1)
    );
    assert!(row.finished_at.is_some());
    let cut_row = store.batch(cut).unwrap().unwrap();
    assert_eq!((cut_row.status.as_str(), cut_row.scored), ("running", 1));
    assert_eq!(cut_row.finished_at, None);
    let serialized = serde_json::to_value(&cut_row).unwrap();
    assert_eq!(serialized["calls"], 3, "the HTTP API's name: {serialized}");

    let calls: Vec<_> = store
        .batch_calls(done)
        .unwrap()
        .into_iter()
        .map(|c| (c.idx, c.file, c.call_id, c.agent_id, c.result))
        .collect();
    assert_eq!(
        calls,
        [
            (
                0,
                "march.jsonl".into(),
                "c1".into(),
                Some("a7".into()),
                json!({"turns": 1, "dimensions": {"empathy": 55.0}})
            ),
            (1, "c2.txt".into(), "c2".into(), None, json!({})),
        ]
    );
    assert_eq!(store.batch_errors(done).unwrap(), errors);
    assert_eq!(
        store.batch_inputs(cut).unwrap(),
        inputs,
        "kept to resume from"
    );
    assert!(store.batch_inputs(999).unwrap().is_empty());
    let fingerprints = store.batch_fingerprints(done).unwrap();
    assert_eq!(fingerprints.len(), 2);
    assert_eq!(fingerprints[&1], "fp-1");
    assert_eq!(
        store.batch_summary(done).unwrap(),
        Some(json!({"dimensions": [{"dimension": "empathy"}]}))
    );
    assert_eq!(store.batch_summary(cut).unwrap(), None);
    let ids: Vec<_> = store
        .batches(Some(eve.id))
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, [cut, done], "newest first");
    assert!(store.batches(Some(eve.id + 1)).unwrap().is_empty());
    assert_eq!(store.batches(None).unwrap().len(), 2);
    assert_eq!(store.batch(999).unwrap(), None);

    // The server decides: here it gives up on the cut job.
    store
        .finish_batch(cut, "failed", &json!({"error": "interrupted"}))
        .unwrap();
    assert!(store.interrupted_batches().unwrap().is_empty());
}
