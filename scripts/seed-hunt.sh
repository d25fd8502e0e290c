#!/usr/bin/env bash
# Seed hunt: runs every seeded property test over many fresh seeds.
#
#   bash scripts/seed-hunt.sh [SEEDS] [BUILD_DIR]
#
# SEEDS (default 100000) seeds of each property test, drawn from a random
# base in chunks of CHUNK (default 10000) so a failure is found early and a
# chunk's base is printed. Each failing seed is printed as a replay line
# ("SEED FAILED: ... replay: COURIER_SEED=..."); the script exits non-zero
# if any seed failed. BUILD_DIR defaults to build/ (build it first, e.g. with
# scripts/build.sh); for the sanitizer build:
#
#   bash scripts/build.sh  # or: BUILD_DIR=build-asan bash scripts/build.sh -DCOURIER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
#   bash scripts/seed-hunt.sh 10000 build-asan
#
# ctest runs it as `seed_hunt` (label slow) on the build it belongs to.
# A failing seed found here becomes a regression seed in its test (see
# tests/README.md, "Seeds").
set -uo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-100000}
build=${2:-build}
chunk=${CHUNK:-10000}

# binary | doctest filter | label
tests=(
  "tests/cluster/multi_node_test|*no acked order is lost*|multi_node.properties"
  "tests/cluster/cluster_sessions_test|*every store session sees*|cluster_sessions.properties"
  "actors/actors_test|orders_never_regress*|order.properties"
  "actors/actors_test|property_no_rider_holds_two_orders*|dispatch.property"
)

failed=0
for t in "${tests[@]}"; do
  IFS='|' read -r bin filter label <<<"$t"
  if [ ! -x "$build/$bin" ]; then
    echo "seed-hunt: $build/$bin is missing: build first" >&2
    exit 2
  fi
  done_n=0
  start=$(date +%s)
  while [ "$done_n" -lt "$seeds" ]; do
    n=$((seeds - done_n < chunk ? seeds - done_n : chunk))
    base=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
    out=$(COURIER_SEED_BASE=$base COURIER_SEEDS=$n "$build/$bin" "-tc=$filter" 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then
      failed=1
      echo "seed-hunt: $label: FAILED in the chunk from base $base ($n seeds):"
      grep -A1 "SEED FAILED" <<<"$out" || tail -30 <<<"$out"
    fi
    done_n=$((done_n + n))
  done
  echo "seed-hunt: $label: $done_n seeds in $(( $(date +%s) - start )) s on $build"
done
if [ $failed -ne 0 ]; then
  echo "seed-hunt: failing seeds above"
  exit 1
fi
echo "seed-hunt: no failing seed"
