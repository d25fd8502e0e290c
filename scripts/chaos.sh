#!/usr/bin/env bash
# The chaos run (tests/chaos/README.md): 3 nodes + redis under courier-sim's
# load, a random node SIGKILLed or SIGSTOPped every 20 s for 3 minutes; exits
# non-zero on any lost order, status regression, captured failed order or
# paid order its store never saw.
#
#   bash scripts/chaos.sh [BUILD_DIR]      # default build/ (scripts/build.sh first)
#   COURIER_CHAOS_SEED=123 bash scripts/chaos.sh   # replay a schedule
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
exec ctest --test-dir "$build" -R '^chaos_run$' --output-on-failure -V
