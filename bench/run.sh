#!/usr/bin/env bash
# Runs every benchmark server through every scenario of the contract
# (BENCHMARKS.md, Method) with cmd/sioperf, side by side, on this machine:
#
#   * a fresh server process per measurement, pinned to core 1 (taskset -c 1,
#     so Go servers get GOMAXPROCS=1); sioperf pinned to core 0;
#   * one measurement at a time; the order of servers rotates each repeat;
#   * REPEATS repeats (default 3); medians and min–max via `sioperf summarize`.
#
# Raw outputs (one JSON line per run, sioperf and server logs, per-run
# Markdown/SVG reports, machine facts) go to bench/results/<date-time>/, and
# the summary table is printed and saved as summary.md there.
#
# Environment (all optional):
#   SERVERS    servers to run, default "sioloop node zishang rawgnet"
#   SCENARIOS  cases to run, default "fanout1k fanout10k echo1k echo1k-paced idle10k
#              connect10k chat overload10k echo1k-polling fanout1k-polling
#              echo1k-recovery fanout1k-recovery" (overload10k: twice the
#              sustainable fanout rate for 20 s, then half of it, reported
#              second by second; *-polling: long-polling only clients;
#              *-recovery: the server with connection state recovery on,
#              sioloop and node only)
#   REPEATS    repeats, default 3
#   SCALE      "full" (the contract's sizes, default) or "quick" (small sizes
#              and short steps, for a smoke run of the whole pipeline)
#   SRC        source addresses for large cases, default 127.0.0.2..127.0.0.5
#   OUT        results directory, default bench/results/$(date +%F-%H%M%S)
#   PORT_BASE  first server port, default 17000 (below the ephemeral range)
#   RUN_TIMEOUT bound on one sioperf run, default 15m
#
# Example quick run:  SCALE=quick REPEATS=1 SERVERS="node rawgnet" bench/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SERVERS=${SERVERS:-"sioloop node zishang rawgnet"}
SCENARIOS=${SCENARIOS:-"fanout1k fanout10k echo1k echo1k-paced idle10k connect10k chat overload10k echo1k-polling fanout1k-polling echo1k-recovery fanout1k-recovery"}
REPEATS=${REPEATS:-3}
SCALE=${SCALE:-full}
SRC=${SRC:-127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5}
OUT=${OUT:-$ROOT/bench/results/$(date +%F-%H%M%S)}
# Peers are built from their own directories: OUT must not be relative.
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
PORT_BASE=${PORT_BASE:-17000}
RUN_TIMEOUT=${RUN_TIMEOUT:-15m}

mkdir -p "$OUT"
BIN="$OUT/bin"
mkdir -p "$BIN"
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# Each process may hold at most the hard fd limit; 10k-connection cases need
# about 10k on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt 12000 ]; then
	log "warning: fd limit $(ulimit -n) is below what 10k-connection cases need"
fi

# ---- build ---------------------------------------------------------------
log "building sioperf"
go build -o "$BIN/sioperf" ./cmd/sioperf

declare -A SERVER_CMD SERVER_PROTO
AVAILABLE=()
for s in $SERVERS; do
	case $s in
	sioloop)
		if [ ! -d bench/server ]; then
			log "skipping sioloop: bench/server does not exist yet"
			continue
		fi
		if ! go build -o "$BIN/sioloop-server" ./bench/server 2>"$OUT/build-sioloop.log"; then
			log "skipping sioloop: bench/server does not build (see $OUT/build-sioloop.log)"
			continue
		fi
		SERVER_CMD[$s]="$BIN/sioloop-server -addr 127.0.0.1:PORT"
		SERVER_PROTO[$s]=sio
		;;
	node)
		if [ ! -d bench/peers/node/node_modules/socket.io ]; then
			log "installing the Node peer (npm ci)"
			(cd bench/peers/node && npm ci --no-audit --no-fund >"$OUT/npm-install.log" 2>&1) || {
				log "skipping node: npm ci failed (see $OUT/npm-install.log)"
				continue
			}
		fi
		SERVER_CMD[$s]="node $ROOT/bench/peers/node/server.js --port PORT"
		SERVER_PROTO[$s]=sio
		;;
	zishang)
		(cd bench/peers/zishang && go build -o "$BIN/zishang" .) 2>"$OUT/build-zishang.log" || {
			log "skipping zishang: build failed (see $OUT/build-zishang.log)"
			continue
		}
		SERVER_CMD[$s]="$BIN/zishang -addr 127.0.0.1:PORT"
		SERVER_PROTO[$s]=sio
		;;
	rawgnet)
		(cd bench/peers/rawgnet && go build -o "$BIN/rawgnet" .) 2>"$OUT/build-rawgnet.log" || {
			log "skipping rawgnet: build failed (see $OUT/build-rawgnet.log)"
			continue
		}
		SERVER_CMD[$s]="$BIN/rawgnet -addr 127.0.0.1:PORT"
		SERVER_PROTO[$s]=raw
		;;
	*)
		log "unknown server $s (known: sioloop node zishang rawgnet)"
		exit 2
		;;
	esac
	AVAILABLE+=("$s")
done
if [ ${#AVAILABLE[@]} -eq 0 ]; then
	log "no server to run"
	exit 1
fi

# ---- scenario arguments ----------------------------------------------------
# case_args CASE prints the sioperf arguments of a case.
case_args() {
	if [ "$SCALE" = quick ]; then
		local lad="-warmup 500ms -step 1s -drain 1s -settle-max 2s -max-steps 4 -bisect 0"
		case $1 in
		fanout1k) echo "fanout -subs 200 -p99 250ms $lad" ;;
		fanout10k) echo "fanout -subs 1000 -p99 1s -src $SRC $lad" ;;
		echo1k) echo "echo -clients 100 -duration 2s" ;;
		idle10k) echo "idle -conns 1000 -settle 1s -src $SRC" ;;
		connect10k) echo "connect -conns 1000 -concurrency 256 -io goroutine -src $SRC" ;;
		chat) echo "chat -subs 500 -rooms 25 -publishers 5 -rate 200 -warmup 500ms -duration 2s -drain 1s -p99 250ms" ;;
		overload10k) echo "overload -subs 1000 -p99 1s -src $SRC $lad -duration 4s -recovery 2s" ;;
		echo1k-paced) echo "echo -clients 100 -duration 2s -echo-interval 50ms" ;;
		echo1k-polling | echo1k-recovery) echo "echo -clients 100 -duration 2s$(transport_of "$1")" ;;
		fanout1k-polling | fanout1k-recovery) echo "fanout -subs 200 -p99 250ms $lad$(transport_of "$1")" ;;
		*) return 1 ;;
		esac
		return
	fi
	case $1 in
	fanout1k) echo "fanout -subs 1000 -p99 250ms" ;;
	fanout10k) echo "fanout -subs 10000 -p99 1s -src $SRC" ;;
	echo1k) echo "echo -clients 1000 -duration 8s" ;;
	idle10k) echo "idle -conns 10000 -settle 5s -src $SRC" ;;
	# Connection setup costs the tool less with a goroutine per connection
	# than with an adoption into its event loops (measured 10.4k against
	# 6.5k conns/s on sioloop, 11.7k against 8.3k on rawgnet): keep the
	# tool from being what this case measures.
	connect10k) echo "connect -conns 10000 -concurrency 256 -io goroutine -src $SRC" ;;
	# Shaped like a chat app: 5,000 users in 250 rooms of 20, 50 senders,
	# 1,000 messages/s in all (20,000 deliveries/s).
	chat) echo "chat -subs 5000 -rooms 250 -publishers 50 -rate 1000 -duration 8s -p99 250ms -src $SRC" ;;
	# 10,000 subscribers as in fanout10k; a short ladder (2 s steps, one
	# bisection) finds the sustainable rate, then 2 s warm-up, 20 s at twice
	# it, 5 s at half of it and a 5 s drain, reported per second.
	overload10k) echo "overload -subs 10000 -p99 1s -overload 2 -duration 20s -recovery 5s -src $SRC" ;;
	# Each client sends one echo every 50 ms at its own random phase
	# (20,000 round trips/s offered, which every server here carries): the
	# arrivals are spread, not batched across clients; the figure is server
	# CPU per round trip.
	echo1k-paced) echo "echo -clients 1000 -duration 8s -echo-interval 50ms" ;;
	echo1k-polling | echo1k-recovery) echo "echo -clients 1000 -duration 8s$(transport_of "$1")" ;;
	# Polling fan-out starts higher (5,000/s; the default would spend
	# minutes far below any server's limit) and is bounded in steps. 20
	# leave room for the bisection past sioloop's limit (1.46M/s, step 15,
	# on 2026-12-03); 14 ended at 973k/s before it was found.
	fanout1k-polling) echo "fanout -subs 1000 -p99 250ms -start 5000 -max-steps 20 -transport polling" ;;
	fanout1k-recovery) echo "fanout -subs 1000 -p99 250ms" ;;
	*) return 1 ;;
	esac
}

# transport_of CASE prints the -transport argument of a polling case.
transport_of() {
	case $1 in
	*-polling) echo " -transport polling" ;;
	esac
}

# server_args SERVER CASE prints what a case adds to a server's command
# line, and fails when the server cannot run the case.
server_args() {
	case $2 in
	*-recovery)
		case $1 in
		sioloop) echo "-recovery" ;;
		node) echo "--recovery on" ;;
		*) return 1 ;;
		esac
		;;
	*-polling)
		[ "$1" != rawgnet ] # raw gnet speaks WebSocket only
		;;
	esac
}

for c in $SCENARIOS; do
	case_args "$c" >/dev/null || {
		log "unknown scenario $c"
		exit 2
	}
done

# ---- machine facts -----------------------------------------------------------
{
	echo "date: $(date -Is)"
	echo "kernel: $(uname -srm)"
	echo "cpus: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo || true
	echo "go: $(go version)"
	echo "node: $(node --version 2>/dev/null || echo none)"
	echo "socket.io (node): $(cd bench/peers/node && node -p 'require("socket.io/package.json").version' 2>/dev/null || echo none)"
	echo "servers: ${AVAILABLE[*]}"
	echo "scenarios: $SCENARIOS"
	echo "repeats: $REPEATS scale: $SCALE src: $SRC"
	echo "fd limit: $(ulimit -n)"
} >"$OUT/env.txt"

# ---- measurement -------------------------------------------------------------
port=$PORT_BASE
SERVER_PID=

stop_server() {
	if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=
}
trap stop_server EXIT INT TERM

# wait_port PORT waits (at most 20 s) until something accepts on PORT.
wait_port() {
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

measure() { # measure SERVER CASE REPEAT
	local s=$1 c=$2 r=$3
	local proto=${SERVER_PROTO[$s]}
	if [ "$proto" = raw ] && [ "$c" = chat ]; then
		log "  $c/$s: skipped (raw mode has no rooms)"
		return
	fi
	local extra
	if ! extra=$(server_args "$s" "$c"); then
		log "  $c/$s: skipped (the server has no such mode)"
		return
	fi
	port=$((port + 1))
	local cmd="${SERVER_CMD[$s]//PORT/$port} $extra"
	local tag="$c-$s-r$r"
	# shellcheck disable=SC2086
	taskset -c 1 $cmd >"$OUT/logs/$tag.server.log" 2>&1 &
	SERVER_PID=$!
	if ! wait_port "$port"; then
		log "  $c/$s: server did not start (see logs/$tag.server.log)"
		stop_server
		return
	fi
	local args
	args=$(case_args "$c")
	log "  $c/$s (repeat $r, port $port)"
	# shellcheck disable=SC2086
	taskset -c 0 "$BIN/sioperf" $args -proto "$proto" -addr "127.0.0.1:$port" \
		-server-pid "$SERVER_PID" -label "$s" -case "$c" -json -progress off -timeout "$RUN_TIMEOUT" \
		-report "$OUT/reports/$c/r$r" >>"$OUT/$c.json" 2>"$OUT/logs/$tag.sioperf.log" ||
		log "  $c/$s: sioperf reported an error (see logs/$tag.sioperf.log)"
	stop_server
	# Let TIME_WAIT sockets and the machine settle between measurements.
	sleep 2
}

mkdir -p "$OUT/logs"
log "results in $OUT"
n=${#AVAILABLE[@]}
for r in $(seq "$REPEATS"); do
	log "repeat $r of $REPEATS"
	for c in $SCENARIOS; do
		# Rotate the server order each repeat so no server always runs first.
		for i in $(seq 0 $((n - 1))); do
			measure "${AVAILABLE[$(((i + r - 1) % n))]}" "$c" "$r"
		done
	done
done

"$BIN/sioperf" summarize "$OUT" | tee "$OUT/summary.md"
rm -rf "$BIN"
log "done: $OUT/summary.md"
