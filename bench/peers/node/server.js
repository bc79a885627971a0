// Node socket.io 4.8.4 peer for the sioloop benchmark contract
// (docs BENCH-SCENARIO.md): WebSocket-only clients connect straight to
// /socket.io/?EIO=4&transport=websocket and use three events:
//   join  (room, ack)  -> socket.join(room), then ack("ok")
//   bcast (obj)        -> io.to(obj.room).emit("msg", obj)
//   echo  (obj, ack)   -> ack(obj)
// Defaults are kept (pingInterval 25 s, pingTimeout 20 s, the ws engine,
// perMessageDeflate off) so the figures compare with a stock deployment.
// bufferutil and utf-8-validate are installed as socket.io's docs advise;
// ws picks them up by itself.
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
const io = new Server(httpServer, { serveClient: false });

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

httpServer.listen(port, host, () => {
  console.error(`node socket.io ${require("socket.io/package.json").version} listening on ${host}:${port}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
