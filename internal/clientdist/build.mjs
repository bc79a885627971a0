// build.mjs copies the socket.io browser client from the pinned npm package
// (node_modules/socket.io-client/dist) into internal/clientdist/dist, where
// the Go package embeds it, and precompresses every file once with gzip and
// brotli so the server never compresses per request.
//
// Usage, from the repository root after `npm ci`:
//
//	node internal/clientdist/build.mjs
//
// It is idempotent: a file whose copy is already byte-identical (and whose
// .gz and .br siblings exist) is left alone, so running it from every CI
// set-up costs almost nothing after the first time.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, "dist");
const require = createRequire(path.join(here, "..", "..", "package.json"));

// The names socket.io 4.8 serves (packages/socket.io/lib/index.ts CLIENT_FILES).
const FILES = [
  "socket.io.js",
  "socket.io.js.map",
  "socket.io.min.js",
  "socket.io.min.js.map",
  "socket.io.esm.min.js",
  "socket.io.esm.min.js.map",
  "socket.io.msgpack.min.js",
  "socket.io.msgpack.min.js.map",
];

let pkgPath;
try {
  pkgPath = require.resolve("socket.io-client/package.json");
} catch {
  console.error(
    "build.mjs: socket.io-client is not installed; run `npm ci` at the repository root first",
  );
  process.exit(1);
}
const pkgDir = path.dirname(pkgPath);
const version = JSON.parse(fs.readFileSync(pkgPath, "utf8")).version;
if (!/^\d+\.\d+\.\d+/.test(version)) {
  console.error(`build.mjs: unexpected socket.io-client version ${JSON.stringify(version)}`);
  process.exit(1);
}

fs.mkdirSync(outDir, { recursive: true });

function sameBytes(file, want) {
  try {
    return fs.readFileSync(file).equals(want);
  } catch {
    return false;
  }
}

// Write through a temporary name so an interrupted run never leaves a
// truncated file that the Go build would embed.
function writeAtomic(file, data) {
  const tmp = file + ".tmp";
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

let written = 0;
for (const name of FILES) {
  const src = fs.readFileSync(path.join(pkgDir, "dist", name));
  const dst = path.join(outDir, name);
  if (
    sameBytes(dst, src) &&
    fs.existsSync(dst + ".gz") &&
    fs.existsSync(dst + ".br")
  ) {
    continue;
  }
  // Level 9 and quality 11 are slow, but this runs once per install and the
  // savings go out with every response.
  const gz = zlib.gzipSync(src, { level: 9 });
  const br = zlib.brotliCompressSync(src, {
    params: {
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: src.length,
    },
  });
  // Check the round trip here rather than discovering a bad archive in a browser.
  if (!zlib.gunzipSync(gz).equals(src) || !zlib.brotliDecompressSync(br).equals(src)) {
    console.error(`build.mjs: compression round trip failed for ${name}`);
    process.exit(1);
  }
  writeAtomic(dst + ".gz", gz);
  writeAtomic(dst + ".br", br);
  writeAtomic(dst, src);
  written++;
}

// The license travels with the copied files (MIT requires the notice).
const license = fs.readFileSync(path.join(pkgDir, "LICENSE"));
if (!sameBytes(path.join(outDir, "LICENSE"), license)) {
  writeAtomic(path.join(outDir, "LICENSE"), license);
}
// VERSION is written last: the Go package treats the bundle as present only
// when it exists, so a half-finished run is seen as "not built".
if (!sameBytes(path.join(outDir, "VERSION"), Buffer.from(version + "\n"))) {
  writeAtomic(path.join(outDir, "VERSION"), version + "\n");
}
console.log(
  `socket.io-client ${version}: ${written} of ${FILES.length} files (re)built in ${path.relative(process.cwd(), outDir) || "."}`,
);
