#!/usr/bin/env bash
# Fan-out to 10,000 subscribers on a two-loop server: clients that open a
# WebSocket at once, against clients that connect as io() does in a browser
# (a polling handshake on its own connection, then the upgrade), on the
# server before the relocation of upgraded clients (b069509, /tmp/bserver-old)
# and after it (/tmp/bserver-new). Fixed rates, two rounds, one server at a
# time; the server and sioperf share the machine's two cores.
set -u
out=$(dirname "$0")
port=3201
for round in 1 2; do
  for server in old new; do
    for transport in websocket upgrade; do
      port=$((port+1))
      # Both builds run one loop per CPU, two here (the old one has no -loops).
      /tmp/bserver-$server -addr 127.0.0.1:$port > "$out/server-$server-$transport-$round.log" 2>&1 &
      pid=$!
      sleep 1
      timeout 300 /tmp/sioperf fanout -addr 127.0.0.1:$port -subs 10000 -transport $transport \
        -src 127.0.0.2,127.0.0.3,127.0.0.4 -rates 500000,1000000,1500000 -step 4s \
        -server-pid $pid -label "sioloop-$server-$transport" -json -progress off \
        > "$out/fanout-$server-$transport-$round.json" 2> "$out/fanout-$server-$transport-$round.err"
      kill $pid; wait $pid 2>/dev/null
    done
  done
done
