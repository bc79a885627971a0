// v2-polling.spec.mjs loads socket.io-client 2.5.0's browser bundle in
// headless Chromium and sends binary over HTTP long-polling only, where
// Engine.IO v3 carries it in binary payloads (XHR2, application/
// octet-stream). It is run by v2_polling_test.go:
//
//	node interop/browser/v2-polling.spec.mjs http://127.0.0.1:PORT [...]
//
// For each base URL it prints one JSON line with what the page saw: the
// bytes of the ack and of the server's binary emit, the transport, and
// the Content-Type of every polling request and response. The exit code
// is 1 on any page error, 2 on a crash or the overall time limit.
import { launchChromium } from "./launch.mjs";

const bases = process.argv.slice(2);
if (bases.length === 0) {
  console.error("usage: node v2-polling.spec.mjs http://host:port ...");
  process.exit(2);
}
const overall = setTimeout(() => {
  console.error("overall time limit (60s) exceeded");
  process.exit(2);
}, 60000);

// In the page: connect over polling, emit "bin" with every byte value
// (0xFF included, the v3 binary record separator) as an ArrayBuffer, and
// wait for its ack and for the server's "bin-back".
async function exchange() {
  const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
  const socket = io({ transports: ["polling"], reconnection: false, forceNew: true });
  const timeout = (what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${what}`)), 10000));
  await Promise.race([new Promise((resolve) => socket.on("connect", resolve)), timeout("connect")]);
  const sent = new Uint8Array(300);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 7) % 256;
  sent[0] = 0xff;
  sent[1] = 0x00;
  const back = new Promise((resolve) => socket.on("bin-back", (b) => resolve(b)));
  const ack = new Promise((resolve) => socket.emit("bin", sent.buffer, "label", (rev, n) => resolve([rev, n])));
  const [[rev, n], echoed] = await Promise.race([Promise.all([ack, back]), timeout("ack and bin-back")]);
  const out = {
    sent: hex(sent.buffer),
    ack: rev instanceof ArrayBuffer ? hex(rev) : `not an ArrayBuffer: ${Object.prototype.toString.call(rev)}`,
    ackLen: n,
    back: echoed instanceof ArrayBuffer ? hex(echoed) : `not an ArrayBuffer: ${Object.prototype.toString.call(echoed)}`,
    transport: socket.io.engine.transport.name,
    supportsBinary: socket.io.engine.transport.supportsBinary,
  };
  socket.close();
  return out;
}

let browser;
let code = 0;
try {
  browser = await launchChromium();
  for (const base of bases) {
    const page = await browser.newPage();
    const errors = [];
    const polls = [];
    // Requests to /socket.io/ sent, and those that ended (answered or
    // failed): the page resolves on the ack, which comes in a GET, and the
    // answer to the POST that carried the event may be reported after it.
    let sent = 0;
    let ended = 0;
    let onEnded = () => {};
    const ours = (req) => req.url().includes("/socket.io/");
    page.on("pageerror", (err) => errors.push(String(err)));
    page.on("request", (req) => {
      if (ours(req)) sent++;
    });
    page.on("requestfailed", (req) => {
      if (!ours(req)) return;
      ended++;
      onEnded();
    });
    page.on("response", (resp) => {
      const req = resp.request();
      if (!ours(req)) return;
      ended++;
      polls.push(`${req.method()} ${req.headers()["content-type"] || "-"} -> ${resp.status()} ${resp.headers()["content-type"] || "-"}`);
      onEnded();
    });
    await page.goto(base + "/");
    const out = await page.evaluate(exchange);
    // Every request has ended once the page closed its socket (the last
    // GET fails then); wait for their events, up to 10 s.
    await new Promise((resolve) => {
      const limit = setTimeout(resolve, 10000);
      onEnded = () => {
        if (ended >= sent) {
          clearTimeout(limit);
          resolve();
        }
      };
      onEnded();
    });
    out.base = base;
    out.polls = polls;
    out.errors = errors;
    if (errors.length) code = 1;
    console.log(JSON.stringify(out));
    await page.close();
  }
} catch (e) {
  console.error(e && e.stack ? e.stack : String(e));
  code = 2;
} finally {
  if (browser) await browser.close();
  clearTimeout(overall);
}
process.exit(code);
