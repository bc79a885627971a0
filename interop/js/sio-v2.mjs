// Scenarios run with socket.io-client 2.5.0 (Engine.IO protocol 3,
// Socket.IO protocol 4; the npm alias socket.io-client-v2) against a
// sioloop server with AllowEIO3, started by sio_v2_test.go. With
// opts.parser "msgpack" the client uses socket.io-msgpack-parser 2.2.1
// (the alias socket.io-msgpack-parser-v2), the one of socket.io 2.x.
//
//   node sio-v2.mjs <scenario> <baseURL> [options as JSON]
import ioV2 from "socket.io-client-v2";
import msgpackV2 from "socket.io-msgpack-parser-v2";
import { io as ioV4 } from "socket.io-client";
import { hex, once, run } from "./lib.mjs";

const [, , scenario, url, rawOpts] = process.argv;
const opts = rawOpts ? JSON.parse(rawOpts) : {};

// ack emits and resolves with the ack's arguments (2.x has no timeout()).
function ack(socket, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${args[0]}`)), 5000);
    socket.emit(...args, (...res) => {
      clearTimeout(timer);
      resolve(res);
    });
  });
}

const scenarios = {
  // basic: everything a 2.x client does, over opts.transports.
  async basic() {
    const o = { reconnection: false, forceNew: true, query: { token: "t0" } };
    if (opts.transports) o.transports = opts.transports;
    if (opts.parser === "msgpack") o.parser = msgpackV2;
    const socket = ioV2(url, o);
    const engine = socket.io.engine;
    const welcome = once(socket, "welcome", 5000);
    await once(socket, "connect", 5000);
    const out = { id: socket.id, engineId: engine.id };
    out.welcome = (await welcome)[0];
    if (opts.upgrade && engine.transport.name !== "websocket") {
      await once(engine, "upgrade", 5000);
    }
    out.ack = await ack(socket, "hello", "world", 42);
    // A room the server joins on request, then broadcasts to.
    const roomMsg = once(socket, "room-msg", 5000);
    out.joined = await ack(socket, "join", "r1");
    out.roomMsg = (await roomMsg)[0];
    // Binary both ways: in an event and its ack, and in a server emit.
    const binBack = once(socket, "bin-back", 5000);
    const binAck = await ack(socket, "bin", Buffer.from([1, 2, 3, 250]), { nested: Buffer.from([7]) });
    out.binAck = binAck.map((x) => (Buffer.isBuffer(x) || x instanceof ArrayBuffer ? hex(x) : x));
    out.binBack = hex((await binBack)[0]);
    // Two client heartbeats, then still connected.
    let pongs = 0;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${pongs} pongs`)), 10000);
      engine.on("pong", () => {
        if (++pongs === 2) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    out.pongs = pongs;
    out.afterHeartbeats = await ack(socket, "hello", "again", 1);
    // Another namespace on the same connection, whose CONNECT carries
    // the query.
    const nsp = socket.io.socket("/v2ns", { query: { token: "t1" } });
    const nspWelcome = once(nsp, "nsp-welcome", 5000);
    await once(nsp, "connect", 5000);
    out.nspId = nsp.id;
    out.nspWelcome = (await nspWelcome)[0];
    // A namespace whose middleware refuses: an "error" with the message.
    // (Manager.socket opens both on the same engine.)
    const denied = socket.io.socket("/denied");
    out.denied = (await once(denied, "error", 5000))[0];
    // A namespace the server does not have: socket.io 2.x answers with
    // the string "Invalid namespace".
    const unknown = socket.io.socket("/nowhere");
    out.unknown = (await once(unknown, "error", 5000))[0];
    out.transport = engine.transport.name;
    socket.close();
    return out;
  },

  // v4: the same server still serves socket.io-client 4.x.
  async v4() {
    const socket = ioV4(url, { reconnection: false, forceNew: true, transports: opts.transports });
    await once(socket, "connect", 5000);
    const res = await ack(socket, "hello", "v4", 4);
    socket.close();
    return { ack: res };
  },

  // refused: a server without AllowEIO3 refuses the 2.x client.
  async refused() {
    const o = { reconnection: false, forceNew: true };
    if (opts.transports) o.transports = opts.transports;
    const socket = ioV2(url, o);
    const [err] = await once(socket, "connect_error", 5000);
    socket.close();
    return { error: String(err && (err.message || err)), description: err && err.description !== undefined ? String(err.description) : "" };
  },
};

run(scenarios[scenario]);
