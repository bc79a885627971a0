// reference.js runs the Node reference for the differential test
// (reference_test.go): socket.io 4.8.4 instrumented by @socket.io/admin-ui
// 0.5.1, with the same small application as the Go tests' chatServer.
//
//	node admin/testdata/reference.js PORT BCRYPT_HASH
//
// It prints "ready" once listening and runs until killed.
const { createServer } = require("http");
const { Server } = require("socket.io");
const { instrument } = require("@socket.io/admin-ui");

const [port, hash] = process.argv.slice(2);
const httpServer = createServer();
const io = new Server(httpServer);
io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack("joined");
  });
  socket.on("hello", () => socket.emit("reply", "hi", 7));
  socket.on("shout", (ack) => {
    io.to("lobby").emit("news", "shout", Buffer.from([1, 2]));
    ack();
  });
  socket.on("data", (ack) => {
    socket.data.user = "ada";
    ack();
  });
});
instrument(io, { auth: { type: "basic", username: "admin", password: hash }, mode: "development" });
httpServer.listen(Number(port), "127.0.0.1", () => console.log("ready"));
