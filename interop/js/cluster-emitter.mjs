// The real @socket.io/redis-emitter 5.1 (classic adapter protocol only),
// driven by the Go cluster tests (cluster_harness_test.go) over the line
// protocol of cluster-lib.mjs.
//
//   node cluster-emitter.mjs '{"redis": {"url": "redis://..."}, "key": "socket.io"}'
//
// Prints {"ready":true} once connected. Commands (each may carry "nsp",
// default "/", applied with emitter.of(nsp); to/in and except are room
// lists):
//   emit              to, except, volatile, compress, event, args -> true
//   socketsJoin       to, except, rooms                           -> null
//   socketsLeave      to, except, rooms                           -> null
//   disconnectSockets to, except, close                           -> null
//   serverSideEmit    event, args                                 -> null
//   close                                                         -> null, then exit
// Every command answers once Redis has processed its PUBLISH. The emitter
// cannot ask for acks, fetch sockets or count servers, so there are no such
// commands.
import { Emitter } from "@socket.io/redis-emitter";
import { serve, write, fromWire, asArray } from "./cluster-lib.mjs";
import { connect, flush } from "./cluster-redis.mjs";

const cfg = JSON.parse(process.argv[2] || "{}");
const client = await connect(cfg.redis, `sio-harness-emitter-${process.pid}`);
const emitter = new Emitter(client, cfg.key ? { key: cfg.key } : {});

function operator(m) {
  let op = emitter.of(m.nsp || "/");
  const to = asArray(m.to).concat(asArray(m.in));
  if (to.length) op = op.to(to);
  if (asArray(m.except).length) op = op.except(asArray(m.except));
  if (m.volatile) op = op.volatile;
  if (m.compress !== undefined && m.compress !== null) op = op.compress(m.compress);
  return op;
}

async function published(result) {
  await flush(client);
  return result;
}

serve(
  {
    emit(m) {
      operator(m).emit(m.event, ...fromWire(m.args || []));
      return published(true);
    },
    socketsJoin(m) {
      operator(m).socketsJoin(asArray(m.rooms));
      return published(null);
    },
    socketsLeave(m) {
      operator(m).socketsLeave(asArray(m.rooms));
      return published(null);
    },
    disconnectSockets(m) {
      operator(m).disconnectSockets(!!m.close);
      return published(null);
    },
    serverSideEmit(m) {
      emitter.of(m.nsp || "/").serverSideEmit(m.event, ...fromWire(m.args || []));
      return published(null);
    },
    async close() {
      await client.quit();
      setImmediate(() => process.exit(0));
      return null;
    },
  },
  () => client.disconnect(),
);

write({ ready: true });
