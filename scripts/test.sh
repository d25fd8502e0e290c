#!/usr/bin/env bash
# Installs what is needed, builds, and runs every default test (all labels
# but bench, slow and fuzz; scripts/fuzz.sh runs the fuzz campaigns). Exits
# non-zero on any failure; ctest's summary line is the last thing it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh "$@"
cd "${BUILD_DIR:-build}"
ctest -LE '^(bench|slow|fuzz)$' --output-on-failure -j "${JOBS:-2}"
