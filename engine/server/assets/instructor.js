// Instructor workspace: personas, scoring plugins, assignments, class overview and
// recent sessions (links to /session/{id} for review and overrides), and accounts
// (the list for instructors and admins; adding one for admins only).
(function () {
  "use strict";
  const { App, I18N } = window;
  const t = I18N.t;
  const el = App.el;
  const $ = (id) => document.getElementById(id);

  const TABS = ["personas", "plugins", "assignments", "overview", "sessions", "accounts"];
  const state = { personas: null, plugins: null, users: null, assignments: null, overview: null, sessions: null, errors: {}, progressUser: null, progress: null };
  const pluginDrafts = new Map(); // id -> {enabled, config text, msg} kept across re-renders

  function errorBox(err) {
    return el("p", { class: "msg-line error", role: "alert", text: t("common.error", { msg: App.errorText(err) }) });
  }
  function loading() { return el("p", { class: "muted", text: t("common.loading") }); }
  function table(id, headers, rows) {
    const tb = el("tbody", {}, rows);
    return el("div", { class: "table-wrap" }, el("table", { id, class: "stack-sm" },
      el("thead", {}, el("tr", {}, headers.map((h) => (typeof h === "string" ? el("th", { text: h }) : h)))), tb));
  }
  const td = (label, content, cls) => el("td", { "data-label": label, class: cls || "" }, content);

  // ---- tabs ----
  function showTab(name) {
    if (!TABS.includes(name)) name = "personas";
    for (const n of TABS) {
      $("tab-" + n).setAttribute("aria-selected", String(n === name));
      $("tab-" + n).tabIndex = n === name ? 0 : -1;
      $("panel-" + n).hidden = n !== name;
    }
    if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
    // On a phone the tab row scrolls sideways: keep the chosen tab in view.
    const tabs = document.querySelector(".tabs"), cur = $("tab-" + name);
    if (tabs.scrollWidth > tabs.clientWidth) {
      const left = cur.offsetLeft - tabs.offsetLeft;
      if (left < tabs.scrollLeft || left + cur.offsetWidth > tabs.scrollLeft + tabs.clientWidth) tabs.scrollLeft = Math.max(0, left - 16);
    }
  }

  // ---- personas ----
  function renderPersonas() {
    const box = App.clear($("persona-table"));
    if (state.errors.personas) return box.append(errorBox(state.errors.personas));
    if (!state.personas) return box.append(loading());
    if (!state.personas.length) return box.append(el("p", { class: "muted", text: t("common.none") }));
    box.append(table("personas-table",
      [t("col.name"), t("col.id"), t("col.language"), t("col.scenario"), t("col.difficulty"), t("col.updated"), ""],
      state.personas.map((p) => el("tr", { "data-persona-id": p.id },
        td(t("col.name"), el("strong", { text: p.name })),
        td(t("col.id"), el("code", { text: p.id })),
        td(t("col.language"), App.langName(p.language)),
        td(t("col.scenario"), App.scenarioName(p.scenario)),
        td(t("col.difficulty"), String(p.difficulty)),
        td(t("col.updated"), App.fmtDate(p.updated_at), "nowrap"),
        td("", el("a", { class: "btn secondary small", href: "/instructor/personas/" + encodeURIComponent(p.id), "data-testid": "persona-edit", text: t("instructor.edit") }))))));
  }

  // ---- plugins ----
  function renderPlugins() {
    const box = App.clear($("plugin-list"));
    if (state.errors.plugins) return box.append(errorBox(state.errors.plugins));
    if (!state.plugins) return box.append(loading());
    if (!state.plugins.length) return box.append(el("p", { class: "muted", text: t("common.none") }));
    for (const p of state.plugins) {
      if (!pluginDrafts.has(p.id)) pluginDrafts.set(p.id, { enabled: !!p.enabled, text: JSON.stringify(p.config || {}, null, 2), msg: null });
      const draft = pluginDrafts.get(p.id);
      const cid = "plugin-" + p.id.replace(/[^\w-]/g, "_");
      const check = el("input", { type: "checkbox", id: cid + "-enabled", checked: draft.enabled, "data-testid": "plugin-enabled" });
      const area = el("textarea", { id: cid + "-config", class: "mono", spellcheck: "false", "data-testid": "plugin-config", rows: Math.min(14, Math.max(3, draft.text.split("\n").length + 1)), value: draft.text });
      const msg = el("p", { class: "msg-line", role: "status", hidden: true, "data-testid": "plugin-msg" });
      if (draft.msg) App.say(msg, draft.msg.text, draft.msg.kind);
      check.addEventListener("change", () => { draft.enabled = check.checked; });
      area.addEventListener("input", () => { draft.text = area.value; });
      const save = el("button", { type: "button", class: "btn small", "data-testid": "plugin-save", text: t("common.save") });
      save.addEventListener("click", async () => {
        let config;
        try { config = JSON.parse(area.value || "{}"); } catch (e) {
          draft.msg = { text: t("instructor.plugin_bad_json", { msg: e.message }), kind: "error" };
          return App.say(msg, draft.msg.text, "error");
        }
        if (!config || typeof config !== "object" || Array.isArray(config)) {
          draft.msg = { text: t("instructor.plugin_not_object"), kind: "error" };
          return App.say(msg, draft.msg.text, "error");
        }
        save.disabled = true;
        App.say(msg, t("common.saving"), "info");
        try {
          const item = await App.api("PUT", "/api/plugins/" + encodeURIComponent(p.id), { enabled: check.checked, config });
          const i = state.plugins.findIndex((x) => x.id === p.id);
          if (i >= 0 && item && item.id) state.plugins[i] = item;
          pluginDrafts.set(p.id, { enabled: item ? !!item.enabled : check.checked, text: JSON.stringify((item && item.config) || config, null, 2), msg: { text: t("common.saved"), kind: "ok" } });
          renderPlugins();
        } catch (e) {
          draft.msg = { text: t("common.error", { msg: App.errorText(e) }), kind: "error" };
          App.say(msg, draft.msg.text, "error");
          save.disabled = false;
        }
      });
      const dims = (p.dimensions || []).map((d) => el("span", {}, App.dimName(d.name), " ", (d.skill_codes || []).map((c) => el("span", { class: "skill-code", text: c })))) ;
      box.append(el("div", { class: "plugin", "data-plugin-id": p.id, "data-testid": "plugin" },
        el("div", { class: "row spread" },
          el("div", {}, el("strong", { text: p.id }), " ", el("span", { class: "muted small", text: "v" + (p.version || "") })),
          el("label", { for: check.id, class: "row label-inline" }, check, el("span", { text: t("instructor.plugin_enabled") }))),
        p.description ? el("p", { class: "muted small", text: p.description }) : null,
        dims.length ? el("div", { class: "row small" }, dims) : null,
        p.error ? el("p", { class: "msg-line error", text: typeof p.error === "string" ? p.error : (p.error.message || JSON.stringify(p.error)) }) : null,
        el("label", { for: area.id, text: t("instructor.plugin_config") }),
        area, msg,
        el("div", { class: "row" }, save)));
    }
  }

  // ---- assignments ----
  function fillAssignForm() {
    const tsel = $("assign-trainee"), psel = $("assign-persona");
    const keepT = tsel.value, keepP = psel.value;
    App.clear(tsel); App.clear(psel);
    const trainees = (state.users || []).filter((u) => u.role === "trainee");
    if (!trainees.length) tsel.append(el("option", { value: "", text: state.users ? t("instructor.no_trainees") : t("common.loading") }));
    for (const u of trainees) tsel.append(el("option", { value: String(u.id), text: u.name, selected: String(u.id) === keepT }));
    for (const p of state.personas || []) psel.append(el("option", { value: p.id, text: p.name + " (" + p.id + ")", selected: p.id === keepP }));
  }

  function renderAssignments() {
    fillAssignForm();
    const box = App.clear($("assignment-table"));
    if (state.errors.assignments) return box.append(errorBox(state.errors.assignments));
    if (!state.assignments) return box.append(loading());
    if (!state.assignments.length) return box.append(el("p", { class: "muted", text: t("common.none") }));
    box.append(table("assignments-table",
      [t("col.trainee"), t("col.persona"), t("col.mode"), t("col.due"), t("col.status"), ""],
      state.assignments.map((a) => {
        const del = el("button", { type: "button", class: "btn danger small", "data-testid": "assignment-delete", text: t("common.delete") });
        del.addEventListener("click", async () => {
          if (!confirm(t("instructor.assign_confirm_delete"))) return;
          del.disabled = true;
          try {
            await App.api("DELETE", "/api/assignments/" + encodeURIComponent(a.id));
            state.assignments = state.assignments.filter((x) => x.id !== a.id);
            renderAssignments();
          } catch (e) { App.say($("assign-msg"), t("common.error", { msg: App.errorText(e) }), "error"); del.disabled = false; }
        });
        return el("tr", { "data-assignment-id": a.id },
          td(t("col.trainee"), a.user_name || String(a.user_id)),
          td(t("col.persona"), a.persona_name || a.persona_id),
          td(t("col.mode"), App.badge(App.modeName(a.mode), a.mode === "exam" ? "exam" : "")),
          td(t("col.due"), a.due || t("common.dash")),
          td(t("col.status"), [App.badge(App.statusName(a.status), a.status),
            a.session_id ? el("a", { href: "/session/" + encodeURIComponent(a.session_id), class: "small review-link", text: t("instructor.review") }) : null]),
          td("", del));
      })));
  }

  async function submitAssignment(ev) {
    ev.preventDefault();
    const msg = $("assign-msg");
    const user = $("assign-trainee").value, persona = $("assign-persona").value;
    if (!user || !persona) return App.say(msg, t("common.error", { msg: t("instructor.assign_trainee") + " / " + t("instructor.assign_persona") }), "error");
    const body = { user_id: /^\d+$/.test(user) ? Number(user) : user, persona_id: persona, mode: $("assign-mode").value };
    if ($("assign-due").value) body.due = $("assign-due").value;
    $("assign-submit").disabled = true;
    try {
      await App.api("POST", "/api/assignments", body);
      App.say(msg, t("instructor.assign_created"), "ok");
      state.assignments = await App.get("/api/assignments");
      renderAssignments();
    } catch (e) {
      App.say(msg, t("common.error", { msg: App.errorText(e) }), "error");
    } finally { $("assign-submit").disabled = false; }
  }

  // ---- overview ----
  function renderOverview() {
    const box = App.clear($("overview"));
    if (state.errors.overview) return box.append(errorBox(state.errors.overview));
    if (!state.overview) return box.append(loading());
    const dims = state.overview.dimensions || [];
    const rows = state.overview.trainees || [];
    if (!rows.length) return box.append(el("p", { class: "muted", text: t("common.none") }));
    box.append(table("overview-table",
      [t("col.trainee"), el("th", { class: "num", text: t("col.sessions") }), el("th", { class: "num", text: t("col.ended") }),
        el("th", { class: "num", text: t("col.mean_total") })].concat(dims.map((d) => el("th", { class: "num", text: App.dimName(d) }))).concat([""]),
      rows.map((r) => {
        const show = el("button", { type: "button", class: "btn ghost small", text: t("instructor.show_progress") });
        show.addEventListener("click", () => loadProgress(r));
        return el("tr", { "data-user-id": r.user_id },
          td(t("col.trainee"), el("strong", { text: r.name })),
          td(t("col.sessions"), String(r.sessions ?? ""), "num"),
          td(t("col.ended"), String(r.ended ?? ""), "num"),
          td(t("col.mean_total"), App.fmtNum(r.mean_total), "num"),
          dims.map((d) => {
            const v = r.dimensions ? r.dimensions[d] : null;
            return td(App.dimName(d), App.fmtNum(v), "num" + (v === null || v === undefined ? "" : " cell-" + App.scoreClass(v)));
          }),
          td("", show));
      })));
    renderProgress();
  }

  async function loadProgress(r) {
    state.progressUser = r;
    state.progress = null;
    renderProgress();
    try { state.progress = await App.get("/api/progress?user_id=" + encodeURIComponent(r.user_id)); }
    catch (e) { state.progress = { error: e }; }
    renderProgress();
  }

  function renderProgress() {
    const wrap = $("trainee-progress");
    if (!state.progressUser) { wrap.hidden = true; return; }
    wrap.hidden = false;
    $("trainee-progress-title").textContent = t("instructor.progress_of", { name: state.progressUser.name });
    const box = App.clear($("trainee-progress-chart"));
    if (!state.progress) return box.append(loading());
    if (state.progress.error) return box.append(errorBox(state.progress.error));
    App.growthChart(box, state.progress.points || [], t("common.none"));
  }

  // ---- sessions ----
  function renderSessions() {
    const box = App.clear($("session-table"));
    if (state.errors.sessions) return box.append(errorBox(state.errors.sessions));
    if (!state.sessions) return box.append(loading());
    if (!state.sessions.length) return box.append(el("p", { class: "muted", text: t("common.none") }));
    const rows = [...state.sessions].sort((a, b) => (App.toDate(b.created_at) || 0) - (App.toDate(a.created_at) || 0)).slice(0, 200);
    box.append(table("sessions-table",
      [t("col.date"), t("col.trainee"), t("col.persona"), t("col.mode"), t("col.status"), el("th", { class: "num", text: t("col.total") }), t("col.tier"), t("col.outcome"), ""],
      rows.map((s) => el("tr", { "data-session-id": s.id },
        td(t("col.date"), App.fmtDate(s.created_at), "nowrap"),
        td(t("col.trainee"), s.user_name || String(s.user_id)),
        td(t("col.persona"), s.persona_name || s.persona_id || t("session.preview")),
        td(t("col.mode"), App.badge(App.modeName(s.mode), s.mode === "exam" ? "exam" : "")),
        td(t("col.status"), App.badge(App.statusName(s.status), s.status)),
        td(t("col.total"), s.status === "ended" ? App.fmtNum(s.total) : t("common.dash"), "num"),
        td(t("col.tier"), s.status === "ended" ? App.tierBadge(s.tier) : t("common.dash")),
        td(t("col.outcome"), App.outcomeName(s.outcome)),
        td("", el("a", { href: "/session/" + encodeURIComponent(s.id), class: "btn secondary small", "data-testid": "session-review", text: t("instructor.review") }))))));
  }

  // ---- accounts ----
  const isAdmin = () => !!App.me && App.me.role === "admin";
  const roleName = (r) => I18N.tOr("role." + r, r);

  function renderAccounts() {
    $("account-add").hidden = !isAdmin();
    const box = App.clear($("account-table"));
    if (state.errors.users) return box.append(errorBox(state.errors.users));
    if (!state.users) return box.append(loading());
    if (!isAdmin()) box.append(el("p", { class: "muted small", text: t("accounts.admin_only") }));
    if (!state.users.length) return box.append(el("p", { class: "muted", text: t("common.none") }));
    box.append(el("p", { class: "muted small", text: t("accounts.count", { n: state.users.length }) }));
    box.append(table("accounts-table", [t("col.name"), t("col.role"), el("th", { class: "num narrow", text: t("col.id") })],
      state.users.map((u) => el("tr", { "data-user-id": u.id, "data-user-name": u.name },
        td(t("col.name"), [el("strong", { text: u.name }),
          App.me && String(App.me.id) === String(u.id) ? el("span", { class: "muted small", text: " (" + t("accounts.you") + ")" }) : null]),
        td(t("col.role"), App.badge(roleName(u.role), "role-" + u.role)),
        td(t("col.id"), String(u.id), "num narrow")))));
  }

  // The server's 409/422 answers, said in the UI language.
  function accountError(e, name) {
    if (e instanceof App.ApiError) {
      if (e.status === 409) return t("accounts.err_taken", { name });
      if (e.status === 422 && e.data.field === "password") return t("accounts.err_password");
      if (e.status === 422 && e.data.field === "name") return t("accounts.err_name");
      if (e.status === 422 && e.data.field === "role") return t("accounts.err_role");
    }
    return t("common.error", { msg: App.errorText(e) });
  }

  async function submitAccount(ev) {
    ev.preventDefault();
    const msg = $("account-msg");
    const name = $("account-name").value.trim(), role = $("account-role").value, password = $("account-password").value;
    if (!name) { App.say(msg, t("accounts.err_name"), "error"); $("account-name").focus(); return; }
    $("account-submit").disabled = true;
    App.say(msg, t("accounts.adding"), "info");
    try {
      const u = await App.api("POST", "/api/users", { name, role, password });
      App.say(msg, t("accounts.added", { name: u.name, role: roleName(u.role) }), "ok");
      $("account-name").value = "";
      $("account-password").value = "";
      try { state.users = await App.get("/api/users"); state.errors.users = null; }
      catch (e) { if (state.users && !state.users.some((x) => x.id === u.id)) state.users.push(u); }
      renderAccounts();
      fillAssignForm();
    } catch (e) {
      if (e instanceof App.ApiError && e.status === 401) return;
      App.say(msg, accountError(e, name), "error");
      (e instanceof App.ApiError && e.status === 422 && e.data.field === "password" ? $("account-password") : $("account-name")).focus();
    } finally { $("account-submit").disabled = false; }
  }

  function renderAll() { renderPersonas(); renderPlugins(); renderAssignments(); renderOverview(); renderSessions(); renderAccounts(); }

  async function load(key, path, after) {
    try { state[key] = await App.get(path); state.errors[key] = null; }
    catch (e) { if (e.status === 401) return; state.errors[key] = e; }
    after();
  }

  async function start() {
    const me = await App.boot();
    if (!App.requireRole(me, ["instructor", "admin"])) return;
    for (const n of TABS) $("tab-" + n).addEventListener("click", () => showTab(n));
    document.querySelector(".tabs").addEventListener("keydown", (ev) => {
      if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
      const cur = TABS.findIndex((n) => $("tab-" + n).getAttribute("aria-selected") === "true");
      const next = TABS[(cur + (ev.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
      showTab(next); $("tab-" + next).focus();
    });
    window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
    showTab(location.hash.slice(1));
    $("assign-form").addEventListener("submit", submitAssignment);
    $("account-form").addEventListener("submit", submitAccount);
    renderAll();
    I18N.onChange(renderAll);
    await Promise.all([
      load("personas", "/api/personas", () => { renderPersonas(); fillAssignForm(); }),
      load("plugins", "/api/plugins", renderPlugins),
      load("users", "/api/users", () => { fillAssignForm(); renderAccounts(); }),
      load("assignments", "/api/assignments", renderAssignments),
      load("overview", "/api/overview", renderOverview),
      load("sessions", "/api/sessions", renderSessions)
    ]);
    document.body.dataset.ready = "1";
  }

  start().catch((e) => { if (!(e instanceof App.ApiError && e.status === 401)) console.error(e); });
})();
