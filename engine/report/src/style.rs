//! The report's stylesheet, inlined into the document.

pub const CSS: &str = r#"
:root{--ink:#1d2733;--muted:#5d6b7a;--line:#e2e7ee;--bg:#f4f6f9;--card:#fff;--accent:#2f6db5;--bad:#c8435a;--warn:#e08a1e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.55 -apple-system,"Segoe UI","Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
header.top{border-bottom:3px solid var(--accent);padding-bottom:14px;margin-bottom:18px}
header.top h1{margin:0 0 4px;font-size:26px;font-weight:650;letter-spacing:.2px}
header.top .meta{color:var(--muted);font-size:13px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:0 0 18px;box-shadow:0 1px 2px rgba(20,30,50,.04)}
h2{margin:0 0 12px;font-size:18px;font-weight:650}
h2 .en,h3 .en,th .en,.lab .en{color:var(--muted);font-weight:500}
h3{margin:0 0 6px;font-size:15px;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:14px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:#fafbfd}
.card .num{font-size:26px;font-weight:650;color:var(--accent);font-variant-numeric:tabular-nums}
.card .lab{font-size:12.5px;color:var(--ink)}
.card.bad .num{color:var(--bad)}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f7f9fb;font-weight:600;font-size:12.5px;white-space:nowrap}
td.n,th.n{text-align:right}
tr:last-child td{border-bottom:none}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}
.chart{border:1px solid var(--line);border-radius:8px;padding:12px 12px 8px}
.chart .stats{color:var(--muted);font-size:12.5px;margin-top:2px}
.chart .stats b{color:var(--ink);font-weight:600}
svg{width:100%;height:auto;display:block}
svg text{font-family:inherit}
svg .grid{stroke:#e8ecf1;stroke-width:1}
svg .axis{stroke:#8a96a3;stroke-width:1}
svg .tick{fill:#6b7785;font-size:10px}
svg .val{fill:#3b4652;font-size:9.5px}
svg .cat{fill:#2a3440;font-size:11.5px}
svg .mk{fill:#2a3440;font-size:9.5px;font-weight:600}
svg .mean{stroke:#1d2733;stroke-width:1.8}
svg .pct{stroke:#1d2733;stroke-width:1.2;stroke-dasharray:4 3}
.hint{color:var(--muted);font-size:12.5px;margin:-4px 0 10px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:4px 0 10px;font-size:12.5px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.note{color:var(--muted);font-size:13px;background:#f7f9fb;border-left:3px solid #c3ccd7;padding:8px 12px;border-radius:4px;margin:8px 0 0}
.bar{display:inline-block;height:8px;border-radius:4px;background:var(--accent);vertical-align:middle;margin-right:8px}
.bar.low{background:var(--bad)}.bar.mid{background:var(--warn)}
.call{border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:12px 0 0}
.call h3 .score{float:right;color:var(--bad);font-variant-numeric:tabular-nums}
.call .meta{color:var(--muted);font-size:12.5px;margin-bottom:6px}
.turn{border-top:1px dashed var(--line);padding:8px 0 4px}
.turn .idx{color:var(--muted);font-size:12px}
.reply{background:#fbfcfe;border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:4px 0 6px;white-space:pre-wrap;word-break:break-word}
mark{background:#ffe28a;color:inherit;padding:0 2px;border-radius:2px}
ul.scores{list-style:none;margin:0;padding:0;font-size:13px}
ul.scores li{margin:2px 0}
.chip{display:inline-block;min-width:44px;text-align:center;border-radius:10px;padding:0 8px;margin-right:6px;color:#fff;font-size:12px;font-weight:600;font-variant-numeric:tabular-nums}
.chip.low{background:var(--bad)}.chip.mid{background:var(--warn)}.chip.ok{background:#2a9d74}
.tip{color:var(--muted)}
.err{color:var(--bad)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}
@media print{body{background:#fff}section{box-shadow:none;break-inside:avoid}}
"#;
