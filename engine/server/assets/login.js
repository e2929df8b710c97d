// Login page: POST /api/login, then the role's page (or ?next= when it is a local path).
(function () {
  "use strict";
  const { App, I18N } = window;
  const t = I18N.t;

  function nextUrl(role) {
    const next = new URLSearchParams(location.search).get("next");
    if (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login")) return next;
    return App.homeFor(role);
  }

  async function start() {
    I18N.apply(document);
    App.renderNav(null);
    // Already signed in? Go straight on.
    try {
      const res = await App.fetch("GET", "/api/me", { no401Redirect: true });
      if (res.ok) {
        const me = await res.json();
        location.replace(nextUrl(me.user.role));
        return;
      }
    } catch (e) { /* stay here */ }

    const form = document.getElementById("login-form");
    const name = document.getElementById("login-name");
    const password = document.getElementById("login-password");
    const submit = document.getElementById("login-submit");
    const error = document.getElementById("login-error");
    name.focus();

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      App.say(error, "");
      if (!name.value.trim() || !password.value) {
        App.say(error, t("login.failed", { msg: t("login.name") + " / " + t("login.password") + "?" }), "error");
        return;
      }
      submit.disabled = true;
      submit.textContent = t("login.busy");
      try {
        const data = await App.api("POST", "/api/login", { name: name.value.trim(), password: password.value }, { no401Redirect: true });
        App.csrf = data.csrf;
        location.href = nextUrl(data.user.role);
      } catch (err) {
        App.say(error, t("login.failed", { msg: App.errorText(err) }), "error");
        password.select();
      } finally {
        submit.disabled = false;
        submit.textContent = t("login.submit");
      }
    });
  }

  start();
})();
