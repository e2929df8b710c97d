// Trainee home: persona picker, assignments, history and the growth chart.
(function () {
  "use strict";
  const { App, I18N } = window;
  const t = I18N.t;
  const el = App.el;

  const state = { personas: [], assignments: [], sessions: [], progress: null, selected: null, errors: {} };

  const $ = (id) => document.getElementById(id);

  function errorBox(err) {
    return el("p", { class: "msg-line error", role: "alert", text: t("common.error", { msg: App.errorText(err) }) });
  }

  function renderPersonas() {
    const box = $("persona-list");
    App.clear(box);
    if (state.errors.personas) { box.append(errorBox(state.errors.personas)); return; }
    const sc = $("filter-scenario").value, df = $("filter-difficulty").value, lg = $("filter-language").value;
    const list = state.personas.filter((p) =>
      (!sc || p.scenario === sc) && (!df || String(p.difficulty) === df) && (!lg || p.language === lg));
    if (!list.length) { box.append(el("p", { class: "muted", text: t("home.no_personas") })); return; }
    if (state.selected && !list.some((p) => p.id === state.selected)) state.selected = null;
    for (const p of list) {
      const id = "persona-" + p.id;
      const input = el("input", { type: "radio", name: "persona", id, value: p.id, checked: state.selected === p.id, "data-testid": "persona-option" });
      input.addEventListener("change", () => { state.selected = p.id; App.say($("start-error"), ""); });
      box.append(el("label", { class: "persona-card", for: id },
        input,
        el("span", {},
          el("span", { class: "pname", text: p.name }),
          el("span", { class: "psum", text: p.summary || "" }),
          el("span", { class: "pmeta" },
            App.badge(App.scenarioName(p.scenario)),
            App.badge(App.langName(p.language)),
            App.badge(t("difficulty.n", { n: p.difficulty })),
            (p.skills || []).map((s) => el("span", { class: "skill-code", text: s }))))));
    }
  }

  async function startSession(body, button) {
    const err = $("start-error");
    App.say(err, "");
    button.disabled = true;
    const label = button.textContent;
    button.textContent = t("home.starting");
    try {
      const s = await App.api("POST", "/api/sessions", body);
      location.href = "/session/" + encodeURIComponent(s.id);
    } catch (e) {
      App.say(err, t("common.error", { msg: App.errorText(e) }), "error");
      button.disabled = false;
      button.textContent = label;
    }
  }

  function renderAssignments() {
    const box = $("assignments");
    App.clear(box);
    if (state.errors.assignments) { box.append(errorBox(state.errors.assignments)); return; }
    if (!state.assignments.length) { box.append(el("p", { class: "muted", text: t("home.no_assignments") })); return; }
    const ul = el("ul", { class: "list-plain" });
    for (const a of state.assignments) {
      const li = el("li", { "data-testid": "assignment", "data-assignment-id": a.id });
      const actions = el("div", { class: "row" });
      if (a.status === "done" && a.session_id) {
        actions.append(el("a", { class: "btn secondary small", href: "/session/" + encodeURIComponent(a.session_id), text: t("home.replay") }));
      } else {
        const b = el("button", { type: "button", class: "btn small", "data-testid": "assignment-start", text: t("home.start") });
        b.addEventListener("click", () => startSession({ persona_id: a.persona_id, mode: a.mode, assignment_id: a.id }, b));
        actions.append(b);
      }
      li.append(
        el("div", { class: "row spread" },
          el("strong", { text: a.persona_name || a.persona_id }),
          App.badge(App.statusName(a.status), a.status)),
        el("div", { class: "row small muted" },
          App.badge(App.modeName(a.mode), a.mode === "exam" ? "exam" : ""),
          el("span", { text: a.due ? t("home.due", { date: a.due }) : t("home.no_due") })),
        actions);
      ul.append(li);
    }
    box.append(ul);
  }

  function renderHistory() {
    const box = $("history");
    App.clear(box);
    if (state.errors.sessions) { box.append(errorBox(state.errors.sessions)); return; }
    if (!state.sessions.length) { box.append(el("p", { class: "muted", text: t("home.no_history") })); return; }
    const rows = [...state.sessions].sort((a, b) => (App.toDate(b.created_at) || 0) - (App.toDate(a.created_at) || 0));
    const cols = ["col.date", "col.persona", "col.mode", "col.status", "col.total", "col.tier", "col.outcome", ""];
    const table = el("table", { class: "stack-sm", id: "history-table" },
      el("thead", {}, el("tr", {}, cols.map((c, i) => el("th", { class: i === 4 ? "num" : "", text: c ? t(c) : "" })))));
    const tb = el("tbody");
    for (const s of rows) {
      const ended = s.status === "ended";
      tb.append(el("tr", { "data-session-id": s.id },
        el("td", { class: "nowrap", "data-label": t("col.date"), text: App.fmtDate(s.created_at) }),
        el("td", { "data-label": t("col.persona"), text: s.persona_name || s.persona_id || "" }),
        el("td", { "data-label": t("col.mode") }, App.badge(App.modeName(s.mode), s.mode === "exam" ? "exam" : "")),
        el("td", { "data-label": t("col.status") }, App.badge(App.statusName(s.status), s.status)),
        el("td", { class: "num", "data-label": t("col.total"), text: ended ? App.fmtNum(s.total) : t("common.dash") }),
        el("td", { "data-label": t("col.tier") }, ended ? App.tierBadge(s.tier) : t("common.dash")),
        el("td", { "data-label": t("col.outcome"), text: App.outcomeName(s.outcome) }),
        el("td", { class: "nowrap" }, el("a", { href: "/session/" + encodeURIComponent(s.id), "data-testid": "replay-link", text: ended ? t("home.replay") : t("home.continue") }))));
    }
    table.append(tb);
    box.append(el("div", { class: "table-wrap" }, table));
  }

  function renderGrowth() {
    const box = $("growth-chart");
    if (state.errors.progress) { App.clear(box).append(errorBox(state.errors.progress)); return; }
    if (!state.progress) return;
    App.growthChart(box, state.progress.points || []);
  }

  function renderAll() { renderPersonas(); renderAssignments(); renderHistory(); renderGrowth(); }

  async function load(key, path, assign) {
    try { assign(await App.get(path)); state.errors[key] = null; } catch (e) { if (e.status !== 401) state.errors[key] = e; }
  }

  async function start() {
    await App.boot();
    ["filter-scenario", "filter-difficulty", "filter-language"].forEach((id) => $(id).addEventListener("change", renderPersonas));
    $("start-session").addEventListener("click", (ev) => {
      const chosen = document.querySelector('#persona-list input[name="persona"]:checked');
      if (!chosen) { App.say($("start-error"), t("home.pick_first"), "error"); return; }
      const mode = document.querySelector('input[name="mode"]:checked').value;
      startSession({ persona_id: chosen.value, mode }, ev.currentTarget);
    });
    I18N.onChange(renderAll);
    await Promise.all([
      load("personas", "/api/personas", (d) => { state.personas = d || []; }).then(renderPersonas),
      load("assignments", "/api/assignments", (d) => { state.assignments = d || []; }).then(renderAssignments),
      load("sessions", "/api/sessions", (d) => { state.sessions = d || []; }).then(renderHistory),
      load("progress", "/api/progress", (d) => { state.progress = d || { points: [] }; }).then(renderGrowth)
    ]);
    document.body.dataset.ready = "1";
  }

  start().catch((e) => { if (!(e instanceof App.ApiError && e.status === 401)) console.error(e); });
})();
