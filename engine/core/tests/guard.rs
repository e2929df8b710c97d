//! The output guard on customer lines, both languages.

use sparring_core::guard::{check, Rejection};
use sparring_core::persona::Persona;
use sparring_core::scoring::Language;
use std::path::Path;

fn persona(id: &str) -> Persona {
    Persona::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../personas/{id}.toml")))
        .unwrap()
}

#[test]
fn accepts_a_line_in_character() {
    let zh = persona("broadband-outage-zh");
    assert_eq!(
        check(
            &zh,
            "你们到底什么时候能派人来？我已经等了三天了！",
            &[],
            &[]
        ),
        Ok(())
    );
    let en = persona("hesitant-buyer-en");
    assert_eq!(
        check(
            &en,
            "Hmm, and how much more would that be each month?",
            &[],
            &[]
        ),
        Ok(())
    );
}

#[test]
fn rejects_each_kind_of_slip() {
    let zh = persona("broadband-outage-zh");
    let en = persona("hesitant-buyer-en");
    assert!(matches!(check(&zh, "   ", &[], &[]), Err(Rejection::Empty)));
    assert!(matches!(
        check(&zh, "您好，请问有什么可以帮您？", &[], &[]),
        Err(Rejection::AgentVoice { .. })
    ));
    assert!(matches!(
        check(
            &en,
            "Thank you for calling, how can I help you today?",
            &[],
            &[]
        ),
        Err(Rejection::AgentVoice { .. })
    ));
    assert_eq!(
        check(&zh, "My internet has been down for three days!", &[], &[]),
        Err(Rejection::WrongLanguage {
            expected: Language::Zh
        })
    );
    assert!(matches!(
        check(&en, "As an AI language model I cannot be upset.", &[], &[]),
        Err(Rejection::LeaksInstructions { .. })
    ));
    assert!(matches!(
        check(&zh, "根据我的角色设定，我现在很生气。", &[], &[]),
        Err(Rejection::LeaksInstructions { .. })
    ));
    let long = "我真的很生气".repeat(30);
    assert!(matches!(
        check(&zh, &long, &[], &[]),
        Err(Rejection::TooLong { limit: 120, .. })
    ));
    // The hidden fact, told before it was earned; fine once earned.
    let leak = "我在家办公，断网这三天每天都得跑到咖啡馆去！";
    assert_eq!(
        check(&zh, leak, &[], &[]),
        Err(Rejection::LeaksFact {
            fact: "works-from-home".into()
        })
    );
    assert_eq!(check(&zh, leak, &["works-from-home".into()], &[]), Ok(()));
    let earlier = vec!["你们每次都说尽快，尽快是多快？我已经等了三天了！".to_string()];
    assert!(matches!(
        check(
            &zh,
            "你们每次都说尽快，尽快是多快？我都等了三天了！",
            &[],
            &earlier
        ),
        Err(Rejection::Repeats { .. })
    ));
}

#[test]
fn ordinary_complaints_are_not_leaks() {
    let zh = persona("broadband-outage-zh");
    let en = persona("hesitant-buyer-en");
    assert_eq!(
        check(
            &en,
            "I followed the instructions and I'm in no mood for this.",
            &[],
            &[]
        ),
        Ok(())
    );
    assert_eq!(
        check(&zh, "你们这账单里是不是有隐藏费用？", &[], &[]),
        Ok(())
    );
}
