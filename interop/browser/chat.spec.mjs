// chat.spec.mjs drives the chat demo's real page in headless Chromium, the
// acceptance check of issue 3. It is run by browser_test.go:
//
//	node interop/browser/chat.spec.mjs http://127.0.0.1:PORT
//
// Pages A, B and C live in separate browser contexts (no shared cookies or
// storage, so three independent socket.io clients); page D forces polling.
// Every expectation prints one "ok" or "FAIL" line; the exit code is 1 if
// any failed, 2 on a crash or the overall time limit.
import { launchChromium } from "./launch.mjs";

// The client bundle the page loads: BUNDLE_PATH is set for the msgpack
// demo (socket.io.msgpack.min.js).
const bundlePath = process.env.BUNDLE_PATH || "/socket.io/socket.io.js";
const base = process.argv[2];
if (!base) {
  console.error("usage: node chat.spec.mjs http://host:port");
  process.exit(2);
}
const WAIT_MS = 15000; // per expectation; a healthy run needs well under 1s
const QUIET_MS = 700; // how long "nothing arrives" is watched for

// The whole run must finish well inside the Go test's own deadline.
const overall = setTimeout(() => {
  console.error("FAIL overall time limit (90s) exceeded");
  process.exit(2);
}, 90000);

let passed = 0;
let failed = 0;
function ok(name) {
  passed++;
  console.log(`ok   ${name}`);
}
function fail(name, detail) {
  failed++;
  console.log(`FAIL ${name}: ${detail}`);
}
function expect(name, cond, detail) {
  if (cond) ok(name);
  else fail(name, detail);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const elapsed = () => `+${((Date.now() - started) / 1000).toFixed(3)}s`;

// Functions passed to the page are serialized: they may use their argument
// but no variable of this script.
const textOf = (id) => document.getElementById(id).textContent;
const theirs = () => [...document.querySelectorAll("#messages .msg.theirs")].map((li) => li.textContent);
const hasTheirs = (msg) => [...document.querySelectorAll("#messages .msg.theirs")].some((li) => li.textContent === msg);
const countTheirs = (msg) => [...document.querySelectorAll("#messages .msg.theirs")].filter((li) => li.textContent === msg).length;
const textIs = ([id, want]) => document.getElementById(id).textContent === want;

// waitFor polls fn(arg) in the page until it returns true. On time-out it
// reports what the page shows (the text of element describe, or the value
// of the function describe) so a failure explains itself.
async function waitFor(p, name, fn, arg, describe) {
  try {
    await p.page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 50 });
    ok(`${p.name}: ${name}`);
    return true;
  } catch (e) {
    const seen = await (typeof describe === "string" ? p.page.evaluate(textOf, describe) : p.page.evaluate(describe)).catch((err) => String(err));
    fail(`${p.name}: ${name}`, `not within ${WAIT_MS}ms; page shows ${JSON.stringify(seen)}`);
    return false;
  }
}


async function openPage(browser, name, query) {
  // The https:// runs use a self-signed certificate.
  const context = await browser.newContext({ ignoreHTTPSErrors: base.startsWith("https:") });
  const page = await context.newPage();
  const p = { name, context, page, errors: [], console: [], ws: [], bundleStatus: 0 };
  page.on("pageerror", (err) => p.errors.push(String(err)));
  page.on("console", (msg) => p.console.push(`${elapsed()} ${msg.type()}: ${msg.text()}`));
  // WebSocket traffic as Chromium saw it, printed when an expectation
  // fails: it tells a failed upgrade from a slow one.
  page.on("websocket", (ws) => {
    const note = (what) => p.ws.push(`${elapsed()} ${what}`);
    note(`open ${ws.url()}`);
    ws.on("framesent", (f) => note(`> ${String(f.payload).slice(0, 80)}`));
    ws.on("framereceived", (f) => note(`< ${String(f.payload).slice(0, 80)}`));
    ws.on("socketerror", (err) => note(`error ${err}`));
    ws.on("close", () => note("close"));
  });
  page.on("response", (resp) => {
    if (new URL(resp.url()).pathname === bundlePath) p.bundleStatus = resp.status();
  });
  // Long-polling requests as Chromium saw them (start, answer, failure),
  // printed with the WebSocket events: a poll that never returns is what
  // stalls an upgrade.
  p.http = [];
  const isPoll = (req) => {
    const u = new URL(req.url());
    return u.pathname.startsWith("/socket.io/") && u.searchParams.get("transport") === "polling";
  };
  const short = (s) => (s == null ? "" : String(s).slice(0, 60));
  page.on("request", (req) => {
    if (isPoll(req)) p.http.push(`${elapsed()} ${req.method()} start ${short(req.postData())}`);
  });
  page.on("requestfinished", async (req) => {
    if (!isPoll(req)) return;
    const resp = await req.response().catch(() => null);
    const body = resp ? await resp.text().catch((e) => `(body: ${e})`) : "";
    p.http.push(`${elapsed()} ${req.method()} done ${resp && resp.status()} ${short(body)}`);
  });
  page.on("requestfailed", (req) => {
    if (isPoll(req)) p.http.push(`${elapsed()} ${req.method()} failed ${req.failure() && req.failure().errorText}`);
  });
  const resp = await page.goto(base + "/" + query, { waitUntil: "load" });
  expect(`${name}: page loads`, resp && resp.status() === 200, `status ${resp && resp.status()}`);
  expect(`${name}: ${bundlePath} served`, p.bundleStatus === 200, `status ${p.bundleStatus}`);
  return p;
}

async function send(p, msg) {
  await p.page.fill("#chat-input", msg);
  await p.page.click("#chat-send");
}

async function postScore(team, score) {
  const resp = await fetch(`${base}/score?team=${encodeURIComponent(team)}`, { method: "POST", body: String(score) });
  expect(`POST /score ${team} ${score}`, resp.status === 204, `status ${resp.status}: ${await resp.text()}`);
}

let browser;
try {
  browser = await launchChromium();

  const [A, B, C, D] = await Promise.all([
    openPage(browser, "A", ""),
    openPage(browser, "B", ""),
    openPage(browser, "C", ""),
    openPage(browser, "D", "?transports=polling"),
  ]);
  const all = [A, B, C, D];

  for (const p of all) {
    await waitFor(p, "connected", textIs, ["status", "connected"], "status");
  }
  // Each default page starts on polling and upgrades to WebSocket.
  for (const p of [A, B, C]) {
    await waitFor(p, "transport ends on websocket", textIs, ["transport", "websocket"], "transport");
    const history = await p.page.evaluate(() => document.getElementById("transport").dataset.history);
    expect(`${p.name}: transport started on polling`, history === "polling,websocket", `history ${history}`);
  }
  // D never upgrades. Give an upgrade time to happen before checking.
  await sleep(QUIET_MS);
  {
    const history = await D.page.evaluate(() => document.getElementById("transport").dataset.history);
    expect("D: stays on polling", history === "polling", `history ${history}`);
  }
  const ids = await Promise.all(all.map((p) => p.page.evaluate(textOf, "socket-id")));
  expect("four distinct socket ids", new Set(ids).size === 4 && !ids.includes("–"), `ids ${JSON.stringify(ids)}`);

  // socket.broadcast.emit: everyone but the sender.
  const fromA = `hello from A ${Date.now()}`;
  await send(A, fromA);
  for (const p of [B, C, D]) {
    await waitFor(p, "gets A's message", hasTheirs, fromA, theirs);
  }
  await sleep(QUIET_MS);
  expect("A: own message not echoed back", (await A.page.evaluate(countTheirs, fromA)) === 0, "A received its own broadcast");
  for (const p of [B, C, D]) {
    const n = await p.page.evaluate(countTheirs, fromA);
    expect(`${p.name}: A's message exactly once`, n === 1, `${n} copies`);
  }

  // The polling-only page chats too.
  const fromD = `polling hello from D ${Date.now()}`;
  await send(D, fromD);
  for (const p of [A, B, C]) {
    await waitFor(p, "gets D's message", hasTheirs, fromD, theirs);
  }
  await sleep(QUIET_MS);
  expect("D: own message not echoed back", (await D.page.evaluate(countTheirs, fromD)) === 0, "D received its own broadcast");

  // Rooms: the welcome goes to the joiner only.
  await B.page.click("#join-red");
  await C.page.click("#join-blue");
  await waitFor(B, "welcome to team-red", textIs, ["welcome", "Welcome to the team-red fan club!"], "welcome");
  await waitFor(C, "welcome to team-blue", textIs, ["welcome", "Welcome to the team-blue fan club!"], "welcome");
  await sleep(QUIET_MS);
  for (const p of [A, D]) {
    const w = await p.page.evaluate(textOf, "welcome");
    expect(`${p.name}: no welcome for others' joins`, w === "", `welcome shows ${JSON.stringify(w)}`);
  }
  {
    const w = await B.page.evaluate(textOf, "welcome");
    expect("B: did not get C's welcome", w === "Welcome to the team-red fan club!", `welcome shows ${JSON.stringify(w)}`);
  }

  // io.to(team).emit: a team-red score reaches B only. The blue score is
  // sent after it on the same server, so once C has the blue one, a red
  // one wrongly sent to C would already have arrived.
  await postScore("team-red", 42);
  await waitFor(B, "score 42 for team-red", textIs, ["score", "42"], "score");
  await postScore("team-blue", 7);
  await waitFor(C, "score 7 for team-blue", textIs, ["score", "7"], "score");
  await sleep(QUIET_MS);
  const updates = async (p) => p.page.evaluate(() => [document.getElementById("score").textContent, document.getElementById("score").dataset.updates]);
  for (const [p, want] of [[A, ["–", "0"]], [B, ["42", "1"]], [C, ["7", "1"]], [D, ["–", "0"]]]) {
    const got = await updates(p);
    expect(`${p.name}: only its team's scores`, got[0] === want[0] && got[1] === want[1], `score ${got[0]} after ${got[1]} updates, want ${want[0]} after ${want[1]}`);
  }

  // A text score, as the socket.io examples send one, arrives as a string
  // and is shown as text.
  await postScore("team-red", "Red: 1, Blue: 0");
  await waitFor(B, "text score for team-red", textIs, ["score", "Red: 1, Blue: 0"], "score");
  expect("B: a text score is styled as text", await B.page.evaluate(() => document.getElementById("score").classList.contains("text")), "#score lacks class text");

  for (const p of all) {
    expect(`${p.name}: no page errors`, p.errors.length === 0, p.errors.join(" | "));
    expect(`${p.name}: still connected`, (await p.page.evaluate(textOf, "status")) === "connected", await p.page.evaluate(textOf, "status"));
  }
  if (failed > 0) {
    for (const p of all) {
      if (p.console.length) console.log(`--- console of ${p.name}:\n${p.console.join("\n")}`);
      if (p.ws.length) console.log(`--- WebSocket of ${p.name} (first 40 events):\n${p.ws.slice(0, 40).join("\n")}`);
      if (p.http.length) console.log(`--- polling of ${p.name} (first 40 events):\n${p.http.slice(0, 40).join("\n")}`);
    }
  }
} catch (err) {
  fail("run", err && err.stack ? err.stack : String(err));
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(overall);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
