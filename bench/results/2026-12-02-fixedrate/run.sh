#!/bin/bash
# fo2.sh OUTDIR: fanout1k at fixed rates, raw gnet and two sioloop builds, pinned as bench/run.sh pins.
ulimit -n $(ulimit -Hn)
out=$1; mkdir -p $out
for rep in 1 2; do
 for rate in 1000000 2000000 3000000; do
  for s in raw old new; do
   p=""; [ $s = raw ] && p="-proto raw"
   port=$((18000 + RANDOM % 1000))
   taskset -c 1 /tmp/srv-$s -addr 127.0.0.1:$port >$out/srv-$s-$rate-$rep.log 2>&1 &
   pid=$!
   sleep 1
   taskset -c 0 /tmp/sioperf fanout -addr 127.0.0.1:$port -subs 1000 $p -rates $rate -step 4s -server-pid $pid -progress off -label $s -json > $out/$s-$rate-$rep.json 2>$out/$s-$rate-$rep.txt
   kill $pid; wait $pid 2>/dev/null
  done
 done
done
