//! The report from hand-made results: structure, content, escaping,
//! highlighting, ordering and determinism.

use sparring_core::scoring::{Score, Span};
use sparring_report::{html, ReportInput};
use sparring_scoring::batch::{CallResult, PluginErrorInfo, TurnResult};
use std::collections::BTreeMap;

/// A span over the first occurrence of `quote` in `reply` (byte offsets).
fn span(reply: &str, quote: &str) -> Span {
    let start = reply.find(quote).expect("quote in reply");
    Span {
        turn: None,
        start: start as u32,
        end: (start + quote.len()) as u32,
        quote: quote.into(),
    }
}

fn score(dim: &str, code: &str, value: f32, evidence: Vec<Span>, tip: &str) -> Score {
    let level = if value < 40.0 {
        "0"
    } else if value < 75.0 {
        "1"
    } else {
        "2"
    };
    Score {
        dimension: dim.into(),
        skill_code: code.into(),
        value,
        level: level.into(),
        evidence,
        tip: tip.into(),
    }
}

fn turn(turn: usize, reply: &str, scores: Vec<Score>) -> TurnResult {
    TurnResult {
        turn,
        reply: reply.into(),
        scores,
        errors: Vec::new(),
    }
}

fn call(id: &str, agent: Option<&str>, ts: Option<&str>, turns: Vec<TurnResult>) -> CallResult {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for s in turns.iter().flat_map(|t| &t.scores) {
        let e = sums.entry(s.dimension.clone()).or_default();
        e.0 += f64::from(s.value);
        e.1 += 1;
    }
    CallResult {
        call_id: id.into(),
        agent_id: agent.map(String::from),
        timestamp: ts.map(String::from),
        turns,
        dimensions: sums
            .into_iter()
            .map(|(d, (s, n))| (d, s / n as f64))
            .collect(),
    }
}

fn results() -> Vec<CallResult> {
    let zh1 = "非常抱歉给您带来不便，我理解您的着急，今天下午五点前给您回电。";
    let zh2 = "这个不归我们管，您自己去营业厅问吧。";
    let zh3 = "您先别急，我查一下。";
    let en1 = "I understand how frustrating this is. A technician will call you by 5 pm today.";
    let en2 = "That's policy <script>alert('x')</script>, nothing I can do.";
    let en3 = "I hear you, and I'm sorry. Let me check what we can offer instead.";
    let mut bad_offsets = span(zh2, "不归我们管");
    bad_offsets.start += 1; // inside a character: found by its quote instead
    let mut with_error = turn(
        3,
        zh3,
        vec![score(
            "empathy",
            "4.3.2",
            55.0,
            vec![span(zh3, "别急")],
            "先共情，再查询。",
        )],
    );
    with_error.errors.push(PluginErrorInfo {
        plugin: "objection".into(),
        kind: "timed_out".into(),
        message: "ran longer than its 50 ms limit".into(),
    });
    vec![
        call(
            "zh-001",
            Some("agent-li"),
            Some("2024-05-01T09:12:00+08:00"),
            vec![
                turn(
                    1,
                    zh1,
                    vec![
                        score(
                            "empathy",
                            "4.3.2",
                            88.0,
                            vec![span(zh1, "非常抱歉"), span(zh1, "我理解您的着急")],
                            "",
                        ),
                        score(
                            "expectation",
                            "4.2.3",
                            80.0,
                            vec![span(zh1, "今天下午五点前")],
                            "",
                        ),
                    ],
                ),
                with_error,
            ],
        ),
        call(
            "zh-002",
            Some("agent-li"),
            Some("2024-05-02T14:00:00+08:00"),
            vec![turn(
                1,
                zh2,
                vec![
                    score(
                        "empathy",
                        "4.3.2",
                        10.0,
                        vec![bad_offsets],
                        "先表达理解，再说明原因。",
                    ),
                    score(
                        "objection",
                        "3.2.1",
                        15.0,
                        vec![span(zh2, "您自己去营业厅问吧")],
                        "给出替代方案。",
                    ),
                ],
            )],
        ),
        call(
            "en-001",
            Some("agent-smith"),
            Some("2024-05-01"),
            vec![turn(
                1,
                en1,
                vec![
                    score(
                        "empathy",
                        "4.3.2",
                        82.0,
                        vec![span(en1, "I understand how frustrating this is")],
                        "",
                    ),
                    score(
                        "expectation",
                        "4.2.3",
                        90.0,
                        vec![span(en1, "by 5 pm today")],
                        "",
                    ),
                ],
            )],
        ),
        call(
            "en-002",
            Some("agent-smith"),
            Some("2024-05-02T10:00:00Z"),
            vec![
                turn(
                    1,
                    en2,
                    vec![
                        score(
                            "objection",
                            "3.2.1",
                            20.0,
                            vec![span(en2, "nothing I can do")],
                            "Offer an alternative <b>before</b> citing policy.",
                        ),
                        score(
                            "empathy",
                            "4.3.2",
                            30.0,
                            vec![],
                            "Acknowledge the feeling first.",
                        ),
                    ],
                ),
                turn(
                    3,
                    en3,
                    vec![score(
                        "objection",
                        "3.2.1",
                        70.0,
                        vec![span(en3, "what we can offer instead")],
                        "",
                    )],
                ),
            ],
        ),
        call(
            "en-003",
            None,
            None,
            vec![turn(
                1,
                en3,
                vec![score("empathy", "4.3.2", 75.0, vec![], "")],
            )],
        ),
    ]
}

fn errors() -> Vec<(String, usize, String)> {
    vec![
        (
            "calls/b.jsonl".into(),
            7,
            "expected `speaker` <agent|customer>".into(),
        ),
        ("calls/a.csv".into(), 12, "missing column `text`".into()),
    ]
}

fn render(results: &[CallResult], errors: &[(String, usize, String)]) -> String {
    html(&ReportInput {
        title: "五月质检 May QA <batch>".into(),
        results,
        errors,
        plugins: vec![
            ("objection".into(), "0.2.0".into()),
            ("empathy".into(), "0.1.0".into()),
            ("expectation".into(), "0.1.1".into()),
        ],
        generated_at: "2024-05-03T08:00:00Z".into(),
    })
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn report_is_well_formed_and_complete() {
    let (r, e) = (results(), errors());
    let out = render(&r, &e);
    if let Ok(path) = std::env::var("SPARRING_REPORT_EXAMPLE") {
        std::fs::write(path, &out).unwrap();
    }
    assert!(out.starts_with("<!DOCTYPE html>"));
    for tag in [
        "section", "svg", "table", "div", "ul", "li", "mark", "h2", "h3", "tr", "td", "th",
    ] {
        let opened = count(&out, &format!("<{tag}>")) + count(&out, &format!("<{tag} "));
        assert_eq!(
            opened,
            count(&out, &format!("</{tag}>")),
            "<{tag}> opened vs closed"
        );
    }
    // Summary, distributions (one histogram per dimension), agents, trend.
    assert_eq!(count(&out, "<section"), 7);
    assert!(count(&out, "<svg") >= 5, "3 histograms, agent bars, trend");
    for needle in [
        "empathy",
        "expectation",
        "objection",
        "4.3.2",
        "4.2.3",
        "3.2.1",
        "agent-li",
        "agent-smith",
    ] {
        assert!(out.contains(needle), "missing {needle}");
    }
    for label in [
        "平均分 Mean",
        "通话 <span class=\"en\">Calls</span>",
        "P10",
        "P90",
    ] {
        assert!(out.contains(label), "missing {label}");
    }
    assert!(
        out.contains("<code>empathy</code></td><td>0.1.0</td>"),
        "plugins with versions"
    );
    assert!(
        out.contains("<code>calls/a.csv</code></td><td class=\"n\">12</td>"),
        "errors with file and line"
    );
    assert!(out.contains("2024-05-01") && out.contains("2024-05-02"));
    assert!(out.contains("<polyline"), "trend lines");
    assert!(out.contains("timed_out"), "plugin errors listed");
}

#[test]
fn user_text_is_escaped() {
    let out = render(&results(), &errors());
    assert!(!out.contains("<script"), "a reply's markup must not run");
    assert!(out.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(out.contains("五月质检 May QA &lt;batch&gt;"));
    assert!(
        out.contains("&lt;b&gt;before&lt;/b&gt;"),
        "tips are escaped"
    );
    assert!(out.contains("expected `speaker` &lt;agent|customer&gt;"));
    assert!(!out.contains("<b>before"));
}

#[test]
fn evidence_is_highlighted_by_offsets_or_quote() {
    let out = render(&results(), &errors());
    assert!(out.contains("<mark>您自己去营业厅问吧</mark>"));
    assert!(
        out.contains("这个<mark>不归我们管</mark>，"),
        "bad offsets fall back to the quote"
    );
    assert!(out.contains("<mark>nothing I can do</mark>"));
    assert!(out.contains("建议 Tip: 给出替代方案。"));
}

#[test]
fn lowest_call_comes_first() {
    let out = render(&results(), &errors());
    let lowest = &out[out.find("id=\"lowest\"").unwrap()..];
    let first = lowest.find("zh-002").unwrap();
    for other in ["en-002", "zh-001", "en-003", "en-001"] {
        assert!(first < lowest.find(other).unwrap(), "zh-002 before {other}");
    }
    assert!(lowest.find("en-002").unwrap() < lowest.find("zh-001").unwrap());
}

#[test]
fn trend_is_omitted_without_timestamps() {
    let mut r = results();
    for c in &mut r {
        c.timestamp = None;
    }
    let out = render(&r, &[]);
    let trend = &out[out.find("id=\"trend\"").unwrap()..];
    let trend = &trend[..trend.find("</section>").unwrap()];
    assert!(trend.contains("No timestamps: the trend is omitted."));
    assert!(!trend.contains("<svg"));
    assert!(out.contains("No input errors."));
}

#[test]
fn output_is_deterministic_and_offline() {
    let (r, e) = (results(), errors());
    let a = render(&r, &e);
    let b = render(&r, &e);
    assert_eq!(a, b);
    let mut reversed = r.clone();
    reversed.reverse();
    let mut e2 = e.clone();
    e2.reverse();
    // Sections sort what they show, so the order of the input does not matter
    // except where it is the order of the calls themselves.
    let c = render(&reversed, &e2);
    assert_eq!(a, c);
    assert!(!a.contains("http://") && !a.contains("https://"));
    assert!(!a.contains("<script") && !a.contains("<link") && !a.contains("src="));
}

#[test]
fn empty_input_still_renders() {
    let out = html(&ReportInput {
        title: String::new(),
        results: &[],
        errors: &[],
        plugins: Vec::new(),
        generated_at: String::new(),
    });
    assert_eq!(count(&out, "<section"), count(&out, "</section>"));
    assert!(out.contains("No timestamps"));
}
