//! The lowest-scoring calls, with their weak turns, evidence and tips.

use crate::escape::{esc, highlight};
use crate::sections::{band, dim_label, h2};
use crate::stats::{f1, mean};
use crate::Ctx;
use sparring_scoring::batch::{CallResult, TurnResult};
use std::fmt::Write;

/// How many calls the section shows.
pub const LOWEST_CALLS: usize = 10;
/// A turn is weak when one of its scores is below this or at level 0.
pub const WEAK_BELOW: f32 = 60.0;
/// At most this many weak turns are shown per call (the lowest ones).
const TURNS_PER_CALL: usize = 5;

/// A call's mean over its dimension means; `None` when nothing was scored.
pub fn call_mean(r: &CallResult) -> Option<f64> {
    mean(&r.dimensions.values().copied().collect::<Vec<_>>())
}

/// The calls with a score, lowest mean first (ties by call id), at most `n`.
pub fn lowest_calls(results: &[CallResult], n: usize) -> Vec<(&CallResult, f64)> {
    let mut v: Vec<(&CallResult, f64)> = results
        .iter()
        .filter_map(|r| call_mean(r).map(|m| (r, m)))
        .collect();
    v.sort_by(|a, b| {
        a.1.total_cmp(&b.1)
            .then_with(|| a.0.call_id.cmp(&b.0.call_id))
            .then_with(|| a.0.turns.len().cmp(&b.0.turns.len()))
    });
    v.truncate(n);
    v
}

fn turn_min(t: &TurnResult) -> f32 {
    t.scores
        .iter()
        .map(|s| s.value)
        .fold(f32::INFINITY, f32::min)
}

/// The turns of `r` to show: the weak ones (lowest first, at most
/// [`TURNS_PER_CALL`]), else its lowest scored turn; in call order.
fn weak_turns(r: &CallResult) -> (Vec<&TurnResult>, usize) {
    let mut scored: Vec<&TurnResult> = r.turns.iter().filter(|t| !t.scores.is_empty()).collect();
    scored.sort_by(|a, b| {
        turn_min(a)
            .total_cmp(&turn_min(b))
            .then(a.turn.cmp(&b.turn))
    });
    let weak: Vec<&TurnResult> = scored
        .iter()
        .copied()
        .filter(|t| {
            t.scores
                .iter()
                .any(|s| s.value < WEAK_BELOW || s.level == "0")
        })
        .collect();
    let total = weak.len();
    let mut shown: Vec<&TurnResult> = if weak.is_empty() {
        scored.into_iter().take(1).collect()
    } else {
        weak.into_iter().take(TURNS_PER_CALL).collect()
    };
    shown.sort_by_key(|t| t.turn);
    let hidden = total.saturating_sub(shown.len());
    (shown, hidden)
}

fn turn_html(s: &mut String, t: &TurnResult) {
    let (reply, unplaced) = highlight(&t.reply, t.scores.iter().flat_map(|sc| &sc.evidence));
    let _ = write!(
        s,
        "<div class=\"turn\"><div class=\"idx\">第 {n} 句 Turn {n}</div><div class=\"reply\">{reply}</div>",
        n = t.turn + 1
    );
    for q in unplaced {
        let _ = write!(
            s,
            "<div class=\"idx\">引用 Quote: <mark>{}</mark></div>",
            esc(&q)
        );
    }
    s.push_str("<ul class=\"scores\">");
    let mut scores: Vec<_> = t.scores.iter().collect();
    scores.sort_by(|a, b| {
        a.dimension
            .cmp(&b.dimension)
            .then_with(|| a.skill_code.cmp(&b.skill_code))
    });
    for sc in scores {
        let v = f64::from(sc.value);
        let _ = write!(
            s,
            "<li><span class=\"chip {}\">{}</span>{} · <code>{}</code> · 等级 Level {}",
            band(v),
            f1(v),
            dim_label(&sc.dimension),
            esc(&sc.skill_code),
            esc(&sc.level)
        );
        if !sc.tip.is_empty() {
            let _ = write!(
                s,
                " — <span class=\"tip\">建议 Tip: {}</span>",
                esc(&sc.tip)
            );
        }
        s.push_str("</li>");
    }
    for e in &t.errors {
        let _ = write!(
            s,
            "<li class=\"err\">插件错误 Plugin error: <code>{}</code> ({}) {}</li>",
            esc(&e.plugin),
            esc(&e.kind),
            esc(&e.message)
        );
    }
    s.push_str("</ul></div>");
}

pub fn lowest(ctx: &Ctx) -> String {
    let calls = lowest_calls(ctx.input.results, LOWEST_CALLS);
    let mut s = String::from("<section id=\"lowest\">\n");
    s.push_str(&h2(
        &format!("得分最低的 {LOWEST_CALLS} 通通话"),
        &format!("The {LOWEST_CALLS} lowest-scoring calls"),
    ));
    if calls.is_empty() {
        s.push_str("<p class=\"note\">没有得分 No scores.</p>\n</section>\n");
        return s;
    }
    s.push_str("<table><thead><tr><th class=\"n\">#</th><th>通话 <span class=\"en\">Call</span></th><th>客服 <span class=\"en\">Agent</span></th><th>时间 <span class=\"en\">Time</span></th><th class=\"n\">平均分 <span class=\"en\">Mean</span></th>");
    for d in &ctx.dims {
        let _ = write!(s, "<th class=\"n\">{}</th>", dim_label(d));
    }
    s.push_str("</tr></thead><tbody>");
    for (i, (r, m)) in calls.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><td class=\"n\">{}</td><td><a href=\"#call-{i}\"><code>{}</code></a></td><td>{}</td><td>{}</td><td class=\"n\"><b>{}</b></td>",
            i + 1,
            esc(&r.call_id),
            esc(r.agent_id.as_deref().unwrap_or("–")),
            esc(r.timestamp.as_deref().unwrap_or("–")),
            f1(*m)
        );
        for d in &ctx.dims {
            let cell = r
                .dimensions
                .get(d)
                .map(|v| f1(*v))
                .unwrap_or_else(|| "–".into());
            let _ = write!(s, "<td class=\"n\">{cell}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>\n");
    let _ = writeln!(
        s,
        "<p class=\"note\">低于 {} 分或 0 级的发言为薄弱发言；标黄为评分依据。 Turns scoring below {} or at level 0 are weak; highlighted text is the evidence.</p>",
        WEAK_BELOW, WEAK_BELOW
    );
    for (i, (r, m)) in calls.iter().enumerate() {
        let _ = write!(
            s,
            "<div class=\"call\" id=\"call-{i}\"><h3>{}. <code>{}</code><span class=\"score\">{}</span></h3><div class=\"meta\">客服 Agent {} · 时间 Time {} · {} 句客服发言 agent turns</div>",
            i + 1,
            esc(&r.call_id),
            f1(*m),
            esc(r.agent_id.as_deref().unwrap_or("–")),
            esc(r.timestamp.as_deref().unwrap_or("–")),
            r.turns.len()
        );
        let (turns, hidden) = weak_turns(r);
        for t in turns {
            turn_html(&mut s, t);
        }
        if hidden > 0 {
            let _ = write!(
                s,
                "<div class=\"idx\">另有 {hidden} 句薄弱发言未显示 {hidden} more weak turn(s) not shown</div>"
            );
        }
        s.push_str("</div>\n");
    }
    s.push_str("</section>\n");
    s
}
