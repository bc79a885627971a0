// Socket.IO scenarios run with the real socket.io-client 4.8 against a
// sioloop server started by the Go tests (sio_test.go).
//
//   node sio.mjs <scenario> <baseURL> [options as JSON]
//
// Each scenario reports what the client observed as one JSON line; the Go
// test compares it with what it expects and with what the server recorded.
import { io, Manager } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { hex, plain, once, until, sleep, run } from "./lib.mjs";

const [, , scenario, url, rawOpts] = process.argv;
const opts = rawOpts ? JSON.parse(rawOpts) : {};

// connect resolves once socket is connected, or rejects with the
// connect_error (or a timeout).
function connect(socket, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect within ${ms}ms`)), ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// connectError resolves with the connect_error the socket is refused with.
function connectError(socket, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect_error within ${ms}ms`)), ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      reject(new Error("connected, want connect_error"));
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      resolve({ message: err.message, data: err.data === undefined ? "<undefined>" : err.data });
    });
  });
}

// waitUpgrade resolves once the socket's engine runs on WebSocket.
async function waitUpgrade(socket) {
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket") return;
  await once(engine, "upgrade", 5000);
}

// emitAck emits with a callback ack (all ack arguments are kept, unlike
// emitWithAck which resolves with the first one only).
function emitAck(socket, ms, ...args) {
  return new Promise((resolve) => socket.timeout(ms).emit(...args, (...res) => resolve(res)));
}

// basic: events and acks both ways with binary nested in objects and acks,
// both kinds of ack timeout, and the transport seen on both sides.
async function basic() {
  const parser = opts.parser === "msgpack" ? { parser: msgpackParser } : {};
  // The TLS servers have a self-signed certificate.
  const tls = url.startsWith("https:") ? { rejectUnauthorized: false } : {};
  // forceBase64: binary goes as base64 text, in polling bodies and in
  // WebSocket text frames alike (the b64=1 query asks the same of the server).
  const b64 = opts.forceBase64 ? { forceBase64: true } : {};
  const socket = io(url, { transports: opts.transports, reconnection: false, forceNew: true, ...parser, ...tls, ...b64 });
  const r = { questions: [], ignored: 0 };
  socket.on("question", (q, cb) => {
    r.questions.push(plain(q));
    cb({ sum: q.xs.reduce((a, b) => a + b, 0), echo: q.blob }, Buffer.from([0xbe, 0xef]));
  });
  socket.on("ignore-me", () => {
    // The ack callback is deliberately never called: the server times out.
    r.ignored++;
  });
  const asked = once(socket, "asked", 8000);
  await connect(socket);
  r.id = socket.id;
  if (opts.expectUpgrade) await waitUpgrade(socket);
  r.clientTransport = socket.io.engine.transport.name;

  const [err, a, b] = await emitAck(
    socket,
    3000,
    "echo",
    { text: "héllo ✓ \u0000 \"q\"", bin: Buffer.from([1, 2, 3]), nested: { data: new Uint8Array([4, 5, 6]), n: 41 } },
    Buffer.from([7, 8, 9]),
  );
  r.echoErr = err ? err.message : null;
  r.echoAck = [plain(a), plain(b)];

  const t0 = Date.now();
  try {
    await socket.timeout(200).emitWithAck("never-acked", 1);
    r.timeoutErr = null;
  } catch (e) {
    r.timeoutErr = e.message;
  }
  r.timeoutMs = Date.now() - t0;

  socket.emit("ask-me");
  const [summary] = await asked;
  r.asked = plain(summary);
  r.serverTransport = await socket.timeout(3000).emitWithAck("transport");
  r.clientTransportEnd = socket.io.engine.transport.name;

  const disconnected = once(socket, "disconnect", 1000);
  socket.disconnect();
  [r.disconnectReason] = await disconnected;
  return r;
}

// rooms: four clients on different transports in different rooms; one of
// them triggers a series of broadcasts; each reports what it received.
async function rooms() {
  const specs = [
    { name: "A", transports: ["polling"] },
    { name: "B", transports: ["websocket"] },
    { name: "C", transports: ["polling", "websocket"] },
    { name: "D", transports: ["websocket"] },
  ];
  const clients = specs.map((s) => {
    const socket = io(url, { transports: s.transports, reconnection: false, forceNew: true, auth: { name: s.name } });
    const log = [];
    socket.onAny((event, ...args) => {
      log.push([event, ...args.map((x) => (typeof x === "function" ? "<ack>" : plain(x)))]);
    });
    socket.on("ask", (cb) => {
      if (s.name !== "D") cb(s.name); // D never answers: the server times out on it
    });
    return { ...s, socket, log, ended: once(socket, "end", 10000) };
  });
  await Promise.all(clients.map((c) => connect(c.socket)));
  // "ready" makes the server join the rooms before anything is broadcast.
  await Promise.all(clients.map((c) => c.socket.timeout(3000).emitWithAck("ready")));
  const c = clients.find((x) => x.name === "C");
  await waitUpgrade(c.socket);
  clients[0].socket.emit("run");
  await Promise.all(clients.map((x) => x.ended));
  const out = {};
  for (const x of clients) {
    out[x.name] = { log: x.log, transport: x.socket.io.engine.transport.name };
    x.socket.disconnect();
  }
  return out;
}

// namespaces: multiplexing "/" and "/admin" on one connection, namespace
// middleware errors with data, dynamic namespaces, unknown namespaces.
async function namespaces() {
  const r = {};
  const m = new Manager(url, { reconnection: false });
  const root = m.socket("/");
  const admin = m.socket("/admin", { auth: { token: "secret" } });
  const news = { root: [], admin: [], dyn: [] };
  root.on("news", (x) => news.root.push(x));
  admin.on("news", (x) => news.admin.push(x));
  root.connect();
  admin.connect();
  await Promise.all([connect(root), connect(admin)]);
  r.root = await root.timeout(3000).emitWithAck("whoami");
  r.admin = await admin.timeout(3000).emitWithAck("whoami");

  const fresh = (path, auth) => io(url + path, { forceNew: true, reconnection: false, auth });
  const dyn = fresh("/dyn-42");
  dyn.on("news", (x) => news.dyn.push(x));
  await connect(dyn);
  r.dyn = await dyn.timeout(3000).emitWithAck("whoami");

  const refused = {
    adminBadToken: fresh("/admin", { token: "nope" }),
    rootDenied: fresh("/", { deny: true }),
    dynUnlucky: fresh("/dyn-13"),
    dynNoMatch: fresh("/dyn-x"),
    unknown: fresh("/nope"),
  };
  // Listen on all of them at once: they are refused in any order.
  const outcomes = Object.entries(refused).map(([k, s]) =>
    connectError(s).then(
      (e) => [k, e],
      (e) => {
        throw new Error(`${k}: ${e.message}`);
      },
    ),
  );
  r.errors = Object.fromEntries(await Promise.all(outcomes));

  r.cmd = await root.timeout(3000).emitWithAck("cmd");
  await until(() => news.root.length && news.admin.length && news.dyn.length, 3000, "news in every namespace");
  await sleep(100); // anything misrouted would show up by now
  r.news = news;
  for (const s of [root, admin, dyn, ...Object.values(refused)]) s.disconnect();
  return r;
}

// reasons: one client per disconnect cause; each reports the reason its
// "disconnect" event gave. The server records its own side by case name.
// Cases with a sibling also open "/sibling" on the same Manager (one
// Engine.IO connection), to tell a namespace disconnect from a closed
// connection: the sibling must survive the first and not the second.
async function reasons() {
  const cases = {
    "server-disconnect": { transports: ["websocket"], sibling: true, act: (s) => s.emit("kick", false) },
    "server-disconnect-close": { transports: ["websocket"], sibling: true, act: (s) => s.emit("kick", true) },
    "server-disconnect-polling": { transports: ["polling"], sibling: true, act: (s) => s.emit("kick", false) },
    "server-disconnect-close-polling": { transports: ["polling"], sibling: true, act: (s) => s.emit("kick", true) },
    // The DISCONNECT follows an event still in flight on polling.
    "server-disconnect-close-after-emit-polling": { transports: ["polling"], act: (s) => s.emit("kick-after-emit") },
    "disconnect-sockets": { transports: ["polling", "websocket"], sibling: true, act: (s) => s.emit("kick-room") },
    "client-disconnect": { transports: ["websocket"], sibling: true, act: (s) => s.disconnect() },
    "client-disconnect-polling": { transports: ["polling"], act: (s) => s.disconnect() },
    "transport-close-ws": { transports: ["websocket"], act: (s) => s.io.engine.close() },
    "transport-close-polling": { transports: ["polling"], act: (s) => s.io.engine.close() },
    // A packet socket.io cannot decode: the server closes the connection.
    "forced-close": { transports: ["websocket"], act: (s) => s.io.engine.send("9garbage") },
    // An Engine.IO packet of unknown type, sent raw on the WebSocket.
    "parse-error": { transports: ["websocket"], act: (s) => s.io.engine.transport.ws.send("x") },
    // In Engine.IO v4 only the server pings: a client ping is an error.
    "transport-error": { transports: ["websocket"], act: (s) => s.io.engine._sendPacket("ping") },
  };
  const results = {};
  await Promise.all(
    Object.entries(cases).map(async ([name, c]) => {
      const m = new Manager(url, { transports: c.transports, reconnection: false });
      const socket = m.socket("/", { auth: { case: name } });
      const sibling = c.sibling ? m.socket("/sibling", { auth: { case: name + "/sibling" } }) : null;
      const sockets = sibling ? [socket, sibling] : [socket];
      for (const s of sockets) s.connect();
      await Promise.all(sockets.map((s) => connect(s)));
      // The server has seen the socket once this ack returns.
      await socket.timeout(3000).emitWithAck("ready");
      // The engine's close is awaited for 1 s after the socket's
      // disconnect, not from here: on a loaded machine the act alone can
      // take longer than that.
      let engineReason = null;
      m.engine.once("close", (reason) => (engineReason = reason));
      const engineClosed = async () => {
        if (engineReason !== null) return engineReason;
        return once(m.engine, "close", 1000).then(
          ([reason]) => reason,
          () => (engineReason !== null ? engineReason : "<open>"),
        );
      };
      const siblingGone = sibling
        ? once(sibling, "disconnect", 1000).then(
            ([reason]) => reason,
            () => "<connected>",
          )
        : Promise.resolve(null);
      const disconnected = once(socket, "disconnect", 5000);
      c.act(socket);
      const [reason] = await disconnected;
      results[name] = { reason, sibling: await siblingGone, engine: await engineClosed() };
      for (const s of sockets) s.disconnect();
    }),
  );
  return results;
}

// silent: a client that stops answering pings (its pongs are dropped).
async function silent() {
  const socket = io(url, { transports: opts.transports, reconnection: false, forceNew: true });
  const engine = socket.io.engine;
  const send = engine._sendPacket.bind(engine);
  let pings = 0;
  engine._sendPacket = (type, ...rest) => {
    if (type === "pong") {
      pings++;
      return;
    }
    send(type, ...rest);
  };
  // The client's own heartbeat check is switched off (see eio.mjs silent).
  engine._resetPingTimeout = () => {};
  await connect(socket);
  const [reason] = await once(socket, "disconnect", 5000);
  return { reason, pingsIgnored: pings };
}

// shutdown: the server shuts down while the client is connected.
async function shutdown() {
  const socket = io(url, { transports: opts.transports, reconnection: false, forceNew: true });
  await connect(socket);
  const disconnected = once(socket, "disconnect", 5000);
  socket.emit("shutdown");
  const [reason] = await disconnected;
  return { reason };
}

// recovery: ticks stream in through io.emit, a room and the socket's own
// room while the client drops its transport; after the reconnection the
// session must be recovered with nothing lost or repeated.
async function recovery() {
  const socket = io(url, {
    transports: opts.transports,
    forceNew: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 50,
    randomizationFactor: 0,
  });
  const got = { tick: [], rtick: [], ptick: [] };
  const r = { connects: [], disconnects: [] };
  let dropped = false;
  socket.on("connect", () => r.connects.push({ id: socket.id, recovered: socket.recovered }));
  socket.on("disconnect", (reason) => r.disconnects.push(reason));
  for (const k of Object.keys(got)) {
    socket.on(k, (i) => {
      got[k].push(i);
      if (k === "tick" && i === opts.dropAt && !dropped) {
        dropped = true;
        // Dropped from a timer, not from this handler: socket.io-client
        // emits decoded packets on process.nextTick, so packets decoded
        // with this one would land in the socket's receiveBuffer and be
        // emitted again, after the replay, upon reconnection (a client
        // quirk that a Node server triggers just the same).
        setTimeout(() => {
          r.droppedTransport = socket.io.engine.transport.name;
          socket.io.engine.close();
        }, 0);
      }
    });
  }
  const done = once(socket, "done", 15000);
  await connect(socket);
  if (opts.expectUpgrade) await waitUpgrade(socket);
  r.rooms = await socket.timeout(3000).emitWithAck("start");
  await done;
  r.got = got;
  r.finalTransport = socket.io.engine.transport.name;
  r.finalId = socket.id;
  r.recovered = socket.recovered;
  const report = JSON.parse(JSON.stringify(r)); // before our own disconnect
  socket.disconnect();
  return report;
}

// recoveryPrivate: B drops its transport; while it is away the server
// emits to A alone and to B's old socket; B then reconnects by hand.
async function recoveryPrivate() {
  const mk = (name) =>
    io(url, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { name } });
  const a = mk("A");
  const b = mk("B");
  const seen = { A: [], B: [] };
  a.onAny((ev, ...args) => seen.A.push([ev, ...args]));
  b.onAny((ev, ...args) => seen.B.push([ev, ...args]));
  await Promise.all([connect(a), connect(b)]);
  const helloA = once(a, "hello", 3000);
  const helloB = once(b, "hello", 3000);
  await a.timeout(3000).emitWithAck("greet-all");
  await Promise.all([helloA, helloB]); // B now holds an offset to recover from
  const idB = b.id;
  const gone = once(b, "disconnect", 3000);
  b.io.engine.close();
  await gone;
  // The server waits until it has seen B leave before emitting.
  const emitted = await a.timeout(5000).emitWithAck("while-b-away");
  const back = once(b, "connect", 5000);
  b.connect();
  await back;
  const recovered = b.recovered;
  await sleep(300); // replayed packets arrive right with the CONNECT reply
  const r = { emitted, idB, idBAfter: b.id, recovered, seen };
  a.disconnect();
  b.disconnect();
  return r;
}

// deflate: big events both ways over a WebSocket whose client (the ws
// package under socket.io-client) offers permessage-deflate with the
// options given; the bytes the TCP socket moved show what went compressed.
async function deflate() {
  const socket = io(url, { transports: ["websocket"], forceNew: true, perMessageDeflate: opts.perMessageDeflate });
  await connect(socket);
  const ws = socket.io.engine.transport.ws;
  const raw = ws._socket;
  const text = "the quick brown fox jumps over the lazy dog ".repeat(opts.repeat);
  const bin = Buffer.alloc(opts.binBytes, 7);
  const r0 = raw.bytesRead;
  const w0 = raw.bytesWritten;
  const [ackErr, ackText, ackBin] = await emitAck(socket, 10000, "echo", text, bin);
  if (ackErr) throw ackErr;
  const echoed = ackText === text && hex(ackBin) === bin.toString("hex");
  // A broadcast to the room of every socket (prepared once on the server).
  const cast = once(socket, "cast", 10000);
  socket.emit("broadcast-me", opts.repeat);
  const [castText] = await cast;
  const r1 = raw.bytesRead;
  const w1 = raw.bytesWritten;
  const small = await socket.timeout(5000).emitWithAck("small", "hi");
  const r = {
    extensions: ws.extensions,
    echoed,
    ackInfo: echoed ? "" : String(ackText).slice(0, 80) + " " + typeof ackBin,
    castOK: castText === "cast:" + text,
    small,
    read: r1 - r0,
    written: w1 - w0,
    payload: 2 * (text.length + bin.length) + text.length,
  };
  socket.disconnect();
  return r;
}

// structBinary: the server sends Go structs whose []byte fields (nested,
// in slices, maps, behind pointers) must arrive as Buffer objects, by
// emit, ack and broadcast; the client sends nested Buffers back, which the
// server decodes into []byte struct fields and returns in an ack.
async function structBinary() {
  // typed marks where binary is and of which kind: Buffer, ArrayBuffer or
  // another view, with the bytes in hex; other values as they are.
  const typed = (v) => {
    if (Buffer.isBuffer(v)) return { $buffer: v.toString("hex") };
    if (v instanceof ArrayBuffer) return { $arraybuffer: Buffer.from(v).toString("hex") };
    if (ArrayBuffer.isView(v)) return { $view: hex(v) };
    if (Array.isArray(v)) return v.map(typed);
    if (v && typeof v === "object") {
      const o = {};
      for (const [k, x] of Object.entries(v)) o[k] = typed(x);
      return o;
    }
    return v;
  };
  const socket = io(url, { transports: opts.transports, reconnection: false, forceNew: true });
  const r = {};
  const doc = once(socket, "doc", 5000);
  const bcast = once(socket, "doc-bcast", 5000);
  await connect(socket);
  const ack = await socket.timeout(5000).emitWithAck("send-docs");
  r.ack = typed(ack);
  r.doc = typed((await doc)[0]);
  r.bcast = typed((await bcast)[0]);
  r.upload = typed(
    await socket.timeout(5000).emitWithAck("upload", {
      name: "f.bin",
      blob: Buffer.from([0xca, 0xfe]),
      meta: { parts: [{ seq: 1, data: Buffer.from([1]) }, { seq: 2, data: new Uint8Array([2, 2]) }], cover: new Uint8Array([3]).buffer },
    }),
  );
  socket.disconnect();
  return r;
}

// burst: opts.n clients call io() at once from one address, as a load
// tool or the users behind one NAT do (polling handshakes first, then the
// upgrade); each must connect on its first attempt. Reports how many did
// and the connect_error messages of the others.
async function burst() {
  const sockets = [];
  const outcomes = [];
  for (let i = 0; i < opts.n; i++) {
    const socket = io(url, { reconnection: false, forceNew: true });
    sockets.push(socket);
    outcomes.push(connect(socket, 60000).then(() => null, (err) => `${err.message} ${err.description?.message ?? err.description ?? ""}`.trim()));
  }
  const errors = (await Promise.all(outcomes)).filter((e) => e !== null);
  for (const socket of sockets) socket.disconnect();
  const counts = {};
  for (const e of errors) counts[e] = (counts[e] || 0) + 1;
  return { connected: opts.n - errors.length, errors: counts };
}

const scenarios = { basic, burst, structBinary, rooms, namespaces, reasons, silent, shutdown, recovery, recoveryPrivate, deflate };
if (!scenarios[scenario]) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
run(scenarios[scenario], opts.guardMs);
