// Chat and replay of one role-play session: transcript, streamed customer lines,
// mood meters, per-turn scores with highlighted evidence, the scorecard and
// (for instructors/admins) score overrides.
(function () {
  "use strict";
  const { App, I18N } = window;
  const t = I18N.t;
  const el = App.el;
  const $ = (id) => document.getElementById(id);

  const sid = App.pathId("/session/");
  let me = null;
  let S = null;          // the session view
  let busy = false;      // a turn is streaming or the session is ending
  let live = null;       // {reply, plugins, update, text} of the turn in flight
  // Moods where a rise is bad news (the delta is coloured the other way round).
  const NEGATIVE_MOODS = ["anger", "frustration", "confusion", "impatience"];
  const openForms = new Set(); // "turn:dimension" override forms left open across re-renders

  const isStaff = () => me && (me.role === "instructor" || me.role === "admin");
  const isOwner = () => me && S && String(me.id) === String(S.user_id);
  const ended = () => S && S.status === "ended";
  // Turns are numbered from 1 on screen; the API's `turn` (overrides) counts from 0.
  const turnNo = (turn, i) => i + 1;

  // ---- pieces --------------------------------------------------------------------
  function customerMsg(line, extra) {
    const who = el("div", { class: "who" }, el("span", { text: t("session.customer") }));
    if (line && line.source && line.source !== "model") {
      who.append(el("span", { class: "badge", text: I18N.tOr("session.source." + line.source, line.source) }));
    }
    return el("div", Object.assign({ class: "msg customer", "data-testid": "customer-line" }, extra || {}),
      who, el("div", { class: "bubble", text: (line && line.text) || "" }));
  }

  function allScores(plugins) {
    const out = [];
    for (const p of plugins || []) for (const s of p.scores || []) out.push(s);
    return out;
  }

  function overridesFor(n, dimension) {
    return (S.overrides || []).filter((o) => Number(o.turn) === n - 1 && o.dimension === dimension);
  }

  function scoreBox(score, n) {
    const ovs = overridesFor(n, score.dimension);
    const last = ovs.length ? ovs[ovs.length - 1] : null;
    const value = last ? last.value : score.value;
    const level = last ? last.level : score.level;
    const valueEl = el("span", { class: "score-value " + App.scoreClass(value), "data-testid": "score-value" });
    if (last) valueEl.append(el("s", { class: "muted", text: App.fmtNum(score.value, 0) }), " ");
    valueEl.append(App.fmtNum(value, 0));
    const box = el("div", { class: "score", "data-testid": "score", "data-dimension": score.dimension },
      el("div", { class: "score-top" },
        el("span", { class: "score-name", text: App.dimName(score.dimension) }),
        score.skill_code ? el("span", { class: "skill-code", text: score.skill_code }) : null,
        el("span", { class: "badge level-" + level, title: t("level.label", { level }), text: t("level.label", { level }) + " · " + App.levelName(level) }),
        valueEl),
      el("div", { class: "bar", role: "img", "aria-label": App.dimName(score.dimension) + " " + App.fmtNum(value, 0) + "/100" },
        el("span", { class: App.scoreClass(value), style: "width:" + Math.max(0, Math.min(100, Number(value) || 0)) + "%" })),
      score.tip ? el("div", { class: "score-tip", "data-testid": "score-tip" }, el("span", { class: "tip-label", text: App.label("session.tip") }), score.tip) : null);
    for (const o of ovs) {
      box.append(el("div", { class: "override-note", "data-testid": "override-note", text: t("override.shown", {
        by: o.by_user || "", from: App.fmtNum(o.original_value, 0), to: App.fmtNum(o.value, 0), level: o.level, reason: o.reason || ""
      }) }));
    }
    if (isStaff()) box.append(overrideControl(score, n, value, level));
    return box;
  }

  function overrideControl(score, n, value, level) {
    const key = n + ":" + score.dimension;
    const wrap = el("div");
    const toggle = el("button", { type: "button", class: "btn ghost small", "data-testid": "override-open", "aria-expanded": openForms.has(key) ? "true" : "false", text: t("override.button") });
    const uid = "ov-" + n + "-" + score.dimension.replace(/[^\w-]/g, "_");
    const valIn = el("input", { type: "number", min: "0", max: "100", step: "1", id: uid + "-value", value: String(Math.round(Number(value) || 0)), "data-testid": "override-value" });
    const lvlIn = el("select", { id: uid + "-level", "data-testid": "override-level" },
      ["0", "1", "2"].map((l) => el("option", { value: l, selected: String(level) === l, text: l + " · " + App.levelName(l) })));
    const reasonIn = el("input", { type: "text", id: uid + "-reason", "data-testid": "override-reason" });
    const msg = el("p", { class: "msg-line error wide", role: "alert", hidden: true });
    const submit = el("button", { type: "submit", class: "btn small", "data-testid": "override-submit", text: t("override.submit") });
    const form = el("form", { class: "override-form", "data-testid": "override-form", hidden: !openForms.has(key), "aria-label": t("override.title") },
      el("div", { class: "wide small muted" }, t("override.title") + ": ", el("strong", { text: App.dimName(score.dimension) })),
      el("div", {}, el("label", { for: valIn.id, text: t("override.value") }), valIn),
      el("div", {}, el("label", { for: lvlIn.id, text: t("override.level") }), lvlIn),
      el("div", { class: "wide" }, el("label", { for: reasonIn.id, text: t("override.reason") }), reasonIn),
      msg,
      el("div", { class: "wide" }, submit));
    toggle.addEventListener("click", () => {
      form.hidden = !form.hidden;
      toggle.setAttribute("aria-expanded", String(!form.hidden));
      if (form.hidden) openForms.delete(key); else { openForms.add(key); valIn.focus(); }
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const v = Number(valIn.value);
      if (valIn.value === "" || !(v >= 0 && v <= 100)) { App.say(msg, t("override.bad_value"), "error"); return; }
      if (!reasonIn.value.trim()) { App.say(msg, t("override.need_reason"), "error"); return; }
      submit.disabled = true;
      try {
        await App.api("POST", "/api/sessions/" + encodeURIComponent(sid) + "/overrides",
          { turn: n - 1, dimension: score.dimension, value: v, level: lvlIn.value, reason: reasonIn.value.trim() });
        openForms.delete(key);
        await reload();
      } catch (e) {
        App.say(msg, t("common.error", { msg: App.errorText(e) }), "error");
        submit.disabled = false;
      }
    });
    wrap.append(toggle, form);
    return wrap;
  }

  function scoresBlock(turn, n) {
    const block = el("div", { class: "scores", "data-testid": "turn-scores", "data-turn": n });
    for (const p of turn.plugins || []) {
      if (p.error) {
        block.append(el("div", { class: "msg-line error small", text: t("session.plugin_error", { plugin: p.plugin, msg: p.error.message || p.error.kind || "" }) }));
      }
      for (const s of p.scores || []) block.append(scoreBox(s, n));
    }
    return block;
  }

  function traineeMsg(turn, n, withScores) {
    const scores = withScores ? allScores(turn.plugins) : [];
    const marks = [];
    for (const s of scores) for (const sp of s.evidence || []) marks.push({ span: sp, label: App.dimName(s.dimension), cls: "ev-" + s.dimension });
    const bubble = el("div", { class: "bubble", "data-testid": "reply-text" }, App.highlight(turn.reply || "", marks));
    const msg = el("div", { class: "msg trainee", "data-testid": "trainee-line", "data-turn": n },
      el("div", { class: "who" }, el("span", { text: isOwner() ? t("session.you") : (S.user_name || t("session.trainee")) })),
      bubble);
    if (withScores && (turn.plugins || []).length) msg.append(scoresBlock(turn, n));
    return msg;
  }

  // ---- whole-page render -------------------------------------------------------------
  function renderHead() {
    $("session-title").textContent = S.persona_name || S.persona_id || t("session.preview");
    const meta = App.clear($("session-meta"));
    meta.append(App.badge(App.modeName(S.mode), S.mode === "exam" ? "exam" : ""));
    if (S.language) meta.append(App.badge(App.langName(S.language)));
    if (!isOwner() && S.user_name) meta.append(el("span", { class: "muted", text: S.user_name }));
    if (S.created_at) meta.append(el("span", { class: "muted", text: App.fmtDate(S.created_at) }));
    const st = App.clear($("session-status"));
    const n = (S.turns || []).length;
    if (S.max_turns) st.append(el("span", { class: "muted small", id: "turn-counter", text: t("session.turn_of", { n, max: S.max_turns }) }));
    st.append(App.badge(App.statusName(S.status), S.status));
    if (S.outcome) st.append(App.badge(App.outcomeName(S.outcome), "outcome"));
    document.title = t("session.title") + " · " + $("session-title").textContent;
  }

  function renderTranscript() {
    const box = App.clear($("transcript"));
    const show = !S.feedback_hidden;
    if (S.opening) box.append(customerMsg(S.opening));
    (S.turns || []).forEach((turn, i) => {
      const n = turnNo(turn, i);
      box.append(traineeMsg(turn, n, show));
      if (turn.customer && turn.customer.text) box.append(customerMsg(turn.customer));
    });
  }

  function moodDelta(name) {
    const turns = S.turns || [];
    const last = live ? live.update : (turns.length ? turns[turns.length - 1].update : null);
    if (!last || !last.mood_changes) return null;
    const c = last.mood_changes[name];
    if (typeof c === "number") return c;
    if (Array.isArray(c) && c.length === 2) return c[1] - c[0];
    return null;
  }

  function renderMoods() {
    const panel = $("mood-panel");
    const moods = (live && live.update && live.update.moods && Object.keys(live.update.moods).length) ? live.update.moods : S.moods;
    const names = Object.keys(moods || {});
    panel.hidden = !!S.feedback_hidden || !names.length;
    $("exam-note").hidden = !S.feedback_hidden;
    const box = App.clear($("mood-meters"));
    for (const name of names) {
      const v = Math.max(0, Math.min(100, Number(moods[name]) || 0));
      const d = moodDelta(name);
      const head = el("div", { class: "meter-head" },
        el("span", { id: "mood-label-" + name, text: App.moodName(name) }),
        el("span", {}, el("span", { class: "meter-value", text: App.fmtNum(moods[name], 0) }),
          d ? el("span", { class: "delta " + ((d > 0) !== NEGATIVE_MOODS.includes(name) ? "up" : "down"), text: (d > 0 ? "▲ +" : "▼ ") + App.fmtNum(d, 0) }) : null));
      box.append(el("div", { class: "meter", "data-testid": "mood-meter", "data-mood": name },
        head,
        el("div", { class: "meter-track", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.round(v)), "aria-labelledby": "mood-label-" + name },
          el("div", { class: "meter-fill mood-" + name, style: "width:" + v + "%" }), el("div", { class: "ticks" }))));
    }
  }

  function renderComposer() {
    const form = $("reply-form");
    const owner = isOwner();
    const note = $("view-note");
    if (ended()) App.say(note, t("session.ended_note"), "info");
    else if (!owner) App.say(note, t("session.view_only"), "info");
    else App.say(note, "");
    // An ended session is a replay: no composer (its controls stay disabled underneath).
    form.hidden = !owner || ended();
    form.dataset.busy = busy ? "1" : "0";
    const off = !owner || ended() || busy;
    $("reply-input").disabled = !owner || ended();
    $("reply-send").disabled = off;
    $("end-session").disabled = off;
  }

  function spanList(spans, cls) {
    const ul = el("ul", { class: "quotes " + cls });
    for (const sp of spans || []) {
      ul.append(el("li", {}, "“" + (sp.quote || "").trim() + "”",
        sp.turn !== undefined && sp.turn !== null ? el("span", { class: "muted small", text: " (" + t("scorecard.turn", { n: Number(sp.turn) + 1 }) + ")" }) : null));
    }
    return ul;
  }

  function renderScorecard() {
    const box = $("scorecard");
    const sc = S.scorecard;
    if (!ended() || !sc) { box.hidden = true; App.clear(box); return; }
    App.clear(box);
    box.hidden = false;
    const total = Number(sc.total) || 0;
    const ringColor = sc.passed ? "var(--good)" : "var(--low)";
    box.append(el("h2", { id: "scorecard-title", text: t("scorecard.title") }));
    box.append(el("div", { class: "scorecard-head" },
      el("div", { class: "total-ring", style: "--pct:" + Math.max(0, Math.min(100, total)) + ";--ring:" + ringColor },
        el("div", {}, el("div", {},
          el("div", { class: "big", id: "scorecard-total", "data-testid": "scorecard-total", text: App.fmtNum(sc.total, 0) }),
          el("div", { class: "lbl", text: t("scorecard.total") })))),
      el("div", { class: "stack" },
        el("div", { class: "row" },
          el("span", { class: "badge " + (sc.passed ? "pass" : "fail"), id: "scorecard-passed", "data-testid": "scorecard-passed", text: sc.passed ? t("scorecard.passed") : t("scorecard.failed") }),
          App.tierBadge(sc.tier)),
        el("div", { class: "small" }, el("span", { class: "muted", text: t("scorecard.outcome") + ": " }),
          el("strong", { id: "scorecard-outcome", text: App.outcomeName(sc.outcome || S.outcome) })))));
    if ((sc.blockers || []).length) {
      const ul = el("ul", { class: "quotes blockers", id: "scorecard-blockers" });
      for (const b of sc.blockers) {
        const reason = I18N.lang === "zh" ? (b.reason_zh || b.reason_en) : (b.reason_en || b.reason_zh);
        ul.append(el("li", {}, reason || "", el("span", { class: "muted small", text: " (" + t("scorecard.blocker_reply", { n: Number(b.reply) + 1 }) + ")" })));
      }
      box.append(el("h3", { text: t("scorecard.blockers") }), ul);
    }
    box.append(el("h3", { text: t("scorecard.dimensions") }));
    for (const d of sc.dimensions || []) {
      const card = el("div", { class: "dim-card", "data-testid": "scorecard-dimension", "data-dimension": d.dimension },
        el("div", { class: "row dim-head" },
          el("strong", { text: App.dimName(d.dimension) }),
          el("span", { class: "score-value " + App.scoreClass(d.value), text: App.fmtNum(d.value, 0) })),
        el("div", { class: "row small" },
          el("span", { class: "badge", text: t("level.label", { level: d.level }) + " · " + App.levelName(d.level) }),
          d.weight !== undefined ? el("span", { class: "muted", text: t("scorecard.weight", { w: App.fmtNum(d.weight, 2) }) }) : null,
          el("span", { class: "muted", text: t("scorecard.skill_codes") + ":" }),
          (d.skill_codes || []).map((c) => el("span", { class: "skill-code", "data-testid": "skill-code", text: c }))),
        el("div", { class: "bar" }, el("span", { class: App.scoreClass(d.value), style: "width:" + Math.max(0, Math.min(100, Number(d.value) || 0)) + "%" })),
        d.tip ? el("div", { class: "score-tip" }, el("span", { class: "tip-label", text: App.label("session.tip") }), d.tip) : null);
      // With a single scored reply the best and the worst spans are the same: list them once.
      const same = (d.strength || []).length && JSON.stringify(d.strength) === JSON.stringify(d.weakness || []);
      if (same) card.append(el("div", { class: "small", text: t("scorecard.evidence") }), spanList(d.strength, "strength"));
      else {
        if ((d.strength || []).length) card.append(el("div", { class: "small", text: t("scorecard.strengths") }), spanList(d.strength, "strength"));
        if ((d.weakness || []).length) card.append(el("div", { class: "small", text: t("scorecard.weaknesses") }), spanList(d.weakness, "weakness"));
      }
      box.append(card);
    }
    if ((S.overrides || []).length) {
      const ul = el("ul", { class: "quotes", id: "override-list" });
      for (const o of S.overrides) {
        ul.append(el("li", {}, t("scorecard.turn", { n: o.turn }) + " · " + App.dimName(o.dimension) + ": " +
          t("override.shown", { by: o.by_user || "", from: App.fmtNum(o.original_value, 0), to: App.fmtNum(o.value, 0), level: o.level, reason: o.reason || "" })));
      }
      box.append(el("h3", { text: t("override.list") }), ul);
    }
  }

  function renderAll() {
    renderHead();
    renderTranscript();
    renderMoods();
    renderComposer();
    renderScorecard();
  }

  async function reload() {
    S = await App.get("/api/sessions/" + encodeURIComponent(sid));
    renderAll();
  }

  // ---- streaming a turn ---------------------------------------------------------------
  // Reads a text/event-stream body: `event: NAME`, `data: JSON` lines, blank line ends one.
  async function readEvents(res, onEvent) {
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "", name = "message", data = [];
    const dispatch = () => {
      if (data.length) {
        const raw = data.join("\n");
        let payload;
        try { payload = JSON.parse(raw); } catch (e) { payload = raw; }
        onEvent(name, payload);
      }
      name = "message"; data = [];
    };
    const line = (l) => {
      if (l.endsWith("\r")) l = l.slice(0, -1);
      if (l === "") { dispatch(); return; }
      if (l.startsWith(":")) return;
      const c = l.indexOf(":");
      const field = c < 0 ? l : l.slice(0, c);
      let value = c < 0 ? "" : l.slice(c + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) { line(buf.slice(0, i)); buf = buf.slice(i + 1); }
    }
    buf += dec.decode();
    if (buf) line(buf);
    dispatch();
  }

  async function send() {
    const input = $("reply-input");
    const err = $("reply-error");
    const text = input.value.trim();
    App.say(err, "");
    if (!text) { App.say(err, t("session.empty_reply"), "error"); return; }
    if (busy || ended()) return;
    busy = true;
    renderComposer();
    const box = $("transcript");
    const n = (S.turns || []).length + 1;
    live = { reply: text, plugins: null, update: null };
    let traineeNode = traineeMsg({ reply: text, plugins: [] }, n, false);
    traineeNode.classList.add("pending");
    const customerNode = customerMsg({ text: "" }, { id: "pending-customer" });
    customerNode.classList.add("pending");
    const bubble = customerNode.querySelector(".bubble");
    box.append(traineeNode, customerNode);
    customerNode.scrollIntoView({ block: "nearest" });
    input.value = "";
    $("turn-status").textContent = t("session.sending");
    $("turn-status").classList.add("typing");

    const attempts = new Map();
    let current = null;
    let finished = false;
    const show = (txt) => { bubble.textContent = txt; };
    const fail = (msg) => {
      App.say(err, t("common.error", { msg }), "error");
      traineeNode.remove();
      customerNode.remove();
      input.value = text;
    };
    try {
      const res = await App.fetch("POST", "/api/sessions/" + encodeURIComponent(sid) + "/turns", { body: { text }, headers: { Accept: "text/event-stream" } });
      const type = res.headers.get("content-type") || "";
      if (!res.ok || !type.includes("text/event-stream")) {
        let msg = "HTTP " + res.status;
        try { const d = await res.json(); msg = d.error || msg; } catch (e) { /* not JSON */ }
        fail(msg);
        if (res.status === 409) await reload();
        return;
      }
      $("turn-status").textContent = t("session.typing");
      await readEvents(res, (name, d) => {
        switch (name) {
          case "scored":
            live.plugins = d.plugins || [];
            if (!S.feedback_hidden) {
              const fresh = traineeMsg({ reply: text, plugins: live.plugins }, n, true);
              fresh.classList.add("pending");
              traineeNode.replaceWith(fresh);
              traineeNode = fresh;
            }
            break;
          case "state":
            live.update = d.update || null;
            if (!S.feedback_hidden) renderMoods();
            break;
          case "attempt":
            current = d.attempt;
            attempts.set(current, "");
            show("");
            break;
          case "delta": {
            const a = d.attempt !== undefined ? d.attempt : current;
            if (a !== current) { current = a; }
            attempts.set(a, (attempts.get(a) || "") + (d.text || ""));
            show(attempts.get(a));
            break;
          }
          case "rejected":
            attempts.delete(d.attempt);
            if (d.attempt === current || d.attempt === undefined) show("");
            break;
          case "line":
            if (d.line) show(d.line.text || "");
            break;
          case "done":
            finished = true;
            S.turns = (S.turns || []).concat([d.turn]);
            if (d.status) S.status = d.status;
            if (d.outcome !== undefined) S.outcome = d.outcome;
            if (d.turn && d.turn.update && d.turn.update.moods && Object.keys(d.turn.update.moods).length) S.moods = d.turn.update.moods;
            break;
          case "error":
            finished = true;
            fail(d.error || String(d));
            break;
          default:
            break;
        }
      });
      if (!finished) fail(t("common.network_error"));
    } catch (e) {
      if (!(e instanceof App.ApiError && e.status === 401)) fail(App.errorText(e));
    } finally {
      busy = false;
      live = null;
      $("turn-status").textContent = "";
      $("turn-status").classList.remove("typing");
    }
    if (finished) {
      try {
        if (ended() || !err.hidden) await reload(); else renderAll();
      } catch (e) { renderAll(); }
      $("reply-input").focus();
    } else {
      renderComposer();
    }
  }

  async function endSession() {
    if (busy || ended()) return;
    const err = $("reply-error");
    App.say(err, "");
    busy = true;
    renderComposer();
    const b = $("end-session");
    b.textContent = t("session.ending");
    try {
      S = await App.api("POST", "/api/sessions/" + encodeURIComponent(sid) + "/end");
      if (!S.scorecard) await reload();
    } catch (e) {
      App.say(err, t("common.error", { msg: App.errorText(e) }), "error");
    } finally {
      busy = false;
      b.textContent = t("session.end");
    }
    renderAll();
    if (ended()) $("scorecard").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  // ---- start ----------------------------------------------------------------------
  async function start() {
    me = await App.boot();
    $("reply-form").addEventListener("submit", (ev) => { ev.preventDefault(); send(); });
    $("reply-input").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
    });
    $("end-session").addEventListener("click", endSession);
    try {
      S = await App.get("/api/sessions/" + encodeURIComponent(sid));
    } catch (e) {
      if (e.status === 401) return;
      $("session-loading").hidden = true;
      const box = $("forbidden");
      box.textContent = e.status === 403 ? t("session.forbidden") : e.status === 404 ? t("session.not_found") : t("common.error", { msg: App.errorText(e) });
      box.dataset.status = String(e.status || "");
      box.hidden = false;
      I18N.onChange(() => {
        box.textContent = e.status === 403 ? t("session.forbidden") : e.status === 404 ? t("session.not_found") : t("common.error", { msg: App.errorText(e) });
      });
      return;
    }
    $("session-loading").hidden = true;
    $("session-body").hidden = false;
    renderAll();
    I18N.onChange(() => { if (!busy) renderAll(); });
    document.body.dataset.ready = "1";
    if (isOwner() && !ended()) $("reply-input").focus();
  }

  start().catch((e) => { if (!(e instanceof App.ApiError && e.status === 401)) console.error(e); });
})();
