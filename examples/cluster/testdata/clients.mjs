// Real socket.io-clients against the cluster demo, for cluster_test.go.
// Usage: node clients.mjs STICKY_URL ROUND_ROBIN_URL
//
// STICKY_URL is nginx with the shipped nginx.conf (ip_hash); ROUND_ROBIN_URL
// is a balancer without stickiness that sends each request to the next node.
// nginx's ip_hash hashes the first three bytes of the client's IPv4
// address, so the clients that must reach different nodes connect from
// different /24s of the loopback network (127.0.1.1, 127.0.2.1, ...; Linux
// routes all of 127/8 to lo).
//
// It prints one JSON line with what every client observed and exits 0, or
// prints the error to stderr and exits 1. cluster_test.go does the
// asserting; this script only waits for what it needs to go on, each wait
// bounded, so that a broken cluster fails with a message.
import http from "node:http";
import { io } from "socket.io-client";

const [stickyURL, rrURL] = process.argv.slice(2);
if (!stickyURL || !rrURL) {
  console.error("usage: node clients.mjs <sticky-url> <round-robin-url>");
  process.exit(2);
}

const WAIT_MS = 10_000;

// open connects one client; every event it receives is recorded in rec and
// re-evaluates the client's pending waits.
function open(name, url, transports, localAddress) {
  const opts = { transports, reconnection: false, forceNew: true };
  if (localAddress) {
    // The WebSocket transport takes localAddress; polling (XMLHttpRequest
    // on node:http) only an agent, which passes it on to connect().
    opts.localAddress = localAddress;
    opts.agent = new http.Agent({ keepAlive: true, localAddress });
  }
  const socket = io(url, opts);
  const rec = {
    name,
    transports,
    localAddress: localAddress || "",
    id: "",
    node: "",
    connected: false,
    firstTransport: "",
    finalTransport: "",
    chat: [],
    scores: [],
    disconnects: [],
    connectErrors: [],
  };
  const waits = new Set();
  const changed = () => {
    for (const w of waits) {
      if (w.pred()) {
        waits.delete(w);
        w.resolve();
      }
    }
  };
  const until = (what, pred) => {
    let timer;
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      waits.add(w);
      timer = setTimeout(() => {
        waits.delete(w);
        reject(new Error(`${name}: timeout after ${WAIT_MS}ms waiting for ${what}; saw ${JSON.stringify(rec)}`));
      }, WAIT_MS);
      changed();
    }).finally(() => clearTimeout(timer));
  };
  socket.io.on("open", () => {
    const engine = socket.io.engine;
    rec.firstTransport = engine.transport.name;
    engine.on("upgrade", changed);
  });
  socket.on("connect", () => {
    rec.connected = true;
    rec.id = socket.id;
    changed();
  });
  socket.on("connect_error", (err) => {
    rec.connectErrors.push(`${err.message}${err.description !== undefined ? " " + err.description : ""}`);
    changed();
  });
  socket.on("disconnect", (reason) => {
    rec.disconnects.push(reason);
    changed();
  });
  socket.on("welcome-message", (text) => {
    const m = /\((node-\d+)\)$/.exec(String(text));
    rec.node = m ? m[1] : `unparsed: ${text}`;
    changed();
  });
  socket.on("new-chat-message", (msg) => {
    rec.chat.push(msg);
    changed();
  });
  socket.on("score-update", (score) => {
    rec.scores.push(score);
    changed();
  });
  const transport = () => socket.io.engine && socket.io.engine.transport.name;
  return { name, socket, rec, until, transport };
}

// join connects c, joins team and learns c's node from the welcome message.
async function join(c, team) {
  await c.until("connect", () => c.rec.connected);
  c.socket.emit("join-team-room", team);
  await c.until(`welcome to ${team}`, () => c.rec.node !== "");
}

// chat makes every client send one message and then a last one, and waits
// until every client has the last one of every other. Each sender's
// messages reach a receiver in order, so once the last one is in, a
// duplicate of the first would be too.
async function chat(clients) {
  for (const c of clients) {
    c.socket.emit("chat-message", `${c.name}: hello`);
    c.socket.emit("chat-message", `${c.name}: last`);
  }
  await Promise.all(clients.map((c) =>
    c.until("everyone's last message", () =>
      clients.every((o) => o === c || c.rec.chat.includes(`${o.name}: last`)))));
}

async function postScore(url, team, score) {
  const resp = await fetch(new URL(`/score?team=${team}`, url), { method: "POST", body: String(score) });
  if (resp.status !== 204) throw new Error(`POST /score?team=${team}: ${resp.status} ${await resp.text()}`);
}

function finish(clients) {
  for (const c of clients) c.rec.finalTransport = c.transport() || "";
  const recs = clients.map((c) => structuredClone(c.rec)); // before the disconnects below
  for (const c of clients) c.socket.disconnect();
  return recs;
}

async function sticky() {
  const clients = [
    ["p1", ["polling"], "127.0.1.1", "team-red"],
    ["w2", ["websocket"], "127.0.2.1", "team-red"],
    ["p3", ["polling"], "127.0.3.1", "team-red"],
    ["w3", ["websocket"], "127.0.3.1", "team-blue"],
    // Polling first, then the upgrade: what a browser does. The upgrade
    // request must reach the node that holds the polling session.
    ["u2", ["polling", "websocket"], "127.0.2.1", "team-blue"],
  ].map(([name, transports, addr, team]) => ({ ...open(name, stickyURL, transports, addr), team }));
  await Promise.all(clients.map((c) => join(c, c.team)));
  const u2 = clients.find((c) => c.name === "u2");
  await u2.until("upgrade to websocket", () => u2.transport() === "websocket");

  await chat(clients);

  // Rooms: POST /score through nginx, to whichever node it picks; each
  // team's members, on every node, get their team's scores only. The
  // second score of each team is the fence for the first.
  await postScore(stickyURL, "team-red", 7);
  await postScore(stickyURL, "team-blue", 9);
  await postScore(stickyURL, "team-red", 8);
  await postScore(stickyURL, "team-blue", 10);
  await Promise.all(clients.map((c) => {
    const fence = c.team === "team-red" ? 8 : 10;
    return c.until(`score ${fence}`, () => c.rec.scores.includes(fence));
  }));
  return finish(clients);
}

async function roundRobin() {
  // Polling without stickiness: the handshake reaches one node, the
  // requests after it others, which do not know the session.
  const p = open("rr-polling", rrURL, ["polling"]);
  await p.until("connect_error", () => p.rec.connectErrors.length > 0 || p.rec.connected);
  const polling = finish([p])[0];

  // WebSocket only: one request per session, so any node will do. Opened
  // one after the other, they land on at least two nodes (on three, unless
  // a late request of the polling client, such as its close packet, falls
  // between them).
  const ws = [];
  for (const name of ["rr-w1", "rr-w2", "rr-w3"]) {
    const c = open(name, rrURL, ["websocket"]);
    await join(c, "team-red");
    ws.push(c);
  }
  await chat(ws);
  return { polling, websocket: finish(ws) };
}

async function main() {
  const stickyRecs = await sticky();
  const rr = await roundRobin();
  console.log(JSON.stringify({ sticky: stickyRecs, rrPolling: rr.polling, rrWebsocket: rr.websocket }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(1);
  },
);
