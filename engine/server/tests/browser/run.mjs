#!/usr/bin/env node
// End-to-end browser tests of the sparring web app.
//
//   node run.mjs --base http://127.0.0.1:PORT
//
// Accounts come from env vars as name:password: SPARRING_TEST_TRAINEE,
// SPARRING_TEST_TRAINEE2, SPARRING_TEST_INSTRUCTOR, SPARRING_TEST_EVALUATOR, and
// optionally SPARRING_TEST_ADMIN (the accounts scenario is skipped without it). Uses the system Chromium
// (CHROMIUM, default /usr/bin/chromium) through playwright-core; nothing is downloaded.
// Prints one PASS/FAIL (or SKIP) line per scenario, saves a screenshot per failure to
// $OUT_DIR (or /tmp) and exits 1 if any scenario failed.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const args = process.argv.slice(2);
const argValue = (name, dflt) => {
  const i = args.indexOf(name);
  if (i >= 0 && args[i + 1]) return args[i + 1];
  const eq = args.find((a) => a.startsWith(name + "="));
  return eq ? eq.slice(name.length + 1) : dflt;
};
const BASE = (argValue("--base", process.env.SPARRING_TEST_BASE || "http://127.0.0.1:8080")).replace(/\/$/, "");
const ONLY = argValue("--only", ""); // comma-separated scenario names, for debugging
const OUT_DIR = process.env.OUT_DIR || os.tmpdir();
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const TURN_TIMEOUT = Number(process.env.SPARRING_TEST_TURN_TIMEOUT_MS || 60000);
const UI_TIMEOUT = 15000;
const PERSONA = process.env.SPARRING_TEST_PERSONA || "hesitant-buyer-en";

function account(envName, optional) {
  const v = process.env[envName];
  if (optional && !v) return null;
  if (!v || !v.includes(":")) {
    console.error(`FAIL setup: set ${envName}=name:password`);
    process.exit(2);
  }
  const i = v.indexOf(":");
  return { name: v.slice(0, i), password: v.slice(i + 1) };
}
const TRAINEE = account("SPARRING_TEST_TRAINEE");
const TRAINEE2 = account("SPARRING_TEST_TRAINEE2");
const INSTRUCTOR = account("SPARRING_TEST_INSTRUCTOR");
const EVALUATOR = account("SPARRING_TEST_EVALUATOR");
const ADMIN = account("SPARRING_TEST_ADMIN", true);
const BATCH_TIMEOUT = Number(process.env.SPARRING_TEST_BATCH_TIMEOUT_MS || 120000);

const REPLIES = [
  "I completely understand, and I'm sorry about the evening slowdowns. What do you mostly use the internet for?",
  "That makes sense. The faster plan is only a few pounds more a month, and there is a twelve-month option, so you would not be locked in for two years."
];

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function login(page, who, expectPath) {
  await page.goto(BASE + "/login");
  await page.locator("#login-name").fill(who.name);
  await page.locator("#login-password").fill(who.password);
  await Promise.all([
    page.waitForURL((u) => new URL(u).pathname === expectPath, { timeout: UI_TIMEOUT }).catch(async () => {
      const err = (await page.locator("#login-error").textContent().catch(() => "")) || "";
      throw new Error(`login as ${who.name}: expected to land on ${expectPath}, at ${page.url()} ${err ? "(error shown: " + err.trim() + ")" : ""}`);
    }),
    page.locator("#login-submit").click()
  ]);
}

let browser;
const contexts = [];
async function newPage(viewport) {
  const ctx = await browser.newContext({ viewport: viewport || { width: 1280, height: 900 }, locale: "en-US" });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  page.consoleErrors = [];
  page.on("pageerror", (e) => page.consoleErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") page.consoleErrors.push(m.text()); });
  return page;
}

const shared = { sessionId: null };

// ---- scenarios ------------------------------------------------------------------
async function traineeSession(page) {
  await login(page, TRAINEE, "/");
  const option = page.locator(`#persona-list input[value="${PERSONA}"]`);
  await option.waitFor({ state: "attached" }).catch(() => { throw new Error(`persona ${PERSONA} is not in the picker (#persona-list)`); });
  await option.check();
  await page.locator("#mode-practice").check();
  await Promise.all([
    page.waitForURL(/\/session\/[^/]+$/, { timeout: TURN_TIMEOUT }),
    page.locator("#start-session").click()
  ]);
  shared.sessionId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
  await page.locator("#reply-input").waitFor({ state: "visible" });
  check(await page.locator("#transcript [data-testid=customer-line]").count() >= 1, "the opening customer line is not shown");
  check(await page.locator("#mood-meters [data-testid=mood-meter]").count() >= 1, "no mood meter shown in practice mode");

  for (let i = 0; i < REPLIES.length; i++) {
    const customersBefore = await page.locator("#transcript [data-testid=customer-line]").count();
    await page.locator("#reply-input").fill(REPLIES[i]);
    // Record whether streamed text showed up in the pending customer bubble before the turn was done.
    await page.evaluate(() => {
      window.__streamed = false;
      const box = document.getElementById("transcript");
      const mo = new MutationObserver(() => {
        const pending = document.querySelector("#pending-customer .bubble");
        if (pending && pending.textContent.trim()) { window.__streamed = true; mo.disconnect(); }
      });
      mo.observe(box, { subtree: true, childList: true, characterData: true });
    });
    await page.locator("#reply-send").click();
    // Done when the new customer line is in the transcript, or an error is shown.
    await page.waitForFunction((n) => {
      const err = document.getElementById("reply-error");
      if (err && !err.hidden && err.textContent.trim()) return true;
      const lines = document.querySelectorAll("#transcript [data-testid=customer-line]:not(.pending)");
      return lines.length >= n && lines[lines.length - 1].querySelector(".bubble").textContent.trim().length > 0
        && document.getElementById("reply-form").dataset.busy === "0";
    }, customersBefore + 1, { timeout: TURN_TIMEOUT }).catch(() => {
      throw new Error(`turn ${i + 1}: no customer line within ${TURN_TIMEOUT / 1000}s`);
    });
    const err = ((await page.locator("#reply-error").textContent()) || "").trim();
    check(!(await page.locator("#reply-error").isVisible()), `turn ${i + 1}: error shown: ${err}`);
    check(await page.evaluate(() => window.__streamed), `turn ${i + 1}: the customer line did not stream into the pending bubble`);
    const scores = page.locator(`#transcript [data-testid=turn-scores][data-turn="${i + 1}"] [data-testid=score]`);
    check(await scores.count() >= 1, `turn ${i + 1}: no per-turn scores under the reply`);
    const v = (await scores.first().locator("[data-testid=score-value]").textContent()).trim();
    check(/\d/.test(v), `turn ${i + 1}: score value is not a number: "${v}"`);
    if (await page.locator("#end-session").isDisabled()) break; // the customer ended the call
  }
  check(await page.locator("#transcript mark[data-testid=evidence]").count() >= 1, "no evidence span highlighted in the replies");

  if (!(await page.locator("#scorecard").isVisible())) {
    await page.locator("#end-session").click();
  }
  await page.locator("#scorecard").waitFor({ state: "visible", timeout: TURN_TIMEOUT });
  const total = ((await page.locator("#scorecard-total").textContent()) || "").trim();
  check(/^\d+(\.\d+)?$/.test(total), `scorecard total is not a number: "${total}"`);
  const codes = await page.locator("#scorecard [data-testid=skill-code]").allTextContents();
  check(codes.length >= 1 && codes.every((c) => /^\d+(\.\d+)+$/.test(c.trim())), `scorecard skill codes missing or malformed: ${JSON.stringify(codes)}`);
  check(await page.locator("#reply-input").isDisabled(), "reply box still enabled after the session ended");
  return `session ${shared.sessionId}, total ${total}, skill codes ${[...new Set(codes)].join(" ")}`;
}

async function instructorEditor(page) {
  await login(page, INSTRUCTOR, "/instructor");
  await page.locator(`#personas-table a[href="/instructor/personas/${PERSONA}"]`).waitFor({ state: "visible" })
    .catch(() => { throw new Error(`no editor link for ${PERSONA} in the instructor's persona list`); });
  await page.goto(BASE + "/instructor/personas/" + encodeURIComponent(PERSONA));
  const ta = page.locator("#persona-toml");
  await page.waitForFunction(() => /difficulty\s*=/.test(document.getElementById("persona-toml").value));
  const original = await ta.inputValue();
  const lines = original.split("\n");
  const lineNo = lines.findIndex((l) => /^\s*difficulty\s*=/.test(l)) + 1;
  check(lineNo > 0, "no difficulty line in the persona TOML");
  const broken = original.replace(/^(\s*difficulty\s*=\s*)\d+/m, "$19");
  await ta.fill(broken); // fires input -> debounced check
  const errItem = page.locator("#persona-errors [data-testid=persona-error]", { hasText: "difficulty" });
  await errItem.first().waitFor({ state: "visible" }).catch(async () => {
    throw new Error("no inline validation error naming difficulty; shown: " + JSON.stringify(await page.locator("#persona-errors").textContent()));
  });
  const text = (await errItem.first().textContent()) || "";
  const errLine = await errItem.first().getAttribute("data-line");
  check(errLine === String(lineNo) && text.includes(String(lineNo)), `the error does not name line ${lineNo}: "${text}" (data-line ${errLine})`);
  check(await page.locator(`#persona-gutter span.err[data-line="${lineNo}"]`).count() === 1, `line ${lineNo} is not marked in the gutter`);
  await page.locator("#persona-save").click();
  const status = page.locator("#persona-save-status.error");
  await status.waitFor({ state: "visible" }).catch(() => { throw new Error("Save of a broken persona was not refused with an error shown"); });
  check(await errItem.count() >= 1, "after the refused save the errors are not listed");
  // The stored persona is unchanged.
  const stored = await page.evaluate(async (id) => {
    const r = await fetch("/api/personas/" + encodeURIComponent(id));
    return r.ok ? (await r.json()).toml : "HTTP " + r.status;
  }, PERSONA);
  check(!/^\s*difficulty\s*=\s*9/m.test(stored), "the broken persona was saved");
  return `error shown: ${text.trim()}; save refused: ${((await status.textContent()) || "").trim()}`;
}

async function otherTraineeForbidden(page) {
  check(shared.sessionId, "needs the session id from scenario 1 (it failed)");
  await login(page, TRAINEE2, "/");
  await page.goto(BASE + "/session/" + encodeURIComponent(shared.sessionId));
  await page.locator("#forbidden").waitFor({ state: "visible" }).catch(() => { throw new Error("no forbidden message on another trainee's session"); });
  const msg = ((await page.locator("#forbidden").textContent()) || "").trim();
  check(msg.length > 0, "the forbidden box is empty");
  check(await page.locator("#transcript [data-testid=trainee-line], #transcript [data-testid=customer-line]").count() === 0, "the transcript is shown to another trainee");
  check(!(await page.locator("#session-body").isVisible()), "the session body is visible to another trainee");
  const status = await page.evaluate(async (id) => (await fetch("/api/sessions/" + encodeURIComponent(id))).status, shared.sessionId);
  check(status === 403, `GET /api/sessions/${shared.sessionId} as another trainee returned ${status}, expected 403`);
  return `message: "${msg}", API 403`;
}

async function phoneWidth(page) {
  await login(page, TRAINEE, "/");
  await page.waitForSelector("body[data-ready='1']");
  const widths = async () => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth, body: document.body.scrollWidth }));
  let w = await widths();
  check(w.scroll <= w.client && w.body <= w.client, `home page scrolls horizontally at 375px: scrollWidth ${w.scroll}/${w.body} > ${w.client}`);
  const checked = ["/"];
  if (shared.sessionId) {
    await page.goto(BASE + "/session/" + encodeURIComponent(shared.sessionId));
    await page.waitForSelector("body[data-ready='1']");
    w = await widths();
    check(w.scroll <= w.client && w.body <= w.client, `session page scrolls horizontally at 375px: scrollWidth ${w.scroll} > ${w.client}`);
    checked.push("/session/" + shared.sessionId);
  }
  return "no horizontal scroll on " + checked.join(", ");
}

async function languageSwitch(page) {
  await login(page, TRAINEE, "/");
  await page.waitForSelector("body[data-ready='1']");
  const title = page.locator("#start-title");
  check(((await title.textContent()) || "").includes("Start a practice call"), `expected the English UI first, got "${await title.textContent()}"`);
  await page.locator("#lang-switch").selectOption("zh");
  await page.waitForFunction(() => document.getElementById("start-title").textContent.includes("开始一次练习通话"))
    .catch(() => { throw new Error("the heading did not switch to Chinese"); });
  const nav = ((await page.locator("#logout").textContent()) || "").trim();
  check(nav === "退出登录", `nav not translated: "${nav}"`);
  await page.reload();
  await page.waitForFunction(() => document.getElementById("start-title").textContent.includes("开始一次练习通话"))
    .catch(() => { throw new Error("the language choice was not remembered after a reload"); });
  await page.locator("#lang-switch").selectOption("en");
  return "zh strings shown and remembered";
}

// A small upload of three files in the three formats: a JSONL file in both shapes
// (call "call-one" on one line, call "call-two" as turn rows, and a malformed line,
// line 3, between that call's rows), a CSV file (call "call-three") and a plain-text
// transcript (call "call-four", named for its file).
function batchFiles() {
  const lines = [
    JSON.stringify({ call_id: "call-one", agent_id: "agent-7", language: "en", scenario: "complaint", turns: [
      { speaker: "customer", text: "My bill went up again and nobody told me why." },
      { speaker: "agent", text: "I'm sorry, that must be frustrating. Let me check your bill now and I will call you back by 5 pm today with the reason." }
    ] }),
    JSON.stringify({ call_id: "call-two", speaker: "customer", text: "I want to cancel, it is too expensive." }),
    "{\"call_id\": \"call-two\", \"speaker\": ",
    JSON.stringify({ call_id: "call-two", speaker: "agent", agent_id: "agent-9", text: "I understand the price matters. May I ask what you pay now, so I can look for a cheaper plan that fits?" })
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparring-batch-"));
  const name = `eval-${Date.now()}.jsonl`;
  const jsonl = path.join(dir, name);
  fs.writeFileSync(jsonl, lines.join("\n") + "\n");
  const csv = path.join(dir, "day-2.csv");
  fs.writeFileSync(csv, [
    "call_id,agent_id,timestamp,speaker,text",
    "call-three,agent-7,2024-05-02T09:30:00Z,客户,我家宽带断了三天了，你们到底管不管？",
    "call-three,agent-7,2024-05-02T09:30:00Z,客服,\"非常抱歉，三天没网确实影响您了。我马上帮您查线路，今天下午五点前给您回电话。\"",
  ].join("\r\n") + "\r\n");
  const txt = path.join(dir, "call-four.txt");
  fs.writeFileSync(txt, "Customer: The parcel was due on Monday and it still has not come.\nAgent: I'm sorry it is late. I have traced it: it is at the depot and\narrives tomorrow before noon.\n");
  return { dir, files: [jsonl, csv, txt], name, badFile: name, badLine: 3, calls: ["call-one", "call-two", "call-three", "call-four"] };
}

async function evaluatorBatch(page) {
  const up = batchFiles();
  try {
    await login(page, EVALUATOR, "/evaluator");
    await page.waitForSelector("body[data-ready='1']");
    page.consoleErrors.length = 0; // the login page's own 401 from /api/me
    await page.locator("#batch-file").setInputFiles(up.files);
    const chosen = ((await page.locator("#batch-file-name").textContent()) || "").trim();
    check(chosen.includes("3") && chosen.includes(up.name), `the file picker shows "${chosen}" for three files`);
    await page.locator("#batch-upload").click();
    const detail = page.locator("#batch-detail");
    // The page polls the batch until it is done; the title names the uploaded file.
    await page.waitForFunction((name) => {
      const d = document.getElementById("batch-detail");
      const title = document.getElementById("batch-title");
      return d && !d.hidden && (d.dataset.status === "done" || d.dataset.status === "failed") && title && title.textContent.includes(name);
    }, up.name, { timeout: BATCH_TIMEOUT }).catch(async () => {
      const st = ((await page.locator("#upload-status").textContent().catch(() => "")) || "").trim();
      throw new Error(`the batch did not finish within ${BATCH_TIMEOUT / 1000}s (upload status: "${st}", detail status: ${await detail.getAttribute("data-status")})`);
    });
    const status = await detail.getAttribute("data-status");
    check(status === "done", `the batch ended ${status}`);
    check(await page.locator(`#batches-table tr[data-batch-id]`, { hasText: up.name }).count() === 1, "the upload is not in the batch list");

    const dimRows = page.locator("#batch-dimensions tbody tr[data-dimension]");
    const dims = await dimRows.evaluateAll((rows) => rows.map((r) => r.dataset.dimension));
    for (const d of ["empathy", "expectation", "objection"]) check(dims.includes(d), `no ${d} row in the per-dimension table (rows: ${JSON.stringify(dims)})`);
    const means = await page.locator("#batch-dimensions tbody tr[data-dimension] td:nth-child(3)").allTextContents();
    check(means.length >= 3 && means.every((m) => /^\d+(\.\d+)?$/.test(m.trim())), `per-dimension means are not numbers: ${JSON.stringify(means)}`);

    const callIds = await page.locator("#batch-calls tbody tr[data-call-id]").evaluateAll((rows) => rows.map((r) => r.dataset.callId));
    check(up.calls.every((c) => callIds.includes(c)) && callIds.length === up.calls.length, `per-call table rows ${JSON.stringify(callIds)}, expected ${JSON.stringify(up.calls)}`);
    for (const c of up.calls) {
      const turns = ((await page.locator(`#batch-calls tr[data-call-id="${c}"] td:nth-child(3)`).textContent()) || "").trim();
      check(turns === "1", `call ${c}: ${turns} agent turns shown, expected 1`);
    }
    const two = page.locator(`#batch-detail details[data-call-id="call-two"]`);
    await two.locator("summary").click();
    await two.locator(".turn-result .reply").first().waitFor({ state: "visible" });
    const reply = ((await two.locator(".turn-result .reply").first().textContent()) || "").trim();
    check(reply.startsWith("I understand the price matters"), `call-two's scored reply is "${reply}"`);

    const files = await page.locator("#batch-calls tbody tr[data-call-id]").evaluateAll((rows) => rows.map((r) => r.dataset.callId + "@" + r.dataset.file));
    check(files.includes("call-three@day-2.csv") && files.includes("call-four@call-four.txt"), `calls are not shown with their files: ${JSON.stringify(files)}`);

    const errRows = page.locator("#batch-errors tbody tr");
    check(await errRows.count() === 1, `expected 1 malformed line, the table has ${await errRows.count()}`);
    const errLine = await errRows.first().getAttribute("data-line");
    const errFile = await errRows.first().getAttribute("data-file");
    const errText = ((await errRows.first().textContent()) || "").trim();
    check(errLine === String(up.badLine) && errFile === up.badFile && errText.startsWith(up.badFile), `the malformed line is reported as ${errFile} line ${errLine}: "${errText}", expected ${up.badFile} line ${up.badLine}`);

    // The downloads are the files `sparring score` writes, built from this batch.
    const links = await page.locator("#batch-downloads a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    check(links.length === 4, `download links: ${JSON.stringify(links)}`);
    const got = await page.evaluate(async (hrefs) => Promise.all(hrefs.map(async (h) => {
      const r = await fetch(h);
      return { href: h, status: r.status, type: r.headers.get("content-type"), disposition: r.headers.get("content-disposition"), text: await r.text() };
    })), links);
    for (const g of got) check(g.status === 200 && (g.disposition || "").startsWith("attachment"), `${g.href}: ${g.status} ${g.disposition}`);
    const callsCsv = got.find((g) => g.href.endsWith("calls.csv"));
    const csvLines = callsCsv.text.trim().split(/\r?\n/);
    check(csvLines[0].startsWith("file,call_id,agent_id,timestamp,agent_turns,") && csvLines.length === 1 + up.calls.length, `calls.csv: ${JSON.stringify(csvLines.slice(0, 2))} (${csvLines.length} lines)`);
    check(csvLines.some((l) => l.startsWith("day-2.csv,call-three,agent-7,2024-05-02T09:30:00Z,1,")), "calls.csv has no row for call-three with its timestamp");
    const report = got.find((g) => g.href.endsWith("report.html"));
    check((report.type || "").startsWith("text/html") && report.text.includes("<svg") && report.text.includes("call-four"), "report.html is not the HTML report with charts and the calls");
    check(page.consoleErrors.length === 0, "page errors: " + page.consoleErrors.join(" | "));
    return `dimensions ${dims.join(", ")}; calls ${files.join(", ")}; ${errFile}:${errLine}; downloads ${got.map((g) => g.href.split("/").pop()).join(", ")}`;
  } finally {
    fs.rmSync(up.dir, { recursive: true, force: true });
  }
}

async function accountsAdmin(page) {
  if (!ADMIN) return "SKIP (no SPARRING_TEST_ADMIN)";
  await login(page, ADMIN, "/instructor");
  await page.goto(BASE + "/instructor#accounts");
  await page.waitForSelector("body[data-ready='1']");
  check(await page.locator("#panel-accounts").isVisible(), "the accounts tab is not shown");
  for (const who of [ADMIN, INSTRUCTOR, EVALUATOR]) {
    check(await page.locator(`#accounts-table tr[data-user-name="${who.name}"]`).count() === 1, `${who.name} is not in the accounts list`);
  }
  await page.locator("#account-add").waitFor({ state: "visible" }).catch(() => { throw new Error("an admin sees no add-account form"); });
  const name = `dana-${Date.now().toString(36)}`;
  const msg = page.locator("#account-msg");
  const submit = async (n, role, pw) => {
    await page.locator("#account-name").fill(n);
    await page.locator("#account-role").selectOption(role);
    await page.locator("#account-password").fill(pw);
    await page.locator("#account-submit").click();
    await page.waitForFunction(() => {
      const m = document.getElementById("account-msg");
      return !m.hidden && (m.classList.contains("error") || m.classList.contains("ok"));
    });
    return { kind: (await msg.getAttribute("class")).includes("error") ? "error" : "ok", text: ((await msg.textContent()) || "").trim() };
  };
  let r = await submit(name, "trainee", "short");
  check(r.kind === "error" && /8/.test(r.text), `a short password was not refused with its reason: ${r.kind} "${r.text}"`);
  check(await page.locator(`#accounts-table tr[data-user-name="${name}"]`).count() === 0, "the refused account is listed");
  const shortMsg = r.text;
  r = await submit(name, "evaluator", "a long enough passphrase");
  check(r.kind === "ok", `adding ${name} failed: "${r.text}"`);
  const row = page.locator(`#accounts-table tr[data-user-name="${name}"]`);
  await row.waitFor({ state: "visible" }).catch(() => { throw new Error(`${name} is not listed after adding`); });
  const role = await row.locator("td:nth-child(2)").textContent();
  check(/evaluator/.test(role || ""), `${name} is listed with role "${role}"`);
  r = await submit(name, "trainee", "a long enough passphrase");
  check(r.kind === "error" && r.text.includes(name), `a taken name was not refused: ${r.kind} "${r.text}"`);
  const takenMsg = r.text;

  // An instructor sees the list but not the form.
  const ipage = await newPage();
  try {
    await login(ipage, INSTRUCTOR, "/instructor");
    await ipage.goto(BASE + "/instructor#accounts");
    await ipage.waitForSelector("body[data-ready='1']");
    check(await ipage.locator(`#accounts-table tr[data-user-name="${name}"]`).count() === 1, "the instructor's accounts list lacks the new account");
    check(!(await ipage.locator("#account-add").isVisible()), "an instructor sees the add-account form");
  } finally {
    await ipage.context().close().catch(() => {});
  }
  return `refused: "${shortMsg}" / "${takenMsg}"; added ${name}; instructor sees the list only`;
}

async function passwordChange(page) {
  await login(page, EVALUATOR, "/evaluator");
  const fresh = EVALUATOR.password + " renewed";
  const fill = async (current, next, again) => {
    await page.locator("#password-current").fill(current);
    await page.locator("#password-new").fill(next);
    await page.locator("#password-confirm").fill(again);
    // Wait for this answer, not the one before.
    await page.evaluate(() => { const m = document.getElementById("password-msg"); m.hidden = true; m.className = "small"; });
    await page.locator("#password-save").click();
    await page.waitForFunction(() => {
      const m = document.getElementById("password-msg");
      return m && !m.hidden && (m.classList.contains("error") || m.classList.contains("ok"));
    });
    const msg = page.locator("#password-msg");
    const kind = (await msg.getAttribute("class")).includes("error") ? "error" : "ok";
    return { kind, text: ((await msg.textContent()) || "").trim() };
  };
  await page.locator("#password-open").click();
  await page.locator("#password-dialog").waitFor({ state: "visible" });
  let r = await fill("not my password", fresh, fresh);
  check(r.kind === "error", `a wrong current password was accepted: "${r.text}"`);
  const wrong = r.text;
  r = await fill(EVALUATOR.password, fresh, fresh);
  check(r.kind === "ok", `the password change failed: "${r.text}"`);
  // This page keeps working with the fresh login; a new login needs the new password.
  await page.goto(BASE + "/evaluator");
  await page.waitForSelector("body[data-ready='1']");
  await page.locator("#logout").click();
  await page.waitForURL((u) => new URL(u).pathname === "/login");
  await login(page, { name: EVALUATOR.name, password: fresh }, "/evaluator");
  return `wrong current refused ("${wrong}"), changed, new password logs in`;
}

const SCENARIOS = [
  ["trainee-session", "trainee practice session: stream, scores, scorecard", traineeSession],
  ["instructor-editor", "instructor persona editor: inline validation, refused save", instructorEditor],
  ["forbidden", "another trainee cannot open the session", otherTraineeForbidden],
  ["phone-width", "375x740: no horizontal scroll", phoneWidth, { width: 375, height: 740 }],
  ["language", "language switch to Chinese", languageSwitch],
  ["evaluator-batch", "evaluator uploads JSONL, CSV and text files as one batch: per-dimension, per-call with files, malformed line, downloads", evaluatorBatch],
  ["accounts", "admin adds accounts (short password and taken name refused); instructor sees the list only", accountsAdmin],
  // Last: it changes the evaluator's password.
  ["password", "a user changes their password from the nav bar", passwordChange]
];

async function main() {
  // launch() runs Chromium with a fresh temporary profile; each scenario gets its own context.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"]
  }).catch((e) => { console.error(`FAIL setup: cannot launch ${CHROMIUM}: ${e.message}`); process.exit(2); });
  let failed = 0;
  console.log(`browser tests against ${BASE} (${CHROMIUM})`);
  for (const [name, title, fn, viewport] of SCENARIOS) {
    if (ONLY && !ONLY.split(",").includes(name)) continue;
    const started = Date.now();
    const page = await newPage(viewport);
    try {
      const detail = await fn(page);
      if (typeof detail === "string" && detail.startsWith("SKIP")) { console.log(`SKIP ${name}: ${title}${detail.slice(4)}`); continue; }
      console.log(`PASS ${name}: ${title} (${((Date.now() - started) / 1000).toFixed(1)}s)${detail ? " — " + detail : ""}`);
    } catch (e) {
      failed++;
      const shot = path.join(OUT_DIR, `sparring-browser-${name}.png`);
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      console.log(`FAIL ${name}: ${title}: ${e.message.split("\n")[0]} [at ${page.url()}; screenshot ${shot}]`);
      if (page.consoleErrors.length) console.log("     page errors: " + page.consoleErrors.slice(0, 5).join(" | "));
    } finally {
      await page.context().close().catch(() => {});
    }
  }
  await browser.close();
  if (failed) {
    console.log(`${failed} scenario(s) failed`);
    process.exit(1);
  }
  console.log("all browser scenarios passed");
}

main().catch((e) => { console.error("FAIL runner: " + (e.stack || e)); process.exit(1); });
