// Runs the cases of cases.json through the real @socket.io/redis-emitter
// (5.1.0, with node-redis 4), so that the Go tests can record what it
// publishes and compare the Go emitter's messages with it byte for byte
// (wire_test.go: TestWireMatchesNodeEmitter; the recording is kept in
// node-emitter.jsonl, rewritten with go test -run TestWireMatchesNodeEmitter
// ./emitter -update).
//
//   node emitter/testdata/record.mjs redis://127.0.0.1:PORT emitter/testdata/cases.json
//
// It publishes one message per case, in order, on one connection, then
// prints {"done":N} once Redis has answered a PING queued behind them, and
// exits. The subscriber that records them is the Go test's.
//
// A case is {name, key?, chain?: [[method, arg?]...], do, event?, args?,
// rooms?, close?}: chain is applied from the Emitter ("of" first when
// present; "volatile" is the getter), then do is emit, socketsJoin,
// socketsLeave, disconnectSockets or serverSideEmit. In args, {"$bin":
// base64} is a Buffer, {"$binRepeat": byte, "n": N} a Buffer of N times
// byte, {"$repeat": s, "n": N} the string s repeated N times; objects get
// their keys in sorted order, as Go's maps are written.
import { readFileSync } from "node:fs";
import { createClient } from "redis";
import { Emitter } from "@socket.io/redis-emitter";

const [url, casesPath] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesPath, "utf8"));

function value(v) {
  if (Array.isArray(v)) return v.map(value);
  if (v && typeof v === "object") {
    if ("$bin" in v) return Buffer.from(v.$bin, "base64");
    if ("$binRepeat" in v) return Buffer.alloc(v.n, v.$binRepeat);
    if ("$repeat" in v) return v.$repeat.repeat(v.n);
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = value(v[k]);
    return o;
  }
  return v;
}

const client = createClient({ url });
client.on("error", (e) => console.error(`redis: ${e && e.message}`));
await client.connect();

const emitters = new Map();
function emitterFor(key) {
  key = key || "socket.io";
  if (!emitters.has(key)) emitters.set(key, new Emitter(client, { key }));
  return emitters.get(key);
}

for (const c of cases) {
  let op = emitterFor(c.key);
  for (const [m, arg] of c.chain || []) {
    op = m === "volatile" ? op.volatile : op[m](arg);
  }
  const args = value(c.args || []);
  switch (c.do) {
    case "emit":
      op.emit(c.event, ...args);
      break;
    case "socketsJoin":
      op.socketsJoin(c.rooms);
      break;
    case "socketsLeave":
      op.socketsLeave(c.rooms);
      break;
    case "disconnectSockets":
      op.disconnectSockets(c.close);
      break;
    case "serverSideEmit":
      op.serverSideEmit(c.event, ...args);
      break;
    default:
      throw new Error(`case ${c.name}: unknown do ${c.do}`);
  }
}
await client.ping();
process.stdout.write(JSON.stringify({ done: cases.length }) + "\n");
await client.quit();
