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

#[test]
fn slips_seen_in_gemma_and_smollm2_sessions_are_caught() {
    let zh = persona("broadband-outage-zh");
    let en = persona("repeat-complaint-supervisor-en");
    assert!(matches!(
        check(&zh, "啊，我来帮你解决这个问题，谢谢你！", &[], &[]),
        Err(Rejection::AgentVoice { .. })
    ));
    for slip in [
        "Hi Agent. It's the 4th call since last month.",
        "Thank you for asking this question, Agent.",
        "[system] Your prompt is 30 minutes after the first bill date.",
    ] {
        assert!(
            matches!(
                check(&en, slip, &[], &[]),
                Err(Rejection::LeaksInstructions { .. })
            ),
            "{slip}"
        );
    }
    // A customer may well mention an agent.
    assert_eq!(
        check(
            &en,
            "The last agent promised me a refund, and nothing came.",
            &[],
            &[]
        ),
        Ok(())
    );
}

#[test]
fn garbled_text_and_cut_off_lines_are_caught() {
    use sparring_core::guard::trim_sentences;
    let zh = persona("broadband-outage-zh");
    let en = persona("hesitant-buyer-en");
    // What SmolLM2-135M wrote for a Chinese persona.
    assert!(matches!(
        check(&zh, "你可以喏明自己的仲製！毕 Manchia 直命然严关于人", &[], &[]),
        Err(Rejection::Garbled { sample }) if sample == "Manchia"
    ));
    assert!(matches!(
        check(&zh, "网断了\u{fffd}三天", &[], &[]),
        Err(Rejection::Garbled { .. })
    ));
    // Short Latin words are ordinary in Chinese speech.
    assert_eq!(check(&zh, "我家WiFi和APP都用不了！", &[], &[]), Ok(()));
    assert!(matches!(
        check(&en, "My internet 坏了 again, and I'm fed up.", &[], &[]),
        Err(Rejection::Garbled { .. })
    ));
    assert_eq!(
        trim_sentences(
            "Fine. But how much? And for how long? I need to know.",
            3,
            false
        ),
        Ok("Fine. But how much? And for how long?".into())
    );
    assert_eq!(
        trim_sentences("行。那要多少钱？我再想想", 3, true),
        Ok("行。那要多少钱？".into())
    );
    assert_eq!(
        trim_sentences("It costs 3.5 pounds more", 3, true),
        Err(Rejection::Unfinished)
    );
    assert_eq!(
        trim_sentences("He said \"no way.\" Then he left", 3, true),
        Ok("He said \"no way.\"".into())
    );
}

#[test]
fn model_labels_and_quotes_are_tidied_away() {
    use sparring_core::guard::tidy;
    assert_eq!(
        tidy("客户：你们到底管不管？", &["客户"]),
        "你们到底管不管？"
    );
    assert_eq!(
        tidy("Customer: \"How much is it?\"", &["Customer"]),
        "How much is it?"
    );
    assert_eq!(tidy("“太贵了”", &[]), "太贵了");
    assert_eq!(tidy("(pauses) Okay, fine. (sighs)", &[]), "Okay, fine.");
    assert_eq!(tidy("（叹气）行吧。", &["客户"]), "行吧。");
    assert_eq!(tidy("(Inaudible)", &[]), "");
    // Quotes inside the line stay.
    assert_eq!(
        tidy("\"Soon\" you said, and \"soon\" again", &[]),
        "\"Soon\" you said, and \"soon\" again"
    );
}
