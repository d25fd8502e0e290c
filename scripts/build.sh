#!/usr/bin/env bash
# Configures and builds Courier into build/ (or $BUILD_DIR), two jobs.
# Extra arguments go to cmake's configure step, e.g. -DCOURIER_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja "$@"
cmake --build "$build_dir" -j "${JOBS:-2}"
