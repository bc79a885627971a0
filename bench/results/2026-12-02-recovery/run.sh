#!/usr/bin/env bash
# Connection state recovery on against off (bench/server -recovery): echo
# with 1,000 clients and the fan-out ladder to 1,000 subscribers, sioloop
# with one loop on core 1, sioperf on core 0, two rounds (ROUNDS="3" ran a third).
set -u
out=$(dirname "$0")
port=3500
for round in ${ROUNDS:-1 2}; do
  for rec in off on; do
    for scenario in echo fanout; do
      port=$((port+1))
      flag=""
      [ $rec = on ] && flag="-recovery"
      taskset -c 1 /tmp/bserver-new -addr 127.0.0.1:$port -loops 1 $flag > "$out/server-$rec-$scenario-$round.log" 2>&1 &
      pid=$!
      sleep 1
      if [ $scenario = echo ]; then
        args="echo -clients 1000 -duration 8s"
      else
        args="fanout -subs 1000"
      fi
      timeout 400 taskset -c 0 /tmp/sioperf $args -addr 127.0.0.1:$port \
        -server-pid $pid -label "recovery-$rec" -json -progress off \
        > "$out/$scenario-$rec-$round.json" 2> "$out/$scenario-$rec-$round.err"
      kill $pid; wait $pid 2>/dev/null
    done
  done
done
