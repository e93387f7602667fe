#!/bin/sh
# Interleaved A/B of two release builds of the headless `broker` (no -v): /tmp/ab/base and
# /tmp/ab/new (copy the binaries there first); the new build's `bench` is the load for both.
# Each round starts a fresh broker per scenario. Output: one JSON result per line in $OUT.
set -u
OUT=${OUT:-/tmp/ab/results.txt}
ROUNDS=${ROUNDS:-4}
: > $OUT
r=1
while [ $r -le $ROUNDS ]; do
  for which in base new; do
    for sc in "fanin -q 0 -c 10" "fanin -q 1 -c 10" "fanout -q 0 -c 10"; do
      PORT=$((23000 + r * 20 + $(echo "$sc" | cksum | cut -c1-1)))
      [ $which = new ] && PORT=$((PORT + 10))
      /tmp/ab/$which broker -p $PORT >/dev/null 2>&1 &
      BPID=$!
      sleep 0.5
      RES=$(/tmp/ab/new bench $sc -p $PORT -d 3 --quiet --json 2>/dev/null | tr -d '\n')
      kill $BPID; wait $BPID 2>/dev/null
      echo "$r $which $(echo $sc | tr ' ' '_') load=$(cut -d' ' -f1 /proc/loadavg) $RES" >> $OUT
    done
  done
  r=$((r + 1))
done
