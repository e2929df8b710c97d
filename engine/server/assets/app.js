// Shared by every page: the API client (CSRF header, 401 -> /login), the nav bar,
// small DOM helpers, evidence highlighting and the growth chart.
// User and model text is only ever put into the page as text nodes (no innerHTML).
(function () {
  "use strict";
  const t = (k, v) => window.I18N.t(k, v);

  class ApiError extends Error {
    constructor(status, data, message) {
      super(message);
      this.status = status;
      this.data = data || {};
    }
  }

  const App = {
    me: null,
    csrf: null,
    ApiError,

    // ---- DOM helpers ------------------------------------------------------------
    // el("div", {class: "x", text: "hi", onclick: fn, "data-testid": "y"}, child, "text")
    el(tag, attrs, ...children) {
      const node = document.createElement(tag);
      if (attrs) {
        for (const [k, v] of Object.entries(attrs)) {
          if (v === undefined || v === null || v === false) continue;
          if (k === "text") node.textContent = v;
          else if (k === "class") node.className = v;
          else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
          // Inline style attributes are refused by the server's CSP (style-src 'self');
          // setting the CSSOM is not, so styles go through node.style.
          else if (k === "style") node.style.cssText = v;
          else if (k === "value") node.value = v;
          else if (k === "checked" || k === "disabled" || k === "selected" || k === "hidden") node[k] = !!v;
          else node.setAttribute(k, v === true ? "" : String(v));
        }
      }
      for (const c of children.flat()) {
        if (c === undefined || c === null || c === false) continue;
        node.append(c instanceof Node ? c : document.createTextNode(String(c)));
      }
      return node;
    },

    clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; },

    $(sel, root) { return (root || document).querySelector(sel); },

    // A status/error line: kind is "error", "ok" or "info".
    say(node, text, kind) {
      if (!node) return;
      node.textContent = text || "";
      node.classList.remove("error", "ok", "info");
      if (text && kind) node.classList.add(kind);
      node.hidden = !text;
    },

    errorText(err) {
      if (!err) return "";
      if (err instanceof ApiError) return err.data.error || err.message || ("HTTP " + err.status);
      if (err instanceof TypeError) return t("common.network_error");
      return String(err.message || err);
    },

    // ---- formatting ----------------------------------------------------------------
    toDate(v) {
      if (v === null || v === undefined || v === "") return null;
      if (typeof v === "number") return new Date(v < 1e12 ? v * 1000 : v);
      if (/^\d+$/.test(String(v))) return App.toDate(Number(v));
      const d = new Date(v);
      return isNaN(d.getTime()) ? null : d;
    },
    fmtDate(v, withTime) {
      const d = App.toDate(v);
      if (!d) return v ? String(v) : t("common.dash");
      const loc = window.I18N.lang === "zh" ? "zh-CN" : "en-GB";
      const opts = withTime === false
        ? { year: "numeric", month: "short", day: "numeric" }
        : { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
      return d.toLocaleString(loc, opts);
    },
    fmtNum(v, digits) {
      if (v === null || v === undefined || v === "" || isNaN(Number(v))) return t("common.dash");
      const n = Number(v);
      return Number.isInteger(n) ? String(n) : n.toFixed(digits === undefined ? 1 : digits);
    },
    dimName(d) { return window.I18N.tOr("dim." + d, d); },
    moodName(m) { return window.I18N.tOr("mood." + m, m); },
    scenarioName(s) { return window.I18N.tOr("scenario." + s, s || t("common.dash")); },
    modeName(m) { return window.I18N.tOr("mode." + m, m || t("common.dash")); },
    statusName(s) { return window.I18N.tOr("status." + s, s || t("common.dash")); },
    outcomeName(o) { return o ? window.I18N.tOr("outcome." + o, o) : t("common.dash"); },
    tierName(x) { return x ? window.I18N.tOr("tier." + x, x) : t("tier.none"); },
    langName(l) { return window.I18N.tOr("lang." + l, l || t("common.dash")); },
    levelName(l) { return window.I18N.tOr("level." + l, l); },

    // "Label: " with the colon of the UI language.
    label(key) { return t(key) + (window.I18N.lang === "zh" ? "：" : ": "); },

    badge(text, cls) { return App.el("span", { class: "badge " + (cls || ""), text }); },
    tierBadge(tier) {
      return App.el("span", { class: "badge tier tier-" + (tier || "none"), "data-testid": "tier", text: App.tierName(tier) });
    },

    // Colour of a score 0-100 (red -> amber -> green) for bars and cells.
    scoreClass(v) {
      const n = Number(v);
      if (isNaN(n)) return "";
      return n >= 70 ? "good" : n >= 40 ? "mid" : "low";
    },

    // ---- API ------------------------------------------------------------------------
    // Raw fetch: adds the CSRF header to non-GET requests; on 401 goes to /login.
    async fetch(method, path, opts) {
      opts = opts || {};
      const headers = Object.assign({}, opts.headers || {});
      let body = opts.body;
      if (body !== undefined && !(body instanceof Blob) && !(body instanceof ArrayBuffer) && !(body instanceof FormData) && typeof body !== "string") {
        body = JSON.stringify(body);
        headers["Content-Type"] = headers["Content-Type"] || "application/json";
      }
      if (method !== "GET" && method !== "HEAD" && App.csrf) headers["X-CSRF-Token"] = App.csrf;
      const res = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
      if (res.status === 401 && !opts.no401Redirect) {
        App.toLogin();
        throw new ApiError(401, {}, "not logged in");
      }
      return res;
    },

    // JSON call: resolves to the parsed body on 2xx, throws ApiError otherwise.
    async api(method, path, body, opts) {
      const res = await App.fetch(method, path, Object.assign({}, opts || {}, { body }));
      let data = null;
      const text = await res.text();
      if (text) {
        try { data = JSON.parse(text); } catch (e) { data = { error: text.slice(0, 300) }; }
      }
      if (!res.ok) throw new ApiError(res.status, data, (data && data.error) || ("HTTP " + res.status));
      return data;
    },
    get(path) { return App.api("GET", path); },

    toLogin() {
      const here = location.pathname + location.search;
      if (location.pathname === "/login") return;
      location.href = "/login" + (here && here !== "/" ? "?next=" + encodeURIComponent(here) : "");
    },

    homeFor(role) {
      if (role === "instructor" || role === "admin") return "/instructor";
      if (role === "evaluator") return "/evaluator";
      return "/";
    },

    // Loads /api/me (redirects to /login when not signed in), draws the nav bar and
    // translates the static page. Resolves to the user; pages call it first.
    async boot() {
      window.I18N.apply(document);
      App.renderNav(null);
      const me = await App.api("GET", "/api/me");
      App.me = me.user;
      App.csrf = me.csrf;
      App.renderNav(me.user);
      return me.user;
    },

    // Only for pages that need a role: shows the forbidden box and returns false.
    requireRole(user, roles) {
      if (roles.includes(user.role)) return true;
      const main = document.querySelector("main");
      App.clear(main);
      main.append(App.el("div", { class: "card notice error", id: "forbidden", role: "alert", "data-i18n": "common.forbidden", text: t("common.forbidden") }));
      return false;
    },

    renderNav(user) {
      let nav = document.getElementById("nav");
      if (!nav) {
        nav = App.el("header", { id: "nav", class: "nav" });
        document.body.prepend(nav);
      }
      App.clear(nav);
      const inner = App.el("div", { class: "nav-inner" });
      inner.append(App.el("a", { class: "brand", href: user ? App.homeFor(user.role) : "/login" },
        App.el("span", { class: "brand-mark", "aria-hidden": "true", text: "◆" }), t("app.name")));
      if (user) {
        const links = App.el("nav", { class: "nav-links", "aria-label": t("nav.main") });
        const add = (href, key) => {
          const active = href === "/" ? location.pathname === "/" : location.pathname.startsWith(href);
          links.append(App.el("a", { href, class: active ? "active" : "", "aria-current": active ? "page" : null, "data-i18n": key, text: t(key) }));
        };
        if (user.role === "trainee" || user.role === "admin" || user.role === "instructor") add("/", "nav.home");
        if (user.role === "instructor" || user.role === "admin") add("/instructor", "nav.instructor");
        if (user.role === "evaluator" || user.role === "instructor" || user.role === "admin") add("/evaluator", "nav.evaluator");
        inner.append(links);
      }
      const right = App.el("div", { class: "nav-right" });
      const sel = App.el("select", { id: "lang-switch", "data-testid": "lang-switch", "aria-label": t("nav.language"), "data-i18n-aria-label": "nav.language" });
      for (const l of window.I18N.languages) {
        sel.append(App.el("option", { value: l, selected: l === window.I18N.lang, text: t("lang." + l) }));
      }
      sel.addEventListener("change", () => window.I18N.setLang(sel.value));
      right.append(sel);
      if (user) {
        right.append(App.el("span", { class: "nav-user", id: "nav-user", "data-testid": "nav-user" },
          App.el("span", { class: "nav-user-name", text: user.name }),
          App.el("span", { class: "badge role", "data-i18n": "role." + user.role, text: window.I18N.tOr("role." + user.role, user.role) })));
        right.append(App.el("button", {
          type: "button", id: "password-open", class: "btn ghost small", "data-i18n": "nav.password", text: t("nav.password"),
          onclick: () => App.passwordDialog()
        }));
        right.append(App.el("button", {
          type: "button", id: "logout", class: "btn ghost small", "data-i18n": "nav.logout", text: t("nav.logout"),
          onclick: async () => {
            try { await App.api("POST", "/api/logout"); } catch (e) { /* leave anyway */ }
            location.href = "/login";
          }
        }));
      }
      inner.append(right);
      nav.append(inner);
    },

    // Change my password: a modal form; every other login of mine ends, this one
    // gets a fresh cookie and CSRF token.
    passwordDialog() {
      let dlg = document.getElementById("password-dialog");
      if (dlg) dlg.remove();
      const field = (id, key, auto) => App.el("div", { class: "field" },
        App.el("label", { for: id, text: t(key) }),
        App.el("input", { id, type: "password", autocomplete: auto, required: true }));
      const msg = App.el("p", { id: "password-msg", class: "small", role: "status" });
      const form = App.el("form", { method: "dialog", class: "stack" },
        App.el("h2", { text: t("password.title") }),
        field("password-current", "password.current", "current-password"),
        field("password-new", "password.new", "new-password"),
        field("password-confirm", "password.confirm", "new-password"),
        msg,
        App.el("div", { class: "row" },
          App.el("button", { type: "submit", id: "password-save", class: "btn", text: t("password.save") }),
          App.el("button", { type: "button", class: "btn ghost", text: t("common.cancel"), onclick: () => dlg.close() })));
      dlg = App.el("dialog", { id: "password-dialog", class: "dialog" }, form);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const current = document.getElementById("password-current").value;
        const fresh = document.getElementById("password-new").value;
        if (fresh !== document.getElementById("password-confirm").value) {
          App.say(msg, t("password.mismatch"), "error");
          return;
        }
        try {
          const r = await App.api("POST", "/api/me/password", { current, new: fresh }, { no401Redirect: true });
          App.csrf = r.csrf;
          App.say(msg, t("password.done"), "ok");
          setTimeout(() => dlg.close(), 1200);
        } catch (e) {
          const key = e.status === 403 ? "password.wrong" : e.status === 422 ? "password.short" : null;
          App.say(msg, key ? t(key) : t("common.error", { msg: App.errorText(e) }), "error");
        }
      });
      document.body.append(dlg);
      dlg.showModal();
    },

    // The id in /session/{id} style paths: the segment after `prefix`.
    pathId(prefix) {
      const p = location.pathname;
      if (!p.startsWith(prefix)) return null;
      const rest = p.slice(prefix.length).split("/")[0];
      return rest ? decodeURIComponent(rest) : null;
    },

    // ---- evidence highlighting -------------------------------------------------------
    // UTF-8 byte offset -> JS string index for `text` (null if not on a char boundary).
    byteToIndex(text) {
      const map = new Map();
      let bytes = 0;
      let idx = 0;
      for (const ch of text) {
        map.set(bytes, idx);
        const cp = ch.codePointAt(0);
        bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        idx += ch.length;
      }
      map.set(bytes, idx);
      return (b) => (map.has(b) ? map.get(b) : null);
    },

    // A span {start,end,quote} in JS indices, trusting the byte offsets when they agree
    // with the quote, else finding the quote in the text.
    spanRange(text, span, conv) {
      conv = conv || App.byteToIndex(text);
      const s = conv(Number(span.start));
      const e = conv(Number(span.end));
      if (s !== null && e !== null && e > s) {
        if (!span.quote || text.slice(s, e) === span.quote) return [s, e];
      }
      if (span.quote) {
        const i = text.indexOf(span.quote);
        if (i >= 0) return [i, i + span.quote.length];
      }
      return null;
    },

    // A fragment of `text` with <mark> around every span; marks = [{span, label, cls}].
    highlight(text, marks) {
      text = text || "";
      const conv = App.byteToIndex(text);
      const ranges = [];
      for (const m of marks || []) {
        const r = App.spanRange(text, m.span, conv);
        if (r) ranges.push({ s: r[0], e: r[1], label: m.label, cls: m.cls || "" });
      }
      const frag = document.createDocumentFragment();
      if (!ranges.length) { frag.append(document.createTextNode(text)); return frag; }
      const cuts = new Set([0, text.length]);
      ranges.forEach((r) => { cuts.add(r.s); cuts.add(r.e); });
      const points = [...cuts].sort((a, b) => a - b);
      for (let i = 0; i < points.length - 1; i++) {
        const a = points[i], b = points[i + 1];
        if (b <= a) continue;
        const piece = text.slice(a, b);
        const covering = ranges.filter((r) => r.s <= a && r.e >= b);
        if (!covering.length) { frag.append(document.createTextNode(piece)); continue; }
        const labels = [...new Set(covering.map((r) => r.label))];
        const cls = ["ev"].concat([...new Set(covering.map((r) => r.cls))]).join(" ");
        frag.append(App.el("mark", { class: cls + (covering.length > 1 ? " ev-multi" : ""), title: labels.join(", "), "data-testid": "evidence" }, piece));
      }
      return frag;
    },

    // ---- growth chart ----------------------------------------------------------------
    // points: [{session_id, at, persona_id, dimension, value}] oldest first.
    // Draws one polyline per dimension into `box` as inline SVG with a legend.
    growthChart(box, points, emptyText) {
      App.clear(box);
      const sessions = [];
      const bySession = new Map();
      for (const p of points || []) {
        if (!bySession.has(p.session_id)) {
          bySession.set(p.session_id, { id: p.session_id, at: p.at, persona: p.persona_id, values: {} });
          sessions.push(bySession.get(p.session_id));
        }
        bySession.get(p.session_id).values[p.dimension] = Number(p.value);
      }
      if (!sessions.length) {
        box.append(App.el("p", { class: "muted", text: emptyText || t("home.growth_empty") }));
        return;
      }
      const dims = [];
      for (const p of points) if (!dims.includes(p.dimension)) dims.push(p.dimension);
      const NS = "http://www.w3.org/2000/svg";
      const svgEl = (tag, attrs, text) => {
        const n = document.createElementNS(NS, tag);
        for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
        if (text !== undefined) n.textContent = text;
        return n;
      };
      const W = 640, H = 260, L = 40, R = 16, T = 14, B = 38;
      const pw = W - L - R, ph = H - T - B;
      const n = sessions.length;
      const x = (i) => L + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
      const y = (v) => T + ph - (Math.max(0, Math.min(100, v)) / 100) * ph;
      const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "data-testid": "growth-svg", "aria-label": t("home.growth") });
      svg.append(svgEl("title", {}, t("home.growth")));
      for (const v of [0, 25, 50, 75, 100]) {
        svg.append(svgEl("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
        svg.append(svgEl("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, String(v)));
      }
      const step = Math.max(1, Math.ceil(n / 10));
      sessions.forEach((s, i) => {
        if (i % step !== 0 && i !== n - 1) return;
        svg.append(svgEl("text", { x: x(i), y: H - B + 16, class: "axis", "text-anchor": "middle" }, "#" + (i + 1)));
      });
      svg.append(svgEl("text", { x: L + pw / 2, y: H - 4, class: "axis", "text-anchor": "middle" }, t("home.axis_session")));
      const legend = App.el("ul", { class: "legend", "data-testid": "growth-legend" });
      dims.forEach((d, k) => {
        const cls = "series-" + (k % 6);
        const pts = [];
        sessions.forEach((s, i) => { if (s.values[d] !== undefined && !isNaN(s.values[d])) pts.push([x(i), y(s.values[d]), s, i]); });
        svg.append(svgEl("polyline", { points: pts.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" "), class: "line " + cls, "data-dimension": d }));
        for (const [px, py, s, i] of pts) {
          const c = svgEl("circle", { cx: px.toFixed(1), cy: py.toFixed(1), r: 3.5, class: "dot " + cls });
          c.append(svgEl("title", {}, `#${i + 1} ${App.fmtDate(s.at, false)} · ${s.persona || ""} · ${App.dimName(d)}: ${App.fmtNum(s.values[d])}`));
          svg.append(c);
        }
        legend.append(App.el("li", {}, App.el("span", { class: "swatch " + cls, "aria-hidden": "true" }), App.dimName(d)));
      });
      box.append(App.el("div", { class: "chart-wrap" }, svg), legend);
    }
  };

  window.App = App;
})();
