// Socket.IO clients talking to sioloop through the nginx proxy over HTTPS.
// Usage: node client.mjs https://127.0.0.1:PORT IDLE_MS
//
// It prints one JSON line with what each client observed and exits 0, or
// prints the error to stderr and exits 1. proxy_test.go does the asserting.
import { io } from "socket.io-client";

const url = process.argv[2];
const idleMs = Number(process.argv[3]);
if (!url || !(idleMs >= 0)) {
  console.error("usage: node client.mjs <https-url> <idle-ms>");
  process.exit(2);
}

// The test's certificate is self-signed.
const tls = { rejectUnauthorized: false };

// Bound every wait so that a broken proxy fails with a message, well before
// the Go test's own timeout.
function within(ms, what, p) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms}ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// open connects one client and records how its transport evolves.
function open(name, transports) {
  const socket = io(url, { ...tls, transports, reconnection: false, forceNew: true });
  const rec = {
    name,
    id: "",
    firstTransport: "",
    upgradedTo: "",
    disconnects: [],
    connectErrors: [],
    shouted: null,
  };
  // The Manager's "open" comes with the Engine.IO handshake, before any
  // upgrade can finish, so the first transport and the upgrade are both
  // seen.
  socket.io.on("open", () => {
    const engine = socket.io.engine;
    rec.firstTransport = engine.transport.name;
    engine.on("upgrade", (t) => {
      rec.upgradedTo = t.name;
    });
  });
  socket.on("disconnect", (reason) => rec.disconnects.push(reason));
  socket.on("connect_error", (err) => rec.connectErrors.push(String(err && err.message)));
  socket.on("shouted", (...args) => {
    rec.shouted = args;
  });
  const connected = new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return { socket, rec, connected: within(5000, `${name} connect`, connected) };
}

// echo sends payload and reports whether the ack carried it back intact.
async function echo(c, payload) {
  // emit with a callback rather than emitWithAck, which keeps only the
  // first argument of the ack.
  const ack = await within(5000, `${c.rec.name} echo ack`, new Promise((resolve) => {
    c.socket.emit("echo", ...payload, (...args) => resolve(args));
  }));
  const want = JSON.stringify(payload);
  const got = JSON.stringify(ack);
  return got === want ? "ok" : `mismatch: sent ${want.slice(0, 120)} got ${got.slice(0, 120)}`;
}

async function main() {
  const clients = [
    open("upgrade", ["polling", "websocket"]),
    open("websocket", ["websocket"]),
    open("polling", ["polling"]),
  ];
  await Promise.all(clients.map((c) => c.connected));
  for (const c of clients) c.rec.id = c.socket.id;

  const byName = Object.fromEntries(clients.map((c) => [c.rec.name, c]));
  await within(5000, "upgrade to websocket", (async () => {
    while (byName.upgrade.rec.upgradedTo === "") await sleep(10);
  })());

  // Round trip 1 on every transport. The polling client's payload exceeds
  // nginx's default proxy buffers (it lands in a POST body), and the
  // WebSocket clients' crosses several frames' worth of TCP segments.
  const big = "x".repeat(200_000);
  for (const c of clients) {
    c.rec.echo1 = await echo(c, [`hello from ${c.rec.name}`, { n: 1, nested: [true, null, 2.5] }, big]);
  }

  // Broadcast: one client shouts, the server emits to everyone.
  const shouted = clients.map((c) => within(5000, `${c.rec.name} receives broadcast`, new Promise((resolve) => {
    c.socket.once("shouted", resolve);
  })));
  byName.websocket.socket.emit("shout", "hi all");
  await Promise.all(shouted);

  // Idle for a few heartbeats (the Go test picks idleMs): the proxy must
  // carry pings and pongs (and, for polling, let the server hold the
  // long-poll GET) without dropping anything.
  await sleep(idleMs);

  // Round trip 2 after the idle period, on the same connections.
  for (const c of clients) {
    c.rec.echo2 = await echo(c, [`again from ${c.rec.name}`]);
    c.rec.finalTransport = c.socket.io.engine.transport.name;
  }

  // Serialize before disconnecting, which records a disconnect of its own.
  const report = JSON.stringify({ clients: clients.map((c) => c.rec) });
  for (const c of clients) c.socket.disconnect();
  console.log(report);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(1);
  },
);
