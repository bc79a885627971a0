// Node socket.io fixture for the client tests: the same application as
// the Go fixture in client/fixture_test.go, on two servers (the second with
// connection state recovery). It prints {"port":P,"recoveryPort":R} on
// stdout once both listen, and exits when stdin closes.
"use strict";

const http = require("http");
const path = require("path");

const modules = process.env.SOCKETIO_MODULES ||
  path.join(__dirname, "..", "..", "bench", "peers", "node", "node_modules");
const { Server } = require(path.join(modules, "socket.io"));

const base = { pingInterval: 250, pingTimeout: 750, connectTimeout: 1000, cors: { origin: "*" } };

function app(io) {
  const onConnection = (socket) => {
    socket.emit("auth", socket.handshake.auth);
    socket.on("echo", (...args) => socket.emit("echo-back", ...args));
    socket.on("ack", (...args) => {
      const cb = args.pop();
      if (typeof cb === "function") cb(...args);
    });
    socket.on("ask", async (...args) => {
      try {
        const reply = await socket.timeout(2000).emitWithAck("question", ...args);
        socket.emit("answer", reply);
      } catch (e) {
        socket.emit("answer-error", String(e && e.message));
      }
    });
    socket.on("no-ack", () => {});
    socket.on("disconnect-me", () => socket.disconnect());
    socket.on("drop", () => socket.conn.close());
    socket.on("join", (room, cb) => { socket.join(room); if (typeof cb === "function") cb("ok"); });
    socket.on("news-then-drop", (room) => {
      io.to(room).emit("news", "n0");
      setTimeout(() => {
        socket.conn.close();
        setTimeout(() => {
          io.to(room).emit("news", "n1");
          io.to(room).emit("news", "n2");
        }, 100);
      }, 50);
    });
  };
  io.on("connection", onConnection);
  io.of("/custom").on("connection", onConnection);
  const priv = io.of("/private");
  priv.use((socket, next) => {
    if (socket.handshake.auth && socket.handshake.auth.token === "secret") return next();
    const err = new Error("not authorized");
    err.data = { reason: "bad token" };
    next(err);
  });
  priv.on("connection", onConnection);
}

function start(opts) {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => { res.writeHead(404); res.end(); });
    const io = new Server(srv, Object.assign({}, base, opts));
    app(io);
    srv.listen(0, "127.0.0.1", () => resolve({ srv, io }));
  });
}

(async () => {
  const a = await start({});
  const b = await start({ connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true } });
  process.stdout.write(JSON.stringify({ port: a.srv.address().port, recoveryPort: b.srv.address().port }) + "\n");
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("close", () => process.exit(0));
})();
