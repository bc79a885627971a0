// Many real socket.io-client 4.8 connections in one process, driven by the
// Go cluster tests (cluster_harness_test.go) over the line protocol of
// cluster-lib.mjs. Prints {"ready":true} at start.
//
//   node cluster-clients.mjs
//
// Commands (every client has a name chosen by the test):
//   connect     name, url (base URL), nsp ("/"), transports, rooms, data,
//               auth, query, silent                   -> {sid, recovered}
//               rooms and data travel in the CONNECT auth ({...auth, rooms,
//               data}), which cluster-node.mjs joins and stores in
//               socket.data; silent lists events this client receives but
//               never acks. Reconnection is off: drop/reconnect do it.
//   emit        name, event, args                     -> null
//   emitWithAck name, event, args, timeout (ms)        -> {err, response}
//   disconnect  name                                  -> null (socket.disconnect())
//   drop        name: cuts the connection under the socket as a network
//               failure would (WebSocket: destroys the TCP socket, no close
//               frame; polling: engine.close()); answers once the client
//               saw its "disconnect"                   -> {reason}
//   reconnect   name, url (optional: another node)    -> {sid, recovered}
//               reconnects the same Socket object, pointed at url when
//               given: socket.io-client then sends its pid and last offset
//               in the CONNECT auth, as after any transport failure.
//   state       name                                  -> {connected, sid, recovered, pid, offset, transport}
//   close                                             -> null, then exit
//
// Reports (unsolicited, all with "client"):
//   {"event":"message", name, args, ack}  every event received; ack: the
//        server asked for an answer, which is {client, event} unless the
//        event is in the client's silent list. With connection state
//        recovery the trailing offset string is part of args, as the
//        application sees it.
//   {"event":"connect", sid, recovered}
//   {"event":"disconnect", reason}
//   {"event":"connect_error", message}
import { io } from "socket.io-client";
import { serve, write, report, fromWire, asArray, withTimeout } from "./cluster-lib.mjs";

const clients = new Map();

function get(name) {
  const c = clients.get(name);
  if (!c) throw new Error(`no client ${JSON.stringify(name)}`);
  return c;
}

// connected resolves on the socket's next connect, rejects on connect_error.
function connected(socket, ms = 20000) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const ok = () => {
        socket.off("connect_error", bad);
        resolve({ sid: socket.id, recovered: socket.recovered });
      };
      const bad = (e) => {
        socket.off("connect", ok);
        reject(new Error(`connect_error: ${e.message}`));
      };
      socket.once("connect", ok);
      socket.once("connect_error", bad);
    }),
    ms,
    "connect",
  );
}

function connectClient(m) {
  if (clients.has(m.name)) throw new Error(`client ${m.name} exists`);
  const auth = { ...(m.auth || {}) };
  if (m.rooms !== undefined) auth.rooms = asArray(m.rooms);
  if (m.data !== undefined) auth.data = m.data;
  const nsp = m.nsp || "/";
  const socket = io(m.url.replace(/\/$/, "") + nsp, {
    forceNew: true,
    reconnection: false,
    transports: m.transports || ["websocket"],
    auth,
    query: m.query,
  });
  const silent = new Set(asArray(m.silent));
  const client = m.name;
  socket.onAny((event, ...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    report("message", { client, name: event, args, ack: !!cb });
    if (cb && !silent.has(event)) cb({ client, event });
  });
  socket.on("connect", () => report("connect", { client, sid: socket.id, recovered: socket.recovered }));
  socket.on("disconnect", (reason) => report("disconnect", { client, reason }));
  socket.on("connect_error", (e) => report("connect_error", { client, message: e.message }));
  clients.set(m.name, { socket, silent });
  return connected(socket);
}

serve(
  {
    connect: connectClient,
    emit(m) {
      get(m.name).socket.emit(m.event, ...fromWire(m.args || []));
      return null;
    },
    emitWithAck(m) {
      const { socket } = get(m.name);
      return new Promise((resolve) =>
        socket.timeout(m.timeout || 10000).emit(m.event, ...fromWire(m.args || []), (err, response) =>
          resolve({ err: err ? err.message : null, response }),
        ),
      );
    },
    disconnect(m) {
      get(m.name).socket.disconnect();
      return null;
    },
    drop(m) {
      const { socket } = get(m.name);
      if (!socket.connected) throw new Error(`client ${m.name} is not connected`);
      const gone = withTimeout(
        new Promise((resolve) => socket.once("disconnect", (reason) => resolve({ reason }))),
        20000,
        "disconnect after drop",
      );
      const transport = socket.io.engine.transport;
      const tcp = transport.name === "websocket" && transport.ws && transport.ws._socket;
      if (tcp) {
        // The ws package's TCP socket: destroyed without a close frame, as
        // a dead network would, so both ends see "transport close".
        tcp.destroy();
      } else {
        socket.io.engine.close(); // polling: the client's "forced close"
      }
      return gone;
    },
    reconnect(m) {
      const { socket } = get(m.name);
      if (socket.connected) throw new Error(`client ${m.name} is still connected`);
      if (m.url) socket.io.uri = m.url;
      const done = connected(socket);
      socket.connect();
      return done;
    },
    state(m) {
      const { socket } = get(m.name);
      return {
        connected: socket.connected,
        sid: socket.id || null,
        recovered: socket.recovered,
        pid: socket._pid || null,
        offset: socket._lastOffset || null,
        transport: socket.io.engine ? socket.io.engine.transport.name : null,
      };
    },
    close() {
      for (const { socket } of clients.values()) socket.disconnect();
      setTimeout(() => process.exit(0), 100);
      return null;
    },
  },
  () => {
    for (const { socket } of clients.values()) socket.disconnect();
  },
);

write({ ready: true });
