#!/usr/bin/env bash
# Fan-out at fixed rates (1M and 2M deliveries/s to 1,000 subscribers),
# recovery off and on alternately, three rounds: server CPU per delivery at
# the same offered load, which the ladder's tool-bound maximum hides.
set -u
out=$(dirname "$0")
port=3600
for round in 1 2 3; do
  for rec in off on; do
    port=$((port+1))
    flag=""
    [ $rec = on ] && flag="-recovery"
    taskset -c 1 /tmp/bserver-new -addr 127.0.0.1:$port -loops 1 $flag > /dev/null 2>&1 &
    pid=$!
    sleep 1
    timeout 300 taskset -c 0 /tmp/sioperf fanout -subs 1000 -rates 1000000,2000000 -step 4s -addr 127.0.0.1:$port \
      -server-pid $pid -label "recovery-$rec" -json -progress off \
      > "$out/fixed-$rec-$round.json" 2> "$out/fixed-$rec-$round.err"
    kill $pid; wait $pid 2>/dev/null
  done
done
