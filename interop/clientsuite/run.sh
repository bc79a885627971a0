#!/bin/bash
# run.sh SUITE REPO: runs a JavaScript client's own test suite against
# sioloop. SUITE is sio (socket.io-client's) or eio (engine.io-client's);
# REPO is a checkout of github.com/socketio/socket.io, or its bare git
# directory (what the workplace's fetch leaves). The suite is copied to a
# scratch directory (WORK, default a new temporary one) beside the pinned
# npm client, so that its `..` imports load the published client; nothing
# of it lands in this repository. The Go server (this directory) is built
# and started on the suite's port, then mocha runs as the package's
# test:node script does, without the hook that would start Node's server.
# EXTRA env: USE_FETCH=1 (eio: fetch() in place of XMLHttpRequest).
set -euo pipefail
suite=${1:?usage: run.sh sio|eio REPO}
repo=${2:?usage: run.sh sio|eio REPO}
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"

case $suite in
sio)
	pkg=socket.io-client
	deps='"socket.io-client": "4.8.4", "engine.io-client": "6.6.8", "mocha": "10.8.2", "tsx": "4.19.2", "expect.js": "0.3.1", "has-cors": "1.1.0", "@sinonjs/fake-timers": "11.3.1", "text-blob-builder": "0.0.1", "base64-arraybuffer": "1.0.2"'
	mocha=(npx mocha --import=tsx --exit test/index.ts)
	;;
eio)
	pkg=engine.io-client
	deps='"engine.io-client": "6.6.8", "mocha": "10.8.2", "expect.js": "0.3.1", "blob": "0.0.5", "@sinonjs/fake-timers": "11.3.1"'
	mocha=(npx mocha --exit test/index.js)
	;;
*)
	echo "run.sh: unknown suite $suite (sio or eio)" >&2
	exit 2
	;;
esac

# The suite's tests, from the repository's HEAD.
rm -rf "$work/test"
if [ -d "$repo/.git" ] || [ -f "$repo/HEAD" ]; then
	gitdir=$repo
	[ -d "$repo/.git" ] && gitdir=$repo/.git
	git --git-dir="$gitdir" archive HEAD "packages/$pkg/test" | tar x -C "$work" --strip-components=2
else
	cp -r "$repo/packages/$pkg/test" "$work/test"
fi
cat >"$work/package.json" <<JSON
{ "name": "clientsuite-$suite", "private": true,
  "main": "node_modules/$pkg/build/cjs/index.js",
  "devDependencies": { $deps } }
JSON
(cd "$work" && npm install --no-audit --no-fund --loglevel=error >npm-install.log 2>&1)
# url.ts and a few node tests import the build's modules by path.
ln -sfn "node_modules/$pkg/build" "$work/build"
if [ "$suite" = sio ] && [ ! -x "$work/node_modules/@esbuild/linux-x64/bin/esbuild" ]; then
	(cd "$work" && node node_modules/esbuild/install.js) # tsx's compiler
fi

(cd "$here/../.." && go build -o "$work/server" ./interop/clientsuite)
"$work/server" -suite "$suite" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=3210
[ "$suite" = eio ] && port=3000
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
cd "$work" && "${mocha[@]}"
