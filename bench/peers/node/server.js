// Node socket.io 4.8.4 peer for the sioloop benchmark contract
// (BENCHMARKS.md, Method): WebSocket-only clients connect straight to
// /socket.io/?EIO=4&transport=websocket and use three events:
//   join  (room, ack)  -> socket.join(room), then ack("ok")
//   bcast (obj)        -> io.to(obj.room).emit("msg", obj)
//   echo  (obj, ack)   -> ack(obj)
// Defaults are kept (pingInterval 25 s, pingTimeout 20 s, the ws engine,
// perMessageDeflate off) so the figures compare with a stock deployment.
// bufferutil and utf-8-validate are installed as socket.io's docs advise;
// ws picks them up by itself.
// --redis host:port sets @socket.io/redis-adapter 8.3.0 on a node-redis 4.7.1
// pub/sub client pair, so that several processes on one Redis form a
// cluster (bench/cluster.sh).
// --recovery on turns on connectionStateRecovery with socket.io's defaults
// (the bench/run.sh cases *-recovery).
"use strict";

const http = require("http");
const { Server } = require("socket.io");

function flag(name, def) {
  const i = process.argv.indexOf("--" + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const port = Number(flag("port", "3000"));
const host = flag("host", "127.0.0.1");

const httpServer = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const options = { serveClient: false };
if (flag("recovery", "off") === "on") options.connectionStateRecovery = {};
const io = new Server(httpServer, options);
const redisAddr = flag("redis", "");
let ready = Promise.resolve();
if (redisAddr) {
  const { createClient } = require("redis");
  const { createAdapter } = require("@socket.io/redis-adapter");
  const pubClient = createClient({ url: "redis://" + redisAddr });
  const subClient = pubClient.duplicate();
  pubClient.on("error", (err) => console.error("redis pub:", err.message));
  subClient.on("error", (err) => console.error("redis sub:", err.message));
  ready = Promise.all([pubClient.connect(), subClient.connect()]).then(() => {
    io.adapter(createAdapter(pubClient, subClient));
  });
}

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack("ok");
  });
  socket.on("bcast", (obj) => {
    if (obj && typeof obj.room === "string") io.to(obj.room).emit("msg", obj);
  });
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
});

ready.then(() => {
  httpServer.listen(port, host, () => {
    console.error(`node socket.io ${require("socket.io/package.json").version} listening on ${host}:${port}` +
      (redisAddr ? ` (redis adapter on ${redisAddr})` : ""));
  });
}, (err) => {
  console.error("redis:", err);
  process.exit(1);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
