#!/usr/bin/env bash
# Cluster scale benchmark: N server nodes (one process each) on one
# redis-server through the classic Redis adapter, CONNS subscribers spread
# over the nodes round-robin by sioperf (several worker processes, several
# loopback source addresses), one publisher on the first node, so that every
# broadcast to the room of all CONNS crosses Redis to reach the other nodes.
#
# For each peer (sioloop: bench/server -redis; node: bench/peers/node/server.js
# --redis, @socket.io/redis-adapter 8.3.0) in the same run:
#   * fresh redis-server (--save '' --appendonly no, free port, stopped by PID);
#   * NODES fresh server processes, pinned with taskset to SERVER_CPUS;
#   * sioperf fanout ladder (deliveries/s; a step passes with 0 lost, p99 <
#     P99, no disconnects), pinned to TOOL_CPUS, -procs so that each worker
#     holds at most 15,000 connections;
#   * each node's RSS before the load and at every step (server_rss_each),
#     redis-server's RSS and CPU.
# Raw results go to bench/results/cluster-<date-time>/ (one JSON line per
# peer, logs, env.txt) and summary.md there.
#
# Environment (all optional):
#   SCALE       "full" (default: 100,000 connections over 5 nodes) or "quick"
#               (3,000 over 3, short steps)
#   CONNS       subscribers for sioloop (default by SCALE)
#   NODE_CONNS  subscribers for the Node peer (default CONNS)
#   NODES       server nodes (default by SCALE); CONNS/NODES must be <= 20,000
#   PEERS       default "sioloop node"
#   SRC         source addresses (default 127.0.0.2..127.0.0.9)
#   START GROWTH MAX_STEPS BISECT STEP WARMUP P99   the fanout ladder
#   DRAIN       time allowed after a step for its deliveries (default 3s):
#               a broadcast to 100,000 connections of nodes sharing one core
#               takes seconds to reach them all, and a delivery later than
#               the drain counts as lost
#   SERVER_CPUS TOOL_CPUS  taskset lists (default 1 and 0)
#   OUT         results directory; PORT_BASE first port (default 18000)
#   RUN_TIMEOUT bound on one sioperf run (default 20m)
#
# Example: CONNS=20000 NODES=4 bench/cluster.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SCALE=${SCALE:-full}
if [ "$SCALE" = quick ]; then
	CONNS=${CONNS:-3000}
	NODES=${NODES:-3}
	STEP=${STEP:-1s}
	WARMUP=${WARMUP:-500ms}
	MAX_STEPS=${MAX_STEPS:-3}
	BISECT=${BISECT:-0}
	START=${START:-30000}
else
	CONNS=${CONNS:-100000}
	NODES=${NODES:-5}
	STEP=${STEP:-4s}
	WARMUP=${WARMUP:-2s}
	MAX_STEPS=${MAX_STEPS:-8}
	BISECT=${BISECT:-1}
	START=${START:-$CONNS}
fi
NODE_CONNS=${NODE_CONNS:-$CONNS}
GROWTH=${GROWTH:-2}
P99=${P99:-1s}
DRAIN=${DRAIN:-3s}
PEERS=${PEERS:-"sioloop node"}
SRC=${SRC:-127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9}
SERVER_CPUS=${SERVER_CPUS:-1}
TOOL_CPUS=${TOOL_CPUS:-0}
PORT_BASE=${PORT_BASE:-18000}
RUN_TIMEOUT=${RUN_TIMEOUT:-20m}
OUT=${OUT:-$ROOT/bench/results/cluster-$(date +%F-%H%M%S)}
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FDS=$(ulimit -n)
for n in "$CONNS" "$NODE_CONNS"; do
	per=$(((n + NODES - 1) / NODES))
	if [ "$per" -gt 20000 ] || [ "$per" -gt $((FDS - 200)) ]; then
		log "$n connections over $NODES nodes is $per a node: above the per-process file limit ($FDS, at most 20,000); add NODES"
		exit 2
	fi
done

mkdir -p "$OUT/logs" "$OUT/bin"
BIN=$OUT/bin
log "building sioperf and bench/server"
go build -o "$BIN/sioperf" ./cmd/sioperf
go build -o "$BIN/sioloop-server" ./bench/server

{
	echo "date: $(date -Is)"
	echo "kernel: $(uname -srm)"
	echo "cpus: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo || true
	echo "memory: $(free -g | awk '/Mem:/{print $2}') GiB"
	echo "go: $(go version)"
	echo "node: $(node --version 2>/dev/null || echo none)"
	echo "redis: $(redis-server --version)"
	echo "socket.io (node): $(cd bench/peers/node && node -p 'require("socket.io/package.json").version' 2>/dev/null || echo none)"
	echo "redis-adapter (node): $(cd bench/peers/node && node -p 'require("@socket.io/redis-adapter/package.json").version' 2>/dev/null || echo none)"
	echo "peers: $PEERS nodes: $NODES conns: sioloop $CONNS node $NODE_CONNS scale: $SCALE"
	echo "ladder: start $START growth $GROWTH max-steps $MAX_STEPS bisect $BISECT step $STEP warmup $WARMUP p99 $P99 drain $DRAIN"
	echo "src: $SRC server cpus: $SERVER_CPUS tool cpus: $TOOL_CPUS fd limit: $FDS"
} >"$OUT/env.txt"

PIDS=()
REDIS_PID=
stop_all() {
	for p in "${PIDS[@]}" $REDIS_PID; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}" $REDIS_PID; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
	REDIS_PID=
}
trap stop_all EXIT INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # wait_port PORT PID
	for _ in $(seq 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
rss() { awk '/VmRSS/{print $2*1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

port=$PORT_BASE
next_port() {
	port=$((port + 1))
	while ! port_free "$port"; do port=$((port + 1)); done
}

run_peer() { # run_peer PEER CONNS
	local peer=$1 conns=$2
	next_port
	local rport=$port
	taskset -c "$SERVER_CPUS" redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
		>"$OUT/logs/$peer.redis.log" 2>&1 &
	REDIS_PID=$!
	wait_port "$rport" "$REDIS_PID" || { log "$peer: redis-server did not start"; stop_all; return 1; }
	local addrs=() pids=()
	for i in $(seq "$NODES"); do
		next_port
		case $peer in
		sioloop) taskset -c "$SERVER_CPUS" "$BIN/sioloop-server" -addr "127.0.0.1:$port" -redis "127.0.0.1:$rport" \
			>"$OUT/logs/$peer.node$i.log" 2>&1 & ;;
		node) taskset -c "$SERVER_CPUS" node bench/peers/node/server.js --port "$port" --redis "127.0.0.1:$rport" \
			>"$OUT/logs/$peer.node$i.log" 2>&1 & ;;
		esac
		local pid=$!
		PIDS+=("$pid")
		wait_port "$port" "$pid" || { log "$peer: node $i did not start (logs/$peer.node$i.log)"; stop_all; return 1; }
		addrs+=("127.0.0.1:$port")
		pids+=("$pid")
	done
	local before=() p
	for p in "${pids[@]}"; do before+=("$(rss "$p")"); done
	local rcpu0 rrss0
	rcpu0=$(cpu_ticks "$REDIS_PID")
	rrss0=$(rss "$REDIS_PID")
	local procs=$(((conns + 14999) / 15000))
	local a
	a=$(IFS=,; echo "${addrs[*]}")
	p=$(IFS=,; echo "${pids[*]}")
	log "$peer: $conns subscribers over $NODES nodes ($a), redis :$rport, sioperf -procs $procs"
	local t0=$SECONDS
	# shellcheck disable=SC2086
	taskset -c "$TOOL_CPUS" "$BIN/sioperf" fanout -addr "$a" -server-pid "$p" -subs "$conns" \
		-src "$SRC" -procs "$procs" -start "$START" -growth "$GROWTH" -max-steps "$MAX_STEPS" -bisect "$BISECT" \
		-step "$STEP" -warmup "$WARMUP" -p99 "$P99" -drain "$DRAIN" -settle-max 10s -handshake-timeout 60s \
		-label "$peer-cluster" -case "cluster-fanout" -json -progress off -timeout "$RUN_TIMEOUT" \
		>"$OUT/$peer.json" 2>"$OUT/logs/$peer.sioperf.log" || log "$peer: sioperf reported an error (logs/$peer.sioperf.log)"
	local rcpu1 rrss1
	rcpu1=$(cpu_ticks "$REDIS_PID")
	rrss1=$(rss "$REDIS_PID")
	printf '{"peer":"%s","conns":%d,"nodes":%d,"node_pids":[%s],"node_rss_before":[%s],"redis_rss_before":%s,"redis_rss_after":%s,"redis_cpu_s":%s,"wall_s":%d}\n' \
		"$peer" "$conns" "$NODES" "$p" "$(IFS=,; echo "${before[*]}")" "$rrss0" "$rrss1" \
		"$(awk -v a="$rcpu0" -v b="$rcpu1" -v hz="$(getconf CLK_TCK)" 'BEGIN{print (b-a)/hz}')" $((SECONDS - t0)) \
		>"$OUT/$peer.meta.json"
	stop_all
	sleep 3 # TIME_WAIT and the machine settle
}

for peer in $PEERS; do
	case $peer in
	sioloop) run_peer sioloop "$CONNS" || true ;;
	node)
		if ! (cd bench/peers/node && node -e 'require("socket.io"); require("@socket.io/redis-adapter"); require("redis")') 2>/dev/null; then
			log "skipping node: socket.io, @socket.io/redis-adapter or redis not installed (make bench-peers)"
			continue
		fi
		run_peer node "$NODE_CONNS" || true
		;;
	*) log "unknown peer $peer"; exit 2 ;;
	esac
done

python3 "$ROOT/bench/cluster/summarize.py" "$OUT" | tee "$OUT/summary.md"
rm -rf "$BIN"
log "done: $OUT/summary.md"
