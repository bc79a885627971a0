// Engine.IO scenarios run with the real engine.io-client 6.6 against a bare
// sioloop Engine.IO server started by the Go tests (eio_test.go).
//
//   node eio.mjs <scenario> <baseURL> [options as JSON]
import { Socket } from "engine.io-client";
import { plain, once, until, run } from "./lib.mjs";

const [, , scenario, url, rawOpts] = process.argv;
const opts = rawOpts ? JSON.parse(rawOpts) : {};

// open creates a client socket and resolves once it is open; messages are
// collected from the start (the server speaks first in some scenarios).
async function open(extra = {}) {
  const socket = new Socket(url, { transports: opts.transports, ...extra });
  const messages = [];
  socket.on("message", (m) => messages.push(m));
  const closed = once(socket, "close", 15000);
  closed.catch(() => {});
  await once(socket, "open", 5000);
  return { socket, messages, closed };
}

async function waitUpgrade(socket) {
  if (socket.transport.name !== "websocket") await once(socket, "upgrade", 5000);
}

// basic: text and binary both ways (the server greets, then echoes).
async function basic() {
  const { socket, messages, closed } = await open();
  const r = { openTransport: socket.transport.name };
  const bin = new Uint8Array(256).map((_, i) => 255 - i);
  socket.send("héllo ✓ \u0000");
  socket.send(bin);
  socket.send(Buffer.from("raw buffer"));
  socket.send("");
  await until(() => messages.length >= 6, 5000, "6 messages");
  if (opts.expectUpgrade) await waitUpgrade(socket);
  r.messages = messages.map(plain);
  r.transport = socket.transport.name;
  socket.close();
  [r.closeReason] = await closed;
  return r;
}

// big: messages just under maxPayload (1e6) each way.
async function big() {
  const { socket, messages, closed } = await open();
  const text = "0123456789".repeat(99999); // 999,990 characters
  const bin = Buffer.alloc(999000);
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 7) & 0xff;
  socket.send(text);
  if (opts.binary) socket.send(bin);
  const want = opts.binary ? 2 : 1;
  await until(() => messages.length >= want, 10000, `${want} big echoes`);
  const r = { textLen: messages[0].length, textEqual: messages[0] === text };
  if (opts.binary) {
    const b = Buffer.from(messages[1]);
    r.binLen = b.length;
    r.binEqual = b.equals(bin);
  }
  r.transport = socket.transport.name;
  socket.close();
  await closed;
  return r;
}

// stream: the client sends a numbered stream while the polling→WebSocket
// upgrade runs and the server sends its own; both keep going until well
// after the upgrade. Order must hold in both directions.
async function stream() {
  const { socket, messages } = await open();
  const r = { openTransport: socket.transport.name };
  let upgraded = false;
  let sent = 0;
  socket.on("upgrade", () => {
    upgraded = true;
    r.sentAtUpgrade = sent;
    r.receivedAtUpgrade = messages.length;
  });
  const after = opts.after || 100;
  while (!upgraded || sent < r.sentAtUpgrade + after) {
    // A few messages per macrotask, so that several are in flight at
    // every stage of the upgrade.
    for (let k = 0; k < 3; k++) socket.send(`c:${sent++}`);
    await new Promise((res) => setTimeout(res, 1));
    if (sent > 20000) throw new Error("no upgrade after 20000 messages");
  }
  socket.send(`c:end:${sent}`);
  await until(() => messages.includes(`e:end:${sent}`) && messages.some((m) => m.startsWith("s:end:")), 10000, "both ends");
  r.sent = sent;
  // Echoes ("e:i") and the server's own stream ("s:i") interleave; each
  // must be in order, without loss or duplicates.
  const echoes = messages.filter((m) => /^e:\d+$/.test(m)).map((m) => +m.slice(2));
  const own = messages.filter((m) => /^s:\d+$/.test(m)).map((m) => +m.slice(2));
  const inOrder = (xs) => xs.every((x, i) => x === i);
  r.echoes = echoes.length;
  r.echoesInOrder = inOrder(echoes);
  r.serverSent = +messages.find((m) => m.startsWith("s:end:")).slice(6);
  r.own = own.length;
  r.ownInOrder = inOrder(own);
  r.transport = socket.transport.name;
  socket.close();
  return r;
}

// silent: a client whose pongs are dropped.
async function silent() {
  const socket = new Socket(url, { transports: opts.transports });
  const send = socket._sendPacket.bind(socket);
  let pongs = 0;
  socket._sendPacket = (type, ...rest) => {
    if (type === "pong") {
      pongs++;
      return;
    }
    send(type, ...rest);
  };
  // The client's own heartbeat check (pingInterval+pingTimeout after the
  // last ping) is switched off, so that a server running late under load
  // shows up as late, not as a client-side close.
  socket._resetPingTimeout = () => {};
  await once(socket, "open", 5000);
  const opened = Date.now();
  const [reason] = await once(socket, "close", 5000);
  return { reason, pongsDropped: pongs, closedAfterMs: Date.now() - opened };
}

// serverClose: the server sends one last message and closes the session.
async function serverClose() {
  const { socket, messages, closed } = await open();
  socket.send("close-me");
  const [reason, details] = await closed;
  return { reason, details: details ? String(details.description || details.message || JSON.stringify(details)) : "", messages: messages.map(plain) };
}

// serverCloseMany: many sessions closed by the server at once.
async function serverCloseMany() {
  const n = opts.n || 30;
  const reasons = await Promise.all(
    Array.from({ length: n }, async () => {
      const { socket, messages, closed } = await open();
      await until(() => messages.length >= 2, 5000, "greeting");
      socket.send("close-me-async");
      const [reason] = await closed;
      return reason;
    }),
  );
  return { reasons };
}

const scenarios = { basic, big, stream, silent, serverClose, serverCloseMany };
if (!scenarios[scenario]) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
run(scenarios[scenario]);
