#!/bin/bash
# echo.sh OUT: echo1k, sioloop (workers), sioloop (InlineHandlers) and Node, interleaved, pinned as bench/run.sh pins.
ulimit -n $(ulimit -Hn)
out=$1; mkdir -p $out
for rep in 1 2 3; do
 for s in sioloop inline node; do
  port=$((20000 + RANDOM % 1000))
  case $s in
   sioloop) cmd="/tmp/srv-inl -addr 127.0.0.1:$port" ;;
   inline) cmd="/tmp/srv-inl -inline -addr 127.0.0.1:$port" ;;
   node) cmd="node /work/main/bench/peers/node/server.js --port $port" ;;
  esac
  taskset -c 1 $cmd >$out/srv-$s-$rep.log 2>&1 &
  pid=$!
  sleep 1.5
  taskset -c 0 /tmp/sioperf echo -addr 127.0.0.1:$port -clients 1000 -duration 8s -server-pid $pid -progress off -label $s -json > $out/$s-$rep.json 2>$out/$s-$rep.txt
  kill $pid; wait $pid 2>/dev/null
 done
done
touch $out/done
