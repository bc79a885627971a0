// probe.js plays the Admin UI and one application client (connect, join,
// an emit answered, a broadcast with a binary argument, data set,
// disconnect) against a
// server (sioloop's or the Node reference) and prints, as one JSON line,
// the events the UI received, each reduced to its name and the shape of
// its arguments (types and object keys, not values), so that the two
// servers' answers can be compared (reference_test.go).
//
//	node admin/testdata/probe.js http://127.0.0.1:PORT
const { io } = require("socket.io-client");

const base = process.argv[2];
// events: what the UI got once the application client connected, in
// order; greeting: what it got on connecting, as distinct events (their
// order is not fixed on sioloop: its notifications and the admin socket's
// own emits leave from different goroutines).
const events = [];
let greeting = null;
let statsShape = null;
let refused = null;

// shape reduces a value to its structure. Headers and query hold what
// the client sent, which differs between requests: only their kind.
function shape(v, key) {
  if (v === null) return "null";
  if (Array.isArray(v)) {
    // The distinct shapes of the elements.
    const seen = new Map();
    for (const e of v) {
      const s = shape(e);
      seen.set(JSON.stringify(s), s);
    }
    return [...seen.keys()].sort().map((k) => seen.get(k));
  }
  if (typeof v === "object") {
    if (key === "headers" || key === "query" || key === "data") return "object";
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = shape(v[k], k);
    return out;
  }
  return typeof v;
}

const timer = setTimeout(() => {
  console.error("probe: time limit");
  process.exit(2);
}, 30000);

function connect(nsp, opts) {
  return new Promise((resolve, reject) => {
    const s = io(base + nsp, { forceNew: true, reconnection: false, ...opts });
    s.once("connect", () => resolve(s));
    s.once("connect_error", (err) => {
      s.close();
      reject(err);
    });
  });
}

const until = (pred) =>
  new Promise((resolve) => {
    const check = () => (pred() ? resolve() : setTimeout(check, 10));
    check();
  });

(async () => {
  try {
    await connect("/admin", { auth: { username: "admin", password: "wrong" } });
  } catch (err) {
    refused = { message: err.message, data: err.data === undefined ? "undefined" : err.data };
  }
  const ui = io(base + "/admin", {
    forceNew: true,
    reconnection: false,
    transports: ["websocket"],
    auth: { username: "admin", password: "changeit" },
  });
  ui.onAny((name, ...args) => {
    if (name === "server_stats") {
      if (!statsShape && args[0].aggregatedEvents.length > 0) statsShape = shape(args[0]);
      return;
    }
    events.push({ name, args: args.map((a) => shape(a)) });
  });
  await new Promise((r) => ui.once("connect", r));
  // Its own room and connection, the session, the config, the sockets.
  await until(() => events.length >= 5);
  const seen = new Map(events.splice(0).map((e) => [JSON.stringify(e), e]));
  greeting = [...seen.keys()].sort().map((k) => seen.get(k));

  const user = await connect("/", { transports: ["websocket"] });
  await until(() => events.some((e) => e.name === "socket_connected"));
  await user.emitWithAck("join", "lobby");
  user.emit("hello");
  await new Promise((r) => user.once("reply", r));
  await user.emitWithAck("shout");
  await until(() => events.filter((e) => e.name === "event_sent").length === 2);
  await user.emitWithAck("data");
  await until(() => events.some((e) => e.name === "socket_updated"));
  await until(() => events.some((e) => e.name === "event_sent"));
  user.disconnect();
  await until(() => events.filter((e) => e.name === "room_left").length === 2);
  await until(() => statsShape !== null);
  ui.disconnect();
  clearTimeout(timer);
  console.log(JSON.stringify({ refused, greeting, events, stats: statsShape }));
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
