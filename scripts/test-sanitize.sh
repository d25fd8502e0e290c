#!/usr/bin/env bash
# The default test run on an ASan+UBSan build (build-asan/).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan} bash scripts/test.sh -DCOURIER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
