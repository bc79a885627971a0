#!/usr/bin/env bash
# Echo with 1,000 clients, each on its own schedule (sioperf -echo-interval:
# one echo per interval at a random phase), against the closed loop, for
# sioloop (one loop) and Node socket.io 4.8.4: server on core 1, sioperf on
# core 0, two rounds. At 50 ms the offered load is 20k round trips/s, which
# both servers can carry: the figure is server CPU per round trip.
set -u
out=$(dirname "$0")
root=$(cd "$out/../../.." && pwd)
port=3800
for round in 1 2; do
  for server in sioloop node; do
    for mode in paced50ms closed; do
      port=$((port+1))
      if [ $server = sioloop ]; then
        taskset -c 1 /tmp/bserver-new -addr 127.0.0.1:$port -loops 1 > /dev/null 2>&1 &
      else
        taskset -c 1 node "$root/bench/peers/node/server.js" --port $port > /dev/null 2>&1 &
      fi
      pid=$!
      sleep 2
      extra=""
      [ $mode = paced50ms ] && extra="-echo-interval 50ms"
      timeout 200 taskset -c 0 /tmp/sioperf echo -clients 1000 -duration 8s $extra -addr 127.0.0.1:$port \
        -server-pid $pid -label "$server" -json -progress off \
        > "$out/echo-$mode-$server-$round.json" 2> "$out/echo-$mode-$server-$round.err"
      kill $pid; wait $pid 2>/dev/null
    done
  done
done
