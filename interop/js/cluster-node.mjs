// One real Node socket.io server (socket.io 4.8) with a real Redis adapter,
// driven by the Go cluster tests (cluster_harness_test.go) over the line
// protocol of cluster-lib.mjs.
//
//   node cluster-node.mjs '<config as JSON>'
//
// Config:
//   name       node name, put in every report and ack answer ("A")
//   host, port where to listen (default 127.0.0.1, 0 = any free port)
//   adapter    "classic"  @socket.io/redis-adapter createAdapter(pub, sub, options)
//                         (options: key, requestsTimeout, publishOnSpecificResponseChannel)
//              "sharded"  createShardedAdapter(pub, sub, options)
//                         (options: channelPrefix, subscriptionMode)
//              "streams"  @socket.io/redis-streams-adapter createAdapter(client, options)
//                         (options: streamName, maxLen, ...); connection state recovery on
//   redis      {"url": "redis://..."} or {"cluster": ["host:port", ...]} (root nodes)
//   options    adapter options, passed as given
//   nsps       namespaces to create at start (default ["/"]); each gets the handlers below
//   sseEvents  server-side-emit events to listen to (default ["sse", "sse-silent"]);
//              names ending in "-silent" never call their ack
//   recovery   connectionStateRecovery options, or false (default: {} for streams, off otherwise)
//   server     more socket.io Server options (pingInterval, ...)
//
// Start-up: once listening and once the adapter's subscriptions are
// confirmed by Redis (streams: its XREAD is blocked on the stream and a
// warm-up entry moved it off "$"), it prints {"ready":true,"port":N,"name":..}.
//
// Commands (each may carry "nsp", default "/"; a target is
// to: [rooms], except: [rooms], local: bool):
//   emit              target, event, args, volatile, compress      -> true
//   emitWithAck       target, event, args, timeout (ms)            -> {err, responses}
//                     io.of(nsp).to(..).timeout(ms).emit(event, ...args, cb)
//   fetchSockets      target, timeout                              -> [{id, rooms, data, handshake, local}]
//   remoteSocket      sid, action, event, args, timeout, rooms, close
//                     io.of(nsp).in(sid).fetchSockets(), then on the one
//                     RemoteSocket (it must live on another node):
//                     action "emit"  .emit(event, ...args)              -> null
//                            "ask"   .timeout(ms).emit(event, ...args, cb) -> {err, response}
//                                    (a RemoteSocket's ack has one response, not a list)
//                            "join"  .join(rooms); "leave" .leave(rooms[0]) -> null
//                            "disconnect" .disconnect(close)            -> null
//   socketsJoin       target, rooms                                -> null
//   socketsLeave      target, rooms                                -> null
//   disconnectSockets target, close                                -> null
//   serverSideEmit    event, args, ack (bool)                      -> null, or {err, responses} with ack
//   allRooms          (classic only)                               -> [rooms], sorted
//   serverCount                                                    -> n
//   info                                                           -> {name, port, adapter, uids: {nsp: uid}}
//   close             io.close(), then the process exits           -> null
// Commands that publish answer once Redis has processed the publish (a
// PING behind it on the same connection), not when other nodes got it.
// Adapter failures (a fetchSockets timeout) come back as {"id", "error"};
// ack timeouts are results: err is the callback's error message or null.
//
// Handlers installed on each namespace:
//   connection: rooms from handshake auth.rooms (or query rooms=a,b) are
//     joined and socket.data is set from auth.data (or query data=<JSON>),
//     unless the session was recovered.
//   "join" (rooms, cb) / "leave" (rooms, cb): socket.join / socket.leave;
//     cb({node, rooms}) once effective (sharded: room channel subscribed).
//   "broadcast" ({to, except, volatile, event, args}, cb): socket.broadcast
//     (or socket.to(to)) .except(except).emit(event, ...args); cb({node}).
//   any other event with an ack: cb({node, event}).
//   server-side emits (sseEvents): ack({node, event, args}).
//
// Reports (unsolicited lines, all with "node" and "nsp"):
//   {"event":"connection", sid, rooms, data, recovered}  (after the joins took effect)
//   {"event":"disconnect", sid, reason}                  (after Redis took the session, streams)
//   {"event":"join"|"leave", room, sid}                  (adapter join-room / leave-room; every
//                                                         room, own sid included; a sharded join
//                                                         once its room channel is subscribed)
//   {"event":"message", sid, name, args}                 (every event a client sent)
//   {"event":"serverSideEmit", name, args, ack}          (ack: an answer was asked for)
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter as createClassicAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { serve, write, report, fromWire, asArray, withTimeout } from "./cluster-lib.mjs";
import { connect, duplicate, flush, clientList, isCluster } from "./cluster-redis.mjs";

const cfg = JSON.parse(process.argv[2] || "{}");
const name = cfg.name || "node";
const nsps = cfg.nsps || ["/"];
const sseEvents = cfg.sseEvents || ["sse", "sse-silent"];
const options = cfg.options || {};
const kind = cfg.adapter || "classic";
const clientName = `sio-harness-${name}-${process.pid}`;

// Redis connections. pub is also the one streams reads sessions with and
// whose FIFO order flush() relies on.
let pub, sub, adapter;
if (kind === "classic" || kind === "sharded") {
  pub = await connect(cfg.redis, clientName);
  sub = await duplicate(pub, clientName);
  adapter = kind === "classic" ? createClassicAdapter(pub, sub, options) : createShardedAdapter(pub, sub, options);
} else if (kind === "streams") {
  if (cfg.redis.cluster) throw new Error("streams: this harness reads CLIENT LIST of one server; use a url");
  pub = await connect(cfg.redis, clientName);
  adapter = createStreamsAdapter(pub, options);
} else {
  throw new Error(`unknown adapter ${JSON.stringify(kind)}`);
}

const serverOpts = { ...(cfg.server || {}), adapter };
const recovery = cfg.recovery === undefined ? (kind === "streams" ? {} : false) : cfg.recovery;
if (recovery) serverOpts.connectionStateRecovery = recovery;

const httpServer = createServer();
const io = new Server(httpServer, serverOpts);

const noop = () => {};

// confirm resolves once Redis confirmed the adapter's own subscription of
// channel on sub: node-redis issues a (S|P)SUBSCRIBE for a channel it has no
// confirmed listener for, so ours queues behind the adapter's pending one on
// the same connection and resolves after it; if the adapter's was already
// confirmed, ours just adds a listener. Ours is removed again, which sends
// nothing while the adapter's listener stays.
async function confirm(type, channel) {
  const [on, off] = { p: ["pSubscribe", "pUnsubscribe"], c: ["subscribe", "unsubscribe"], s: ["sSubscribe", "sUnsubscribe"] }[type];
  await sub[on](channel, noop, true);
  await sub[off](channel, noop, true);
}

// usesRoomChannel says whether the sharded adapter subscribed room's own
// channel (dynamic subscription modes).
function usesRoomChannel(a, room) {
  return kind === "sharded" && ["dynamic", "dynamic-private"].includes(a.opts.subscriptionMode) && a.shouldUseASeparateNamespace(room);
}

// effective resolves once joins of rooms in namespace n take effect
// cluster-wide: immediately, except for sharded room channels.
async function effective(n, rooms) {
  const a = n.adapter;
  await Promise.all(rooms.filter((r) => usesRoomChannel(a, r)).map((r) => confirm("s", a.dynamicChannel(r))));
}

// settleStart waits until namespace n's adapter receives what others send.
async function settleStart(n) {
  const a = n.adapter;
  if (kind === "classic") {
    await Promise.all([
      confirm("p", a.channel + "*"),
      confirm("c", a.requestChannel),
      confirm("c", a.responseChannel),
      confirm("c", a.specificResponseChannel),
    ]);
  } else if (kind === "sharded") {
    await Promise.all([confirm("s", a.channel), confirm("s", a.responseChannel)]);
  }
}

// settleStreams waits until this process's stream reader(s) block in XREAD
// and its pub/sub connection holds both channels of every namespace, then
// adds a warm-up entry (without nsp, which readers skip) to each stream:
// a reader that is still at "$" would miss an entry added between one XREAD
// timing out and the next; after the warm-up it reads from a concrete id.
async function settleStreams() {
  const streams = [];
  const count = options.streamCount || 1;
  const base = options.streamName || "socket.io";
  for (let i = 0; i < count; i++) streams.push(count === 1 ? base : `${base}-${i}`);
  const deadline = Date.now() + 20000;
  for (;;) {
    const mine = (await clientList(pub)).filter((c) => c.name === clientName);
    const blocked = mine.filter((c) => c.cmd === "xread" && c.flags.includes("b")).length;
    const subs = mine.reduce((n, c) => n + Number(c.sub || 0) + Number(c.ssub || 0), 0);
    if (blocked >= count && subs >= 2 * nsps.length) break;
    if (Date.now() > deadline) throw new Error(`streams adapter not settled: ${JSON.stringify(mine)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const s of streams) await pub.xAdd(s, "*", { warmup: name });
}

function handshakeRooms(socket) {
  const { auth, query } = socket.handshake;
  if (auth && auth.rooms !== undefined) return asArray(auth.rooms);
  if (query && typeof query.rooms === "string" && query.rooms) return query.rooms.split(",");
  return [];
}

function handshakeData(socket) {
  const { auth, query } = socket.handshake;
  if (auth && auth.data !== undefined) return fromWire(auth.data);
  if (query && typeof query.data === "string") return JSON.parse(query.data);
  return undefined;
}

function setup(n) {
  const nsp = n.name;
  const a = n.adapter;
  a.on("join-room", (room, sid) => {
    if (usesRoomChannel(a, room)) {
      confirm("s", a.dynamicChannel(room)).then(() => report("join", { node: name, nsp, room, sid }));
    } else {
      report("join", { node: name, nsp, room, sid });
    }
  });
  a.on("leave-room", (room, sid) => report("leave", { node: name, nsp, room, sid }));

  for (const ev of sseEvents) {
    n.on(ev, (...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
      report("serverSideEmit", { node: name, nsp, name: ev, args, ack: !!cb });
      if (cb && !ev.endsWith("-silent")) cb({ node: name, event: ev, args });
    });
  }

  n.on("connection", async (socket) => {
    if (!socket.recovered) {
      const data = handshakeData(socket);
      if (data !== undefined) socket.data = data;
      socket.join(handshakeRooms(socket));
    }
    socket.onAny((ev, ...args) => {
      report("message", { node: name, nsp, sid: socket.id, name: ev, args });
      const cb = args[args.length - 1];
      if (typeof cb === "function" && !["join", "leave", "broadcast"].includes(ev)) cb({ node: name, event: ev });
    });
    socket.on("disconnect", async (reason) => {
      // A recoverable disconnect made the streams adapter SET the session
      // on pub just before this event: let it land first.
      await flush(pub).catch(() => {});
      report("disconnect", { node: name, nsp, sid: socket.id, reason });
    });
    socket.on("join", async (rooms, cb) => {
      socket.join(asArray(rooms));
      await effective(n, asArray(rooms));
      if (typeof cb === "function") cb({ node: name, rooms: [...socket.rooms] });
    });
    socket.on("leave", (rooms, cb) => {
      for (const r of asArray(rooms)) socket.leave(r);
      if (typeof cb === "function") cb({ node: name, rooms: [...socket.rooms] });
    });
    socket.on("broadcast", async (spec, cb) => {
      let op = spec.to ? socket.to(spec.to) : socket.broadcast;
      if (spec.except) op = op.except(spec.except);
      if (spec.volatile) op = op.volatile;
      op.emit(spec.event, ...fromWire(spec.args || []));
      await flush(pub);
      if (typeof cb === "function") cb({ node: name });
    });
    await effective(n, [...socket.rooms]);
    report("connection", {
      node: name,
      nsp,
      sid: socket.id,
      rooms: [...socket.rooms],
      data: socket.data,
      recovered: socket.recovered,
    });
  });
}

const namespaces = nsps.map((p) => io.of(p));
namespaces.forEach(setup);

// operator applies a command's target and flags to namespace n.
function operator(m) {
  let op = io.of(m.nsp || "/");
  if (m.to && asArray(m.to).length) op = op.to(asArray(m.to));
  if (m.except && asArray(m.except).length) op = op.except(asArray(m.except));
  if (m.volatile) op = op.volatile;
  if (m.local) op = op.local;
  if (m.compress !== undefined && m.compress !== null) op = op.compress(m.compress);
  if (m.timeout) op = op.timeout(m.timeout);
  return op;
}

const ackResult = (err, responses) => ({ err: err ? err.message || String(err) : null, responses: responses || [] });

const port = await new Promise((resolve, reject) => {
  httpServer.once("error", reject);
  httpServer.listen(cfg.port || 0, cfg.host || "127.0.0.1", () => resolve(httpServer.address().port));
});
await withTimeout(Promise.all(namespaces.map(settleStart)), 20000, "adapter subscriptions");
if (kind === "streams") await settleStreams();

serve({
  async emit(m) {
    operator(m).emit(m.event, ...fromWire(m.args || []));
    await flush(pub);
    return true;
  },
  emitWithAck(m) {
    if (!m.timeout) throw new Error("emitWithAck needs a timeout (ms)");
    return new Promise((resolve) => operator(m).emit(m.event, ...fromWire(m.args || []), (err, res) => resolve(ackResult(err, res))));
  },
  async fetchSockets(m) {
    const sockets = await operator(m).fetchSockets();
    return sockets
      .map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data, handshake: s.handshake, local: !!s.server }))
      .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  },
  async remoteSocket(m) {
    const found = await io.of(m.nsp || "/").in(m.sid).fetchSockets();
    if (found.length !== 1) throw new Error(`fetchSockets of ${m.sid} found ${found.length} sockets`);
    const s = found[0];
    if (s.server) throw new Error(`${m.sid} is a local socket, not a RemoteSocket`);
    const args = fromWire(m.args || []);
    switch (m.action) {
      case "emit":
        s.emit(m.event, ...args);
        break;
      case "ask":
        if (!m.timeout) throw new Error("ask needs a timeout (ms)");
        return new Promise((resolve) =>
          s.timeout(m.timeout).emit(m.event, ...args, (err, res) => resolve({ err: err ? err.message || String(err) : null, response: res ?? null })),
        );
      case "join":
        s.join(asArray(m.rooms));
        break;
      case "leave":
        s.leave(asArray(m.rooms)[0]);
        break;
      case "disconnect":
        s.disconnect(!!m.close);
        break;
      default:
        throw new Error(`unknown RemoteSocket action ${m.action}`);
    }
    await flush(pub);
    return null;
  },
  async socketsJoin(m) {
    operator(m).socketsJoin(asArray(m.rooms));
    await flush(pub);
    return null;
  },
  async socketsLeave(m) {
    operator(m).socketsLeave(asArray(m.rooms));
    await flush(pub);
    return null;
  },
  async disconnectSockets(m) {
    operator(m).disconnectSockets(!!m.close);
    await flush(pub);
    return null;
  },
  async serverSideEmit(m) {
    const n = io.of(m.nsp || "/");
    const args = fromWire(m.args || []);
    if (!m.ack) {
      n.serverSideEmit(m.event, ...args);
      await flush(pub);
      return null;
    }
    return new Promise((resolve) => n.serverSideEmit(m.event, ...args, (err, res) => resolve(ackResult(err, res))));
  },
  async allRooms(m) {
    const a = io.of(m.nsp || "/").adapter;
    if (typeof a.allRooms !== "function") throw new Error(`allRooms is not implemented by the ${kind} adapter`);
    return [...(await a.allRooms())].sort();
  },
  serverCount(m) {
    return io.of(m.nsp || "/").adapter.serverCount();
  },
  info() {
    const uids = {};
    for (const n of io._nsps.values()) uids[n.name] = n.adapter.uid;
    return { name, port, adapter: kind, cluster: isCluster(pub), uids };
  },
  async close() {
    await withTimeout(io.close(), 10000, "io.close()");
    setImmediate(() => process.exit(0));
    return null;
  },
});

write({ ready: true, port, name });
