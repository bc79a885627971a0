#!/usr/bin/env bash
# Long-polling only (sioperf -transport polling): echo with 1,000 clients and
# fan-out to 1,000 subscribers (the ladder, p99 bound 250 ms), sioloop (one
# loop) and Node socket.io 4.8.4, the server on core 1 and sioperf on core 0,
# two rounds, one server at a time.
set -u
out=$(dirname "$0")
root=$(cd "$out/../../.." && pwd)
port=3400
for round in 1 2; do
  for server in sioloop node; do
    for scenario in echo fanout; do
      port=$((port+1))
      if [ $server = sioloop ]; then
        taskset -c 1 /tmp/bserver-new -addr 127.0.0.1:$port -loops 1 > "$out/server-$server-$scenario-$round.log" 2>&1 &
      else
        taskset -c 1 node "$root/bench/peers/node/server.js" --port $port > "$out/server-$server-$scenario-$round.log" 2>&1 &
      fi
      pid=$!
      sleep 2
      if [ $scenario = echo ]; then
        args="echo -clients 1000 -duration 8s"
      else
        args="fanout -subs 1000 -start 5000 -max-steps 14"
      fi
      timeout 400 taskset -c 0 /tmp/sioperf $args -addr 127.0.0.1:$port -transport polling \
        -server-pid $pid -label "$server" -json -progress off \
        > "$out/$scenario-$server-$round.json" 2> "$out/$scenario-$server-$round.err"
      kill $pid; wait $pid 2>/dev/null
    done
  done
done
