#!/bin/bash
# time from launch to the "listening" line, fresh DATA_DIR
D=$(mktemp -d /tmp/fresh-data-XXXX)
rm -rf $D
PORT=${PORT:-3917}
start=$(date +%s%N)
DATA_DIR=$D PORT=$PORT LLM_PROVIDER=offline $@ > /tmp/startup.out 2>&1 &
pid=$!
while ! grep -q "listening on" /tmp/startup.out 2>/dev/null; do sleep 0.05; if ! kill -0 $pid 2>/dev/null; then echo died; cat /tmp/startup.out; break; fi; done
ready=$(date +%s%N)
echo "ready_ms=$(( (ready-start)/1000000 ))"
# first API request that touches the DB
t0=$(date +%s%N); curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:$PORT/portfolio; t1=$(date +%s%N)
echo " first /portfolio ms=$(( (t1-t0)/1000000 ))"
kill -INT $pid; wait $pid 2>/dev/null
rm -rf $D
