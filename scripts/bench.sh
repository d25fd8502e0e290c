#!/usr/bin/env bash
# Builds and runs the full benchmarks (ctest label bench), printing each
# benchmark's medians and ratios against its same-run baseline.
#
#   bash scripts/bench.sh                       # every benchmark (ctest -L bench)
#   bash scripts/bench.sh --peer RATE [SUBS]    # the client path against the Node ws
#                                               # peer: ../shared/loadtest, 3 runs, medians
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh
if [ "${1:-}" = "--peer" ]; then
  shift
  exec bash bench/peer/side_by_side_runs.sh "${BUILD_DIR:-build}" "$@"
fi
cd "${BUILD_DIR:-build}"
ctest -L '^bench$' --output-on-failure -j1
