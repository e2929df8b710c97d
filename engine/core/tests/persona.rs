//! Persona files: the library loads, and every kind of mistake is reported
//! with file, line and field.

use sparring_core::persona::Persona;
use sparring_core::scoring::{Language, ScenarioKind};
use std::path::{Path, PathBuf};

fn personas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../personas")
}

#[test]
fn every_persona_in_the_library_loads() {
    let mut n = 0;
    for entry in std::fs::read_dir(personas_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let p = Persona::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                path.file_stem().unwrap().to_str().unwrap(),
                p.id,
                "file named after its id"
            );
            n += 1;
        }
    }
    assert!(n >= 2);
    let zh = Persona::load(&personas_dir().join("broadband-outage-zh.toml")).unwrap();
    assert_eq!(zh.language, Language::Zh);
    assert_eq!(zh.scenario, ScenarioKind::Complaint);
    assert_eq!(zh.moods.len(), 2);
    assert_eq!(zh.facts[0].id, "works-from-home");
    let anger = zh.end.hang_up.eval(&|v| (v == "anger").then_some(96.0));
    assert!(anger);
}

fn broken(edit: impl Fn(String) -> String) -> String {
    let path = personas_dir().join("hesitant-buyer-en.toml");
    let text = edit(std::fs::read_to_string(&path).unwrap());
    Persona::parse(Path::new("personas/x.toml"), &text)
        .unwrap_err()
        .to_string()
}

fn line_of(text_edit: &str, needle: &str) -> usize {
    text_edit.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn mistakes_name_file_line_and_field() {
    let original = std::fs::read_to_string(personas_dir().join("hesitant-buyer-en.toml")).unwrap();

    let err = broken(|t| t.replace("language = \"en\"", "language = \"fr\""));
    let line = line_of(&original, "language = ");
    assert!(
        err.starts_with(&format!("personas/x.toml:{line}: ")),
        "{err}"
    );
    assert!(err.contains("unknown variant `fr`"), "{err}");

    let err = broken(|t| t.replace("difficulty = 2", "difficulty = 9"));
    let line = line_of(&original, "difficulty = ");
    assert_eq!(
        err,
        format!("personas/x.toml:{line}: difficulty: must be 1 to 5")
    );

    let err = broken(|t| t.replace("when = \"turn > 6\"", "when = \"turn >> 6\""));
    let line = line_of(&original, "when = \"turn > 6\"");
    assert!(
        err.starts_with(&format!(
            "personas/x.toml:{line}: mood.patience.rules[0].when: "
        )),
        "{err}"
    );

    let err = broken(|t| t.replace("resolved.price\"\nhang_up", "resolved.prices\"\nhang_up"));
    let line = line_of(&original, "satisfied = ");
    assert!(
        err.starts_with(&format!(
            "personas/x.toml:{line}: end.satisfied: unknown name `resolved.prices`"
        )),
        "{err}"
    );

    let err = broken(|t| t.replace("intent = \"object\"", "intent = \"sulk\""));
    assert!(
        err.contains("lines[0].intent: `sulk` is not one of open, vent"),
        "{err}"
    );

    let err = broken(|t| t.replace("id = \"contract\"", "id = \"price\""));
    assert!(
        err.contains("objections[1].id: `price` is used twice"),
        "{err}"
    );

    let err = broken(|t| t.replace("start = 40", "start = 140"));
    assert!(
        err.contains("mood.trust.start: must be within 0-100"),
        "{err}"
    );

    let err = broken(|t| t.replace("goal = ", "gaol = "));
    assert!(err.contains("unknown field `gaol`"), "{err}");

    let err = broken(|t| {
        t.replace(
            "asks = [\"evening\", \"slow\", \"speed\", \"use it for\"]\n",
            "",
        )
    });
    assert!(err.contains("facts[0]: say how it is earned"), "{err}");
}

/// `persona.schema.json` and the parser agree on which fields exist, which are
/// required, and the intents.
#[test]
fn the_json_schema_matches_the_parser() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(personas_dir().join("persona.schema.json")).unwrap(),
    )
    .unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let text = std::fs::read_to_string(personas_dir().join("broadband-outage-zh.toml")).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for key in table.keys() {
        assert!(properties.contains_key(key), "schema lacks `{key}`");
    }
    for key in properties.keys() {
        let mut without = table.clone();
        without.remove(key);
        let result = Persona::parse(Path::new("x.toml"), &toml::to_string(&without).unwrap());
        let missing = result
            .as_ref()
            .err()
            .is_some_and(|e| e.message.contains(&format!("missing field `{key}`")));
        assert_eq!(
            missing,
            required.contains(&key.as_str()),
            "`{key}`: required in schema = {}, parser says {result:?}",
            required.contains(&key.as_str())
        );
    }
    let intents: Vec<&str> = properties["lines"]["items"]["properties"]["intent"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(intents, sparring_core::persona::INTENTS);
}

#[test]
fn scorecards_default_by_scenario_and_can_be_overridden() {
    let zh = Persona::load(&personas_dir().join("broadband-outage-zh.toml")).unwrap();
    assert_eq!(zh.scorecard.pass_mark, 65.0);
    assert_eq!(zh.scorecard.tiers[0], ("gold".to_string(), 88.0));
    assert_eq!(zh.scorecard.weights.len(), 2);
    let en = Persona::load(&personas_dir().join("hesitant-buyer-en.toml")).unwrap();
    assert_eq!(en.scorecard.weights[0], ("objection".to_string(), 0.5));

    let text = std::fs::read_to_string(personas_dir().join("broadband-outage-zh.toml"))
        .unwrap()
        .replace("when = \"score.empathy <= 0\"", "when = \"anger > 90\"");
    let err = Persona::parse(Path::new("x.toml"), &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("scorecard.blockers[0].when: unknown name `anger`"),
        "{err}"
    );
}
