//! The report's sections other than the lowest calls: header, summary,
//! distributions, agents, skills, trend and input errors.

use crate::escape::esc;
use crate::stats::{bin, date_prefix, f1, mean, pct, percentile, sorted};
use crate::svg;
use crate::Ctx;
use sparring_scoring::batch::{summarise, CallResult};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// A heading in both languages.
pub fn h2(zh: &str, en: &str) -> String {
    format!("<h2>{zh} <span class=\"en\">{en}</span></h2>\n")
}

/// The Chinese name of a dimension the built-in plugins score, then its id.
pub fn dim_label(id: &str) -> String {
    let zh = match id {
        "empathy" => "共情",
        "expectation" => "期望管理",
        "objection" => "异议处理",
        _ => "",
    };
    if zh.is_empty() {
        esc(id)
    } else {
        format!("{zh} <span class=\"en\">{}</span>", esc(id))
    }
}

/// Class of a 0–100 value: below 40, below 70, or good.
pub fn band(v: f64) -> &'static str {
    if v < 40.0 {
        "low"
    } else if v < 70.0 {
        "mid"
    } else {
        "ok"
    }
}

/// Every turn score's value per dimension over `results`.
fn values_by_dim<'a>(
    results: impl IntoIterator<Item = &'a CallResult>,
) -> BTreeMap<String, Vec<f64>> {
    let mut m: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in results
        .into_iter()
        .flat_map(|r| &r.turns)
        .flat_map(|t| &t.scores)
    {
        m.entry(s.dimension.clone())
            .or_default()
            .push(f64::from(s.value));
    }
    m
}

fn legend(ctx: &Ctx) -> String {
    let mut s = String::from("<div class=\"legend\">");
    for (i, d) in ctx.dims.iter().enumerate() {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>{}</span>",
            svg::colour(i),
            dim_label(d)
        );
    }
    s.push_str("</div>\n");
    s
}

pub fn header(ctx: &Ctx) -> String {
    format!(
        "<header class=\"top\"><h1>{}</h1><div class=\"meta\">质检报告 Quality report · 生成时间 Generated {}</div></header>\n",
        esc(&ctx.input.title),
        esc(&ctx.input.generated_at)
    )
}

pub fn summary(ctx: &Ctx) -> String {
    let r = ctx.input.results;
    let turns: usize = r.iter().map(|c| c.turns.len()).sum();
    let agents: BTreeSet<&str> = r.iter().filter_map(|c| c.agent_id.as_deref()).collect();
    let plugin_errors: usize = r
        .iter()
        .flat_map(|c| &c.turns)
        .map(|t| t.errors.len())
        .sum();
    let card = |n: usize, lab: &str, bad: bool| {
        format!(
            "<div class=\"card{}\"><div class=\"num\">{n}</div><div class=\"lab\">{lab}</div></div>",
            if bad && n > 0 { " bad" } else { "" }
        )
    };
    let mut s = String::from("<section id=\"summary\">\n");
    s.push_str(&h2("概览", "Summary"));
    s.push_str("<div class=\"cards\">");
    s.push_str(&card(
        r.len(),
        "通话 <span class=\"en\">Calls</span>",
        false,
    ));
    s.push_str(&card(
        turns,
        "客服发言 <span class=\"en\">Agent turns</span>",
        false,
    ));
    s.push_str(&card(
        agents.len(),
        "客服 <span class=\"en\">Agents</span>",
        false,
    ));
    s.push_str(&card(
        ctx.input.plugins.len(),
        "插件 <span class=\"en\">Plugins</span>",
        false,
    ));
    s.push_str(&card(
        ctx.input.errors.len(),
        "输入错误 <span class=\"en\">Input errors</span>",
        true,
    ));
    s.push_str(&card(
        plugin_errors,
        "插件错误 <span class=\"en\">Plugin errors</span>",
        true,
    ));
    s.push_str("</div>\n");
    let mut plugins = ctx.input.plugins.clone();
    plugins.sort();
    s.push_str("<table><thead><tr><th>插件 <span class=\"en\">Plugin</span></th><th>版本 <span class=\"en\">Version</span></th></tr></thead><tbody>");
    if plugins.is_empty() {
        s.push_str("<tr><td colspan=\"2\">无 None</td></tr>");
    }
    for (id, version) in &plugins {
        let _ = write!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            esc(id),
            esc(version)
        );
    }
    s.push_str("</tbody></table>\n</section>\n");
    s
}

pub fn distribution(ctx: &Ctx) -> String {
    let mut s = String::from("<section id=\"distribution\">\n");
    s.push_str(&h2("各维度得分分布", "Score distribution per dimension"));
    let by_dim = values_by_dim(ctx.input.results);
    if by_dim.is_empty() {
        s.push_str("<p class=\"note\">没有得分 No scores.</p>\n</section>\n");
        return s;
    }
    s.push_str("<p class=\"hint\">柱：每 10 分一档的发言数；实线：平均分；虚线：P10 与 P90。 Bars: turns per 10-point bin; solid line: mean; dashed lines: P10 and P90.</p>\n<div class=\"grid2\">\n");
    for (d, values) in by_dim {
        let v = sorted(values);
        let mut bins = [0usize; 10];
        for &x in &v {
            bins[bin(x)] += 1;
        }
        let (m, p10, p90) = (
            mean(&v).unwrap_or(0.0),
            percentile(&v, 10.0).unwrap_or(0.0),
            percentile(&v, 90.0).unwrap_or(0.0),
        );
        let markers = [
            (p10, "pct", "P10"),
            (m, "mean", "Mean"),
            (p90, "pct", "P90"),
        ];
        let chart = svg::histogram(
            &bins,
            &markers,
            svg::colour(ctx.dim_index(&d)),
            &format!("{d} distribution"),
        );
        let _ = writeln!(
            s,
            "<div class=\"chart\"><h3>{}</h3>{chart}<div class=\"stats\">n <b>{}</b> · 平均分 Mean <b>{}</b> · P10 <b>{}</b> · P90 <b>{}</b></div></div>",
            dim_label(&d),
            v.len(),
            f1(m),
            f1(p10),
            f1(p90)
        );
    }
    s.push_str("</div>\n</section>\n");
    s
}

/// One agent: name, calls, turns and every turn score per dimension.
type AgentRow<'a> = (&'a str, usize, usize, BTreeMap<String, Vec<f64>>);

pub fn agents(ctx: &Ctx) -> String {
    const NONE: &str = "(未标注 unassigned)";
    let mut groups: BTreeMap<(bool, &str), Vec<&CallResult>> = BTreeMap::new();
    for r in ctx.input.results {
        let key = match &r.agent_id {
            Some(a) => (false, a.as_str()),
            None => (true, NONE),
        };
        groups.entry(key).or_default().push(r);
    }
    let mut s = String::from("<section id=\"agents\">\n");
    s.push_str(&h2("客服对比", "Per-agent comparison"));
    if groups.is_empty() || ctx.dims.is_empty() {
        s.push_str("<p class=\"note\">没有数据 No data.</p>\n</section>\n");
        return s;
    }
    let rows: Vec<AgentRow> = groups
        .iter()
        .map(|(&(_, name), calls)| {
            let turns = calls.iter().map(|c| c.turns.len()).sum();
            (
                name,
                calls.len(),
                turns,
                values_by_dim(calls.iter().copied()),
            )
        })
        .collect();
    let bars: Vec<(String, Vec<Option<f64>>)> = rows
        .iter()
        .map(|(name, _, _, by)| {
            let vals = ctx
                .dims
                .iter()
                .map(|d| by.get(d).and_then(|v| mean(v)))
                .collect();
            (name.to_string(), vals)
        })
        .collect();
    s.push_str(&legend(ctx));
    s.push_str(&svg::grouped_bars(
        &bars,
        "mean score per agent and dimension",
    ));
    s.push_str("<table><thead><tr><th>客服 <span class=\"en\">Agent</span></th><th class=\"n\">通话 <span class=\"en\">Calls</span></th><th class=\"n\">发言 <span class=\"en\">Turns</span></th>");
    for d in &ctx.dims {
        let _ = write!(
            s,
            "<th class=\"n\">{} · 平均分 <span class=\"en\">Mean</span> (n)</th>",
            dim_label(d)
        );
    }
    s.push_str("</tr></thead><tbody>");
    for (name, calls, turns, by) in &rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"n\">{calls}</td><td class=\"n\">{turns}</td>",
            esc(name)
        );
        for d in &ctx.dims {
            match by.get(d) {
                Some(v) => {
                    let _ = write!(
                        s,
                        "<td class=\"n\">{} ({})</td>",
                        f1(mean(v).unwrap_or(0.0)),
                        v.len()
                    );
                }
                None => s.push_str("<td class=\"n\">–</td>"),
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>\n</section>\n");
    s
}

pub fn skills(ctx: &Ctx) -> String {
    let mut level0: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for sc in ctx
        .input
        .results
        .iter()
        .flat_map(|r| &r.turns)
        .flat_map(|t| &t.scores)
    {
        if sc.level == "0" {
            *level0.entry((&sc.skill_code, &sc.dimension)).or_default() += 1;
        }
    }
    let mut rows = summarise(ctx.input.results);
    rows.sort_by(|a, b| {
        a.mean
            .total_cmp(&b.mean)
            .then_with(|| a.skill_code.cmp(&b.skill_code))
            .then_with(|| a.dimension.cmp(&b.dimension))
    });
    let mut s = String::from("<section id=\"skills\">\n");
    s.push_str(&h2(
        "薄弱技能（按技能代码）",
        "Weakest skills by skill code",
    ));
    if rows.is_empty() {
        s.push_str("<p class=\"note\">没有得分 No scores.</p>\n</section>\n");
        return s;
    }
    s.push_str("<table><thead><tr><th>技能代码 <span class=\"en\">Skill code</span></th><th>维度 <span class=\"en\">Dimension</span></th><th class=\"n\">n</th><th>平均分 <span class=\"en\">Mean</span></th><th class=\"n\">最低 <span class=\"en\">Min</span></th><th class=\"n\">最高 <span class=\"en\">Max</span></th><th class=\"n\">0 级占比 <span class=\"en\">Level-0 share</span></th></tr></thead><tbody>");
    for r in &rows {
        let zero = level0
            .get(&(r.skill_code.as_str(), r.dimension.as_str()))
            .copied()
            .unwrap_or(0);
        let _ = write!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td><span class=\"bar {}\" style=\"width:{}px\"></span>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&r.skill_code),
            dim_label(&r.dimension),
            r.n,
            band(r.mean),
            f1(r.mean.clamp(0.0, 100.0) * 1.2),
            f1(r.mean),
            f1(r.min),
            f1(r.max),
            pct(zero, r.n)
        );
    }
    s.push_str("</tbody></table>\n</section>\n");
    s
}

pub fn trend(ctx: &Ctx) -> String {
    let mut days: BTreeMap<&str, (usize, BTreeMap<String, Vec<f64>>)> = BTreeMap::new();
    let mut undated = 0;
    for r in ctx.input.results {
        let Some(day) = r.timestamp.as_deref().and_then(date_prefix) else {
            undated += 1;
            continue;
        };
        let e = days.entry(day).or_default();
        e.0 += 1;
        for (d, v) in values_by_dim([r]) {
            e.1.entry(d).or_default().extend(v);
        }
    }
    let mut s = String::from("<section id=\"trend\">\n");
    s.push_str(&h2("趋势", "Trend over time"));
    if days.is_empty() {
        s.push_str("<p class=\"note\">没有时间戳，未显示趋势。 No timestamps: the trend is omitted.</p>\n</section>\n");
        return s;
    }
    let cats: Vec<String> = days.keys().map(|d| d.to_string()).collect();
    let series: Vec<Vec<Option<f64>>> = ctx
        .dims
        .iter()
        .map(|d| {
            days.values()
                .map(|(_, by)| by.get(d).and_then(|v| mean(v)))
                .collect()
        })
        .collect();
    s.push_str(&legend(ctx));
    s.push_str(&svg::lines(
        &cats,
        &series,
        "daily mean score per dimension",
    ));
    s.push_str("<table><thead><tr><th>日期 <span class=\"en\">Date</span></th><th class=\"n\">通话 <span class=\"en\">Calls</span></th>");
    for d in &ctx.dims {
        let _ = write!(s, "<th class=\"n\">{}</th>", dim_label(d));
    }
    s.push_str("</tr></thead><tbody>");
    for (day, (calls, by)) in &days {
        let _ = write!(s, "<tr><td>{}</td><td class=\"n\">{calls}</td>", esc(day));
        for d in &ctx.dims {
            let cell = by
                .get(d)
                .and_then(|v| mean(v))
                .map(f1)
                .unwrap_or_else(|| "–".into());
            let _ = write!(s, "<td class=\"n\">{cell}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>\n");
    if undated > 0 {
        let _ = writeln!(
            s,
            "<p class=\"note\">{undated} 通没有可识别日期（YYYY-MM-DD）的通话未计入。 {undated} call(s) without a YYYY-MM-DD timestamp are not counted.</p>"
        );
    }
    s.push_str("</section>\n");
    s
}

pub fn errors(ctx: &Ctx) -> String {
    let mut s = String::from("<section id=\"errors\">\n");
    s.push_str(&h2("输入错误", "Input errors"));
    let mut errors: Vec<&(String, usize, String)> = ctx.input.errors.iter().collect();
    errors.sort();
    if errors.is_empty() {
        s.push_str("<p class=\"note\">无输入错误 No input errors.</p>\n");
    } else {
        s.push_str("<table><thead><tr><th>文件 <span class=\"en\">File</span></th><th class=\"n\">行 <span class=\"en\">Line</span></th><th>错误 <span class=\"en\">Error</span></th></tr></thead><tbody>");
        for (file, line, msg) in errors {
            let _ = write!(
                s,
                "<tr><td><code>{}</code></td><td class=\"n\">{line}</td><td class=\"err\">{}</td></tr>",
                esc(file),
                esc(msg)
            );
        }
        s.push_str("</tbody></table>\n");
    }
    let mut plugin_errors: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for e in ctx
        .input
        .results
        .iter()
        .flat_map(|r| &r.turns)
        .flat_map(|t| &t.errors)
    {
        *plugin_errors.entry((&e.plugin, &e.kind)).or_default() += 1;
    }
    if !plugin_errors.is_empty() {
        s.push_str("<h3 style=\"margin-top:14px\">插件错误 <span class=\"en\">Plugin errors</span></h3><table><thead><tr><th>插件 <span class=\"en\">Plugin</span></th><th>类型 <span class=\"en\">Kind</span></th><th class=\"n\">次数 <span class=\"en\">Count</span></th></tr></thead><tbody>");
        for ((plugin, kind), n) in plugin_errors {
            let _ = write!(
                s,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{n}</td></tr>",
                esc(plugin),
                esc(kind)
            );
        }
        s.push_str("</tbody></table>\n");
    }
    s.push_str("</section>\n");
    s
}
