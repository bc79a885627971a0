// Helpers shared by the interop scripts. A script prints exactly one JSON
// line (what the client observed) and exits 0, or prints the error to
// stderr and exits 1; the Go test does the asserting.

// hex renders binary data (Buffer, ArrayBuffer, typed array) as hex, and
// anything else as a marker, so the Go side can tell "not binary" apart.
export function hex(b) {
  if (b instanceof ArrayBuffer) b = new Uint8Array(b);
  if (ArrayBuffer.isView(b)) {
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
  }
  return `not-binary:${typeof b}:${JSON.stringify(b)}`;
}

// plain turns a received value into JSON-friendly form, binary as
// {"$hex": "..."}, so nested attachments survive the report.
export function plain(v) {
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return { $hex: hex(v) };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
}

// once resolves with the arguments of the next `event` on emitter, or
// rejects after ms.
export function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timeout after ${ms}ms waiting for "${event}"`));
    }, ms);
    const on = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, on);
  });
}

// until polls cond every 5 ms and rejects after ms.
export function until(cond, ms, what) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - start > ms) return reject(new Error(`timeout after ${ms}ms waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// run executes the scenario and reports; a global guard makes sure a hung
// scenario still ends with a readable error before Go's own timeout.
export function run(fn, guardMs = 20000) {
  const guard = setTimeout(() => {
    console.error(`scenario still running after ${guardMs}ms`);
    process.exit(2);
  }, guardMs);
  fn().then(
    (result) => {
      clearTimeout(guard);
      process.stdout.write(JSON.stringify(result) + "\n");
      // Let queued writes (a DISCONNECT, a close packet) leave before the
      // exit: the process ends by itself once idle, or after 300 ms.
      setTimeout(() => process.exit(0), 300).unref();
    },
    (err) => {
      console.error(err && err.stack ? err.stack : String(err));
      process.exit(1);
    },
  );
}
