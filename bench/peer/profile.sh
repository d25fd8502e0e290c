#!/usr/bin/env bash
# Profiles a courier-node under the shared load client: the node alone on
# CPU 1, pload on CPU 0, `perf record -g` on the node for the steady part of
# the run. Prints pload's summary line and the top of `perf report`.
#
#   bench/peer/profile.sh BUILD_DIR RATE [SUBS=10] [RIDERS=1000]
#   env: SECS=10  NODE_FLAGS=""  PERF_OUT=/tmp/courier.perf.data  TOP=40
#
# Run it on an otherwise idle machine; it is a tool for finding where the
# time goes, not a benchmark (perf itself costs a few percent).
set -euo pipefail
build=$(cd "${1:?BUILD_DIR}" && pwd); rate=${2:?RATE}; subs=${3:-10}; riders=${4:-1000}
secs=${SECS:-10}; flags=${NODE_FLAGS:-}; out=${PERF_OUT:-/tmp/courier.perf.data}
kit=$(cd "$(dirname "$0")/../../../shared/loadtest" && pwd)
work=$(mktemp -d); trap 'kill ${cp:-} ${pp:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cp "$kit"/{pload.c,Makefile} "$work"/
(cd "$work" && make -s pload); ulimit -n "$(ulimit -Hn)"
secret=profile-secret
"$work/pload" --setup courier --list-ids --riders "$riders" --stores 50 |
  while read -r role id; do
    echo "$role $id $("$build/tools/courier-ctl" token --role "$role" --id "$id" --secret "$secret" --ttl 86400)"
  done > "$work/tokens.txt"
taskset -c 1 "$build/tools/courier-node" --secret "$secret" --http-port 18091 --tcp-port 0 \
  --data-dir "$work/data" --log-level warning $flags > "$work/node.log" 2>&1 & cp=$!
for _ in $(seq 1 100); do grep -q 'ready http=' "$work/node.log" && break; sleep 0.1; done
taskset -c 0 "$work/pload" --setup courier --port 18091 --token-file "$work/tokens.txt" --stores 50 \
  --server-pid "$cp" --tag courier --riders "$riders" --subs "$subs" --rate "$rate" \
  --duration "$secs" --warmup 2 --drain 3 2> "$work/pload.log" & pp=$!
sleep $((secs / 3 + 4))
perf record -q -g -o "$out" -p "$cp" -- sleep $((secs / 2)) >/dev/null 2>&1
wait "$pp"; pp=
perf report -i "$out" --no-children --percent-limit 0.7 --stdio 2>/dev/null |
  grep -E '^ +[0-9]' | head -"${TOP:-40}"
