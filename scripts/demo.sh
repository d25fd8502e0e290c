#!/usr/bin/env bash
# Installs what is needed, builds, and runs the main job: one node on the
# embedded store (demo mode: prints the live map URL with an admin token)
# with courier-sim driving a simulated city against it. Ctrl-C stops both.
#
# The city flows (issue #15): 200 riders at speedup 15, and the sim sizes
# the order rate to them (Little's law, tools/sim/README.md): about 124
# orders/min keep 60 % of the riders busy, the first deliveries arrive
# within a minute and the backlog stays flat. The node splits a region cell
# above 30 riders (the demo's hot spot has ~100 within 1 km of Gangnam), so
# the map shows split hot cells at res 8/9.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh
build=${BUILD_DIR:-build}
data=${COURIER_DATA_DIR:-$build/demo-data}
mkdir -p "$data"
log=$(mktemp)
"$build/tools/courier-node" --demo --data-dir "$data" \
  --region-split-riders 30 --region-merge-riders 15 "$@" | tee "$log" &
node_pid=$!
trap 'kill $node_pid 2>/dev/null; [ -n "${sim_pid:-}" ] && kill $sim_pid 2>/dev/null; wait; rm -f "$log"' EXIT INT TERM
for _ in $(seq 1 100); do grep -q "ready http=" "$log" && break; sleep 0.1; done
grep -q "ready http=" "$log" || { echo "demo: the node did not start"; exit 1; }
port=$(grep -o 'ready http=[0-9]*' "$log" | cut -d= -f2)
tcp=$(grep -o 'tcp=[0-9]*' "$log" | head -1 | cut -d= -f2)
if [ -x "$build/tools/sim/courier-sim" ]; then
  "$build/tools/sim/courier-sim" --http-port "$port" --tcp-port "$tcp" \
    --secret courier-demo-secret --speedup 15 &
  sim_pid=$!
fi
echo "demo: open the live map URL printed above; Ctrl-C to stop"
wait $node_pid
