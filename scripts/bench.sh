#!/usr/bin/env bash
# Builds and runs the full benchmarks (ctest label bench), printing each
# benchmark's medians and ratios against its same-run baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest -L '^bench$' --output-on-failure -j1
