#!/bin/bash
# ov.sh OUT LABEL TOOL SERVERARGS SIOPERFARGS: one overload run of bench/server
# (built to /tmp/srv) with the sioperf binary TOOL. RATE, when set, is the
# sustainable rate given (the e2 runs: RATE=2000000); unset, the ladder finds it
# (the e4 runs). Read the JSON with ../2026-12-03-overload-bounded/show.py.
ulimit -n $(ulimit -Hn)
out=$1; mkdir -p $out
port=$((19000 + RANDOM % 1000))
taskset -c 1 /tmp/srv -addr 127.0.0.1:$port -loops 1 $4 >$out/srv-$2.log 2>&1 &
pid=$!
sleep 1
taskset -c 0 $3 overload -addr 127.0.0.1:$port -subs 10000 -p99 1s -overload 2 -duration 20s -recovery 5s ${RATE:+-rate $RATE} -src 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 -server-pid $pid -progress off -label $2 $5 -json > $out/$2.json 2>$out/$2.txt
kill $pid; wait $pid 2>/dev/null
