// Persona editor: TOML textarea with a line-number gutter, live validation via
// POST /api/personas/check (debounced), Save (PUT, or POST for a new persona) and
// "try it" (a practice session with the unsaved text).
(function () {
  "use strict";
  const { App, I18N } = window;
  const t = I18N.t;
  const el = App.el;
  const $ = (id) => document.getElementById(id);

  const pid = App.pathId("/instructor/personas/");
  const isNew = !pid || pid === "new";
  let errors = [];          // [{line, field, message}] currently shown
  let checkResult = null;   // last check {ok, persona} / {ok:false, errors}
  let timer = null;
  let seq = 0;
  let saveMsg = null;       // {key, vars, kind} or {text, kind}

  const TEMPLATE = [
    "# A new customer persona: see personas/README.md for every field.",
    'id = "my-persona-en"',
    'name = "Alex Doe"',
    'language = "en"',
    'scenario = "inbound"',
    'skills = ["4.2.1"]',
    "difficulty = 2",
    'summary = "One line that trainees see in the picker"',
    'profile = "age, job, temperament"',
    'backstory = "What happened before the call"',
    'goal = "What would satisfy this customer"',
    'opening = "Hello, I am calling about my bill."',
    'style = "How the customer talks"',
    "max_turns = 8",
    "",
    "[mood.patience]",
    "start = 60",
    "",
    "[end]",
    'satisfied = "patience >= 80"',
    'hang_up = "patience <= 10"',
    ""
  ].join("\n");

  function renderGutter() {
    const ta = $("persona-toml");
    const gutter = App.clear($("persona-gutter"));
    const count = ta.value.split("\n").length;
    const bad = new Map();
    for (const e of errors) {
      const n = Number(e.line);
      if (n > 0) bad.set(n, (bad.has(n) ? bad.get(n) + "; " : "") + (e.field ? e.field + ": " : "") + e.message);
    }
    const frag = document.createDocumentFragment();
    for (let i = 1; i <= Math.max(count, 1); i++) {
      const span = el("span", { "data-line": i, text: String(i) });
      if (bad.has(i)) { span.className = "err"; span.title = bad.get(i); }
      frag.append(span);
    }
    gutter.append(frag);
    gutter.scrollTop = ta.scrollTop;
  }

  function goToLine(n) {
    const ta = $("persona-toml");
    const lines = ta.value.split("\n");
    if (!(n > 0) || n > lines.length) { ta.focus(); return; }
    let start = 0;
    for (let i = 0; i < n - 1; i++) start += lines[i].length + 1;
    ta.focus();
    ta.setSelectionRange(start, start + lines[n - 1].length);
    const lh = parseFloat(getComputedStyle(ta).lineHeight) || 19;
    ta.scrollTop = Math.max(0, (n - 3) * lh);
    renderGutter();
  }

  function renderErrors() {
    const ul = App.clear($("persona-errors"));
    for (const e of errors) {
      const n = Number(e.line);
      const loc = n > 0 ? t("editor.line", { n }) : "";
      const li = el("li", { "data-line": n > 0 ? n : "", tabindex: "0", "data-testid": "persona-error" },
        loc ? el("span", { class: "loc", text: loc }) : null,
        loc ? ": " : null,
        e.field ? el("strong", { text: e.field }) : null,
        e.field ? ": " : null,
        e.message || "");
      // Machine-readable copy for tests and screen readers: "line N: field: message".
      li.setAttribute("aria-label", [n > 0 ? "line " + n : null, e.field || null, e.message || ""].filter(Boolean).join(": "));
      const go = () => goToLine(n);
      li.addEventListener("click", go);
      li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") go(); });
      ul.append(li);
    }
    renderGutter();
  }

  function renderCheck() {
    const box = $("persona-check");
    if (!checkResult) { App.say(box, ""); return; }
    if (checkResult.pending) { App.say(box, t("editor.checking"), "info"); return; }
    if (checkResult.failed) { App.say(box, t("common.error", { msg: App.errorText(checkResult.failed) }), "error"); return; }
    if (checkResult.ok) {
      const p = checkResult.persona || {};
      App.say(box, t("editor.valid", { name: p.name || p.id || "", language: App.langName(p.language), scenario: App.scenarioName(p.scenario), difficulty: p.difficulty }), "ok");
    } else {
      App.say(box, t("editor.problems", { n: (checkResult.errors || []).length }), "error");
    }
  }

  function renderSaveMsg() {
    const box = $("persona-save-status");
    if (!saveMsg) { App.say(box, ""); return; }
    App.say(box, saveMsg.key ? t(saveMsg.key, saveMsg.vars) : saveMsg.text, saveMsg.kind);
  }

  async function check() {
    const my = ++seq;
    checkResult = { pending: true };
    renderCheck();
    try {
      const r = await App.api("POST", "/api/personas/check", { toml: $("persona-toml").value });
      if (my !== seq) return;
      checkResult = r;
      errors = r.ok ? [] : (r.errors || []);
    } catch (e) {
      if (my !== seq) return;
      checkResult = { failed: e };
    }
    renderCheck();
    renderErrors();
  }

  function scheduleCheck() {
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  }

  function errorsFrom(e) {
    if (e instanceof App.ApiError && Array.isArray(e.data.errors)) return e.data.errors;
    if (e instanceof App.ApiError && e.data.field) return [{ line: e.data.line || null, field: e.data.field, message: e.data.error }];
    return null;
  }

  async function save() {
    const b = $("persona-save");
    clearTimeout(timer);
    seq++; // any check in flight is stale now
    b.disabled = true;
    saveMsg = { key: "common.saving", kind: "info" };
    renderSaveMsg();
    const toml = $("persona-toml").value;
    try {
      if (isNew) {
        const item = await App.api("POST", "/api/personas", { toml });
        saveMsg = { key: "editor.created", kind: "ok" };
        errors = [];
        renderErrors(); renderSaveMsg();
        history.replaceState(null, "", "/instructor/personas/" + encodeURIComponent(item.id));
        location.reload();
        return;
      }
      const item = await App.api("PUT", "/api/personas/" + encodeURIComponent(pid), { toml });
      saveMsg = { key: "editor.saved", kind: "ok" };
      errors = [];
      checkResult = { ok: true, persona: item };
    } catch (e) {
      const list = errorsFrom(e);
      if (list) errors = list;
      checkResult = list ? { ok: false, errors: list } : checkResult;
      saveMsg = { key: "editor.not_saved", vars: { msg: App.errorText(e) }, kind: "error" };
    } finally {
      b.disabled = false;
    }
    renderCheck(); renderErrors(); renderSaveMsg();
  }

  async function tryIt() {
    const b = $("persona-try");
    b.disabled = true;
    // Open the tab now (inside the click) so popup blockers allow it; point it at the session later.
    let win = null;
    try { win = window.open("about:blank", "_blank"); } catch (e) { win = null; }
    try {
      const s = await App.api("POST", "/api/sessions", { persona_toml: $("persona-toml").value, mode: "practice" });
      const url = "/session/" + encodeURIComponent(s.id);
      if (win && !win.closed) win.location.href = url; else location.href = url;
    } catch (e) {
      if (win) win.close();
      const list = errorsFrom(e);
      if (list) { errors = list; checkResult = { ok: false, errors: list }; renderCheck(); renderErrors(); }
      saveMsg = { text: t("common.error", { msg: App.errorText(e) }), kind: "error" };
      renderSaveMsg();
    } finally {
      b.disabled = false;
    }
  }

  function retitle() {
    $("editor-title").textContent = isNew ? t("editor.new_title") : t("editor.title") + " · " + pid;
    $("persona-save").textContent = isNew ? t("editor.create") : t("editor.save");
    document.title = $("editor-title").textContent;
  }

  async function start() {
    const me = await App.boot();
    if (!App.requireRole(me, ["instructor", "admin"])) return;
    const ta = $("persona-toml");
    retitle();
    I18N.onChange(() => { retitle(); renderErrors(); renderCheck(); renderSaveMsg(); });
    ta.addEventListener("input", () => { renderGutter(); scheduleCheck(); });
    ta.addEventListener("scroll", () => { $("persona-gutter").scrollTop = ta.scrollTop; });
    ta.addEventListener("keydown", (ev) => {
      if (ev.key === "s" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); save(); }
    });
    $("persona-save").addEventListener("click", save);
    $("persona-try").addEventListener("click", tryIt);
    if (isNew) {
      ta.value = TEMPLATE;
    } else {
      try {
        const p = await App.get("/api/personas/" + encodeURIComponent(pid));
        ta.value = p.toml || "";
      } catch (e) {
        if (e.status === 401) return;
        App.say($("persona-load-error"), e.status === 404 ? t("common.error", { msg: "404 " + pid }) : t("common.error", { msg: App.errorText(e) }), "error");
      }
    }
    renderGutter();
    await check();
    document.body.dataset.ready = "1";
  }

  start().catch((e) => { if (!(e instanceof App.ApiError && e.status === 401)) console.error(e); });
})();
