// The line protocol shared by cluster-node.mjs, cluster-clients.mjs and
// cluster-emitter.mjs, which the Go tests drive (cluster_harness_test.go).
//
// stdin carries one JSON command per line: {"id": <number>, "cmd": "<name>",
// ...fields}. Each command is answered by exactly one line on stdout with the
// same id: {"id": n, "result": <value>} or {"id": n, "error": "<message>"}.
// Other stdout lines are unsolicited: the start-up line ({"ready": true,
// ...}) and reports, which carry an "event" field. stdout is a pipe, which
// Node writes synchronously on Linux, so lines keep the order in which they
// were written. When stdin ends (the Go test is gone) the process exits.
//
// Binary values cross the protocol as {"$bin": "<base64>"} in both
// directions: fromWire turns them into Buffers, toWire turns Buffers,
// ArrayBuffers and typed arrays back. Functions (ack callbacks) are reported
// as {"$fn": true}, undefined as null, Sets as arrays.
import { createInterface } from "node:readline";

export function fromWire(v) {
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return v; // already binary (received from a peer)
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$bin") return Buffer.from(v.$bin, "base64");
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = fromWire(x);
    return o;
  }
  return v;
}

export function toWire(v) {
  if (v === undefined) return null;
  if (typeof v === "function") return { $fn: true };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("base64") };
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  if (v instanceof Set) return [...v].map(toWire);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toWire(x)]));
  if (v instanceof Error) return { $error: v.message };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === "object" && typeof v.toJSON !== "function") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = toWire(x);
    return o;
  }
  return v;
}

// write prints one protocol line.
export function write(obj) {
  process.stdout.write(JSON.stringify(toWire(obj)) + "\n");
}

// report prints an unsolicited line; event names what happened.
export function report(event, fields) {
  write({ event, ...fields });
}

export const errorMessage = (e) => (e && e.message) || String(e);

// serve reads commands from stdin and runs handlers[cmd](msg). Commands run
// concurrently: a slow one (an ack with a timeout) does not hold up the next.
// A handler's return value (or resolved promise) is the result; a throw or
// rejection the error. onEnd runs when stdin closes, then the process exits.
export function serve(handlers, onEnd) {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on("line", (line) => {
    if (!line.trim()) return;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      write({ id: null, error: `bad command line ${JSON.stringify(line)}: ${errorMessage(e)}` });
      return;
    }
    const h = Object.hasOwn(handlers, msg.cmd) ? handlers[msg.cmd] : null;
    if (!h) {
      write({ id: msg.id, error: `unknown command ${JSON.stringify(msg.cmd)}` });
      return;
    }
    Promise.resolve()
      .then(() => h(msg))
      .then(
        (result) => write({ id: msg.id, result: result === undefined ? null : result }),
        (e) => write({ id: msg.id, error: errorMessage(e) }),
      );
  });
  rl.on("close", async () => {
    try {
      if (onEnd) await onEnd();
    } finally {
      process.exit(0);
    }
  });
}

// withTimeout rejects with a message after ms, for steps that could hang.
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms}ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// asArray accepts a room name or a list of them.
export const asArray = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
