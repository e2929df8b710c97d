// Evaluator: upload transcript files (JSONL, CSV or plain text; one or many) for
// batch scoring, list batches (polling while any is running) and show one batch's
// results with the downloads `sparring score` also writes.
(function () {
  "use strict";
  const { App, I18N } = window;
  const t = I18N.t;
  const el = App.el;
  const $ = (id) => document.getElementById(id);

  const state = { batches: null, error: null, selected: null, detail: null, detailError: null, upload: null };
  let pollTimer = null;

  const td = (label, content, cls) => el("td", { "data-label": label, class: cls || "" }, content);
  const th = (text, cls) => el("th", { class: cls || "", text });
  const selectedFromHash = () => { const m = location.hash.match(/^#batch=(.+)$/); return m ? decodeURIComponent(m[1]) : null; };

  function renderUpload() {
    const u = state.upload;
    const box = $("upload-status");
    if (!u) return App.say(box, "");
    App.say(box, u.key ? t(u.key, u.vars) : u.text, u.kind);
  }

  // The native file input is hidden behind a styled button; the chosen names are shown here.
  function renderFileName() {
    const files = [...$("batch-file").files];
    const box = $("batch-file-name");
    box.textContent = !files.length ? t("eval.no_file_chosen")
      : files.length === 1 ? files[0].name : t("eval.files_chosen", { n: files.length, first: files[0].name });
    box.classList.toggle("muted", !files.length);
  }

  async function upload(ev) {
    ev.preventDefault();
    const files = [...$("batch-file").files];
    if (!files.length) { state.upload = { key: "eval.no_file", kind: "error" }; return renderUpload(); }
    const b = $("batch-upload");
    b.disabled = true;
    state.upload = { key: "eval.uploading", kind: "info" };
    renderUpload();
    try {
      // One part per file; the server reads each by its extension, then its content.
      const form = new FormData();
      for (const f of files) form.append("file", f, f.name);
      const res = await App.fetch("POST", "/api/batches", { body: form });
      // The body is JSON per the contract; a plain-text body (e.g. from a proxy) is shown as is.
      const raw = await res.text();
      let data = null;
      try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = { error: raw.slice(0, 300) }; }
      if (res.status === 413) {
        state.upload = { key: "eval.too_large", vars: { msg: (data && data.error) || "413" }, kind: "error" };
      } else if (!res.ok) {
        state.upload = { key: "common.error", vars: { msg: (data && data.error) || ("HTTP " + res.status) }, kind: "error" };
      } else {
        state.upload = { key: "eval.uploaded", vars: { id: data.id, status: App.statusName(data.status) }, kind: "ok" };
        $("batch-file").value = "";
        renderFileName();
        select(data.id);
        await loadBatches();
      }
    } catch (e) {
      if (!(e instanceof App.ApiError && e.status === 401)) state.upload = { key: "common.error", vars: { msg: App.errorText(e) }, kind: "error" };
    } finally {
      b.disabled = false;
    }
    renderUpload();
  }

  function renderBatches() {
    const box = App.clear($("batch-list"));
    if (state.error) return box.append(el("p", { class: "msg-line error", text: t("common.error", { msg: App.errorText(state.error) }) }));
    if (!state.batches) return box.append(el("p", { class: "muted", text: t("common.loading") }));
    if (!state.batches.length) return box.append(el("p", { class: "muted", text: t("eval.no_batches") }));
    const rows = [...state.batches].sort((a, b) => (App.toDate(b.created_at) || 0) - (App.toDate(a.created_at) || 0));
    const tbody = el("tbody");
    for (const b of rows) {
      const open = el("a", { href: "#batch=" + encodeURIComponent(b.id), "data-testid": "batch-open", text: b.name || String(b.id) });
      tbody.append(el("tr", { class: "clickable" + (String(b.id) === String(state.selected) ? " selected" : ""), "data-batch-id": b.id, onclick: (ev) => { if (ev.target !== open) select(b.id); } },
        td(t("col.name"), open),
        td(t("col.status"), App.badge(App.statusName(b.status), b.status)),
        td(t("col.calls"), App.fmtNum(b.calls), "num"),
        td(t("col.scored"), App.fmtNum(b.scored), "num"),
        td(t("col.errors"), App.fmtNum(b.errors), "num"),
        td(t("col.created"), App.fmtDate(b.created_at)),
        td(t("col.finished"), b.finished_at ? App.fmtDate(b.finished_at) : t("common.dash"))));
    }
    box.append(el("div", { class: "table-wrap" }, el("table", { id: "batches-table", class: "stack-sm" },
      el("thead", {}, el("tr", {}, th(t("col.name")), th(t("col.status")), th(t("col.calls"), "num"), th(t("col.scored"), "num"),
        th(t("col.errors"), "num"), th(t("col.created")), th(t("col.finished")))), tbody)));
  }

  // A call's per-turn results: `turns` is that list (OpenAPI BatchCall); older
  // drafts of the contract called it `results` and put a count in `turns`.
  const callResults = (c) => (Array.isArray(c.results) ? c.results : Array.isArray(c.turns) ? c.turns : []);
  const callTurns = (c) => (typeof c.turns === "number" ? c.turns : callResults(c).length);

  function scoreList(scores, reply) {
    const marks = [];
    for (const s of scores || []) for (const sp of s.evidence || []) marks.push({ span: sp, label: App.dimName(s.dimension), cls: "ev-" + s.dimension });
    const wrap = el("div", {});
    wrap.append(el("div", { class: "reply" }, App.highlight(reply || "", marks)));
    const list = el("div", { class: "scores" });
    for (const s of scores || []) {
      list.append(el("div", { class: "score", "data-dimension": s.dimension },
        el("div", { class: "score-top" },
          el("span", { class: "score-name", text: App.dimName(s.dimension) }),
          s.skill_code ? el("span", { class: "skill-code", text: s.skill_code }) : null,
          el("span", { class: "badge", text: t("level.label", { level: s.level }) + " · " + App.levelName(s.level) }),
          el("span", { class: "score-value " + App.scoreClass(s.value), text: App.fmtNum(s.value, 0) })),
        s.tip ? el("div", { class: "score-tip" }, el("span", { class: "tip-label", text: App.label("session.tip") }), s.tip) : null));
    }
    wrap.append(list);
    return wrap;
  }

  function renderDetail() {
    const box = $("batch-detail");
    if (!state.selected) { box.hidden = true; App.clear(box); delete box.dataset.status; return; }
    box.hidden = false;
    App.clear(box);
    box.dataset.batchId = state.selected;
    if (state.detail && !state.detailError) box.dataset.status = state.detail.status; else delete box.dataset.status;
    if (state.detailError) return box.append(el("p", { class: "msg-line error", text: t("common.error", { msg: App.errorText(state.detailError) }) }));
    const d = state.detail;
    if (!d) return box.append(el("p", { class: "muted", text: t("common.loading") }));
    box.append(el("div", { class: "row spread" },
      el("h2", { id: "batch-title", text: t("eval.results", { name: d.name || d.id }) }),
      App.badge(App.statusName(d.status), d.status)));
    if (d.status === "running") box.append(el("p", { class: "msg-line info", text: t("eval.still_running") }));
    const base = "/api/batches/" + encodeURIComponent(d.id) + "/files/";
    box.append(el("p", { class: "row downloads", id: "batch-downloads" },
      el("span", { class: "muted small", text: t("eval.downloads") }),
      [["report.html", "eval.dl_report"], ["calls.csv", "eval.dl_calls"], ["turns.csv", "eval.dl_turns"], ["turns.jsonl", "eval.dl_turns_jsonl"]]
        .map(([f, key]) => el("a", { href: base + f, download: "batch-" + d.id + "-" + f, "data-file": f, text: t(key) }))));

    // per dimension
    const dims = d.dimensions || [];
    box.append(el("h3", { text: t("eval.dimensions") }));
    if (!dims.length) box.append(el("p", { class: "muted", text: t("common.none") }));
    else box.append(el("div", { class: "table-wrap" }, el("table", { id: "batch-dimensions", class: "stack-sm" },
      el("thead", {}, el("tr", {}, th(t("col.dimension")), th(t("col.skill_code")), th(t("col.mean"), "num"), th(t("col.min"), "num"), th(t("col.max"), "num"), th(t("col.n"), "num"))),
      el("tbody", {}, dims.map((x) => el("tr", { "data-dimension": x.dimension },
        td(t("col.dimension"), App.dimName(x.dimension)),
        td(t("col.skill_code"), x.skill_code ? el("span", { class: "skill-code", text: x.skill_code }) : t("common.dash")),
        td(t("col.mean"), App.fmtNum(x.mean), "num cell-" + App.scoreClass(x.mean)),
        td(t("col.min"), App.fmtNum(x.min), "num"),
        td(t("col.max"), App.fmtNum(x.max), "num"),
        td(t("col.n"), App.fmtNum(x.n), "num")))))));

    // per call
    const calls = d.calls || [];
    const dimNames = dims.map((x) => x.dimension);
    for (const c of calls) for (const k of Object.keys(c.dimensions || {})) if (!dimNames.includes(k)) dimNames.push(k);
    box.append(el("h3", { text: t("eval.calls") }));
    if (!calls.length) box.append(el("p", { class: "muted", text: t("common.none") }));
    else {
      box.append(el("div", { class: "table-wrap" }, el("table", { id: "batch-calls", class: "stack-sm" },
        el("thead", {}, el("tr", {}, th(t("col.call")), th(t("col.agent")), th(t("col.turns"), "num"), dimNames.map((n) => th(App.dimName(n), "num")), th(t("col.file")))),
        el("tbody", {}, calls.map((c) => el("tr", { "data-call-id": c.call_id, "data-file": c.file || "" },
          td(t("col.call"), el("code", { text: String(c.call_id) })),
          td(t("col.agent"), c.agent_id || t("common.dash")),
          td(t("col.turns"), App.fmtNum(callTurns(c)), "num"),
          dimNames.map((n) => {
            const v = c.dimensions ? c.dimensions[n] : null;
            return td(App.dimName(n), App.fmtNum(v), "num" + (v === null || v === undefined ? "" : " cell-" + App.scoreClass(v)));
          }),
          td(t("col.file"), c.file || t("common.dash"), "small")))))));
      box.append(el("h3", { text: t("eval.turn_scores") }));
      for (const c of calls) {
        const det = el("details", { "data-call-id": c.call_id, "data-testid": "call-details" },
          el("summary", {}, String(c.call_id), c.agent_id ? el("span", { class: "muted small", text: " · " + c.agent_id }) : null,
            el("span", { class: "muted small", text: " · " + (callResults(c).length === 1 ? t("common.turns_one") : t("common.turns", { n: callResults(c).length })) })));
        // Built lazily: big batches have many turns.
        det.addEventListener("toggle", () => {
          if (!det.open || det.dataset.built) return;
          det.dataset.built = "1";
          for (const r of callResults(c)) {
            det.append(el("div", { class: "turn-result" },
              el("div", { class: "small muted", text: t("eval.turn", { n: r.turn }) }),
              scoreList(r.scores, r.reply)));
          }
        });
        box.append(det);
      }
    }

    // errors
    box.append(el("h3", { text: t("eval.errors") }));
    const errs = d.errors || [];
    if (!errs.length) box.append(el("p", { class: "muted", text: t("eval.no_errors") }));
    else box.append(el("div", { class: "table-wrap" }, el("table", { id: "batch-errors", class: "stack-sm" },
      el("thead", {}, el("tr", {}, th(t("col.file")), th(t("col.line"), "num narrow"), th(t("col.message")))),
      el("tbody", {}, errs.map((e) => el("tr", { "data-line": e.line ? String(e.line) : "", "data-file": e.file || "" },
        td(t("col.file"), e.file || t("common.dash")),
        td(t("col.line"), e.line ? String(e.line) : t("common.dash"), "num narrow"),
        td(t("col.message"), e.message || "")))))));
  }

  async function loadBatches() {
    try { state.batches = await App.get("/api/batches"); state.error = null; }
    catch (e) { if (e.status === 401) return; state.error = e; }
    renderBatches();
    schedulePoll();
  }

  async function loadDetail() {
    const id = state.selected;
    if (!id) return;
    try {
      const d = await App.get("/api/batches/" + encodeURIComponent(id));
      if (state.selected !== id) return;
      state.detail = d; state.detailError = null;
    } catch (e) {
      if (e.status === 401) return;
      state.detailError = e;
    }
    // Keep open <details> open across a poll refresh.
    const open = [...document.querySelectorAll("#batch-detail details[open]")].map((d) => d.dataset.callId);
    renderDetail();
    for (const cid of open) {
      const d = [...document.querySelectorAll("#batch-detail details")].find((x) => x.dataset.callId === cid);
      if (d) d.open = true;
    }
    schedulePoll();
  }

  function select(id) {
    state.selected = id === null || id === undefined ? null : String(id);
    state.detail = null; state.detailError = null;
    if (state.selected && location.hash !== "#batch=" + encodeURIComponent(state.selected)) history.replaceState(null, "", "#batch=" + encodeURIComponent(state.selected));
    renderBatches();
    renderDetail();
    loadDetail();
  }

  // Polls every 2 s while any batch, or the one shown, is still running. The list
  // and the detail are two requests, so either may be the first to see it done.
  function schedulePoll() {
    clearTimeout(pollTimer);
    const detailRunning = !!state.detail && state.detail.status === "running";
    const running = detailRunning || (state.batches || []).some((b) => b.status === "running");
    if (!running) return;
    pollTimer = setTimeout(async () => {
      await loadBatches();
      if (state.detail && state.detail.status === "running") await loadDetail();
    }, 2000);
  }

  async function start() {
    const me = await App.boot();
    if (!App.requireRole(me, ["evaluator", "instructor", "admin"])) return;
    $("batch-form").addEventListener("submit", upload);
    $("batch-file").addEventListener("change", () => { renderFileName(); if (state.upload && state.upload.key === "eval.no_file") { state.upload = null; renderUpload(); } });
    renderFileName();
    window.addEventListener("hashchange", () => { const id = selectedFromHash(); if (id !== state.selected) select(id); });
    I18N.onChange(() => { renderFileName(); renderUpload(); renderBatches(); renderDetail(); });
    renderBatches();
    const initial = selectedFromHash();
    if (initial) select(initial);
    await loadBatches();
    document.body.dataset.ready = "1";
  }

  start().catch((e) => { if (!(e instanceof App.ApiError && e.status === 401)) console.error(e); });
})();
