#!/usr/bin/env bash
# Runs h3_bench (C++) and h3_bench.js (h3-js 4.5.0, installed into a scratch
# dir under the build tree) on the same points and prints, per operation,
# the median calls/s of each (each program takes the median of its runs)
# and the C++/JS ratio. Without npm/h3-js it prints the C++ side and exits
# 77 (ctest: skipped).
#
# usage: run_bench.sh H3_BENCH_BINARY BENCH_JS SCRATCH_DIR [--points N] [--runs R]
set -euo pipefail
bin=$1
js=$2
mkdir -p "$3"
scratch=$(cd "$3" && pwd)
shift 3
readonly skip=77

echo "C++ (courier_geo):"
"$bin" "$@" | tee "$scratch/cpp.txt"

if ! command -v npm >/dev/null ||
   ! { [[ -f $scratch/node_modules/h3-js/package.json ]] ||
       (cd "$scratch" && npm install --no-audit --no-fund --no-save h3-js@4.5.0 >npm.log 2>&1); }; then
  echo "SKIP: h3-js@4.5.0 not installable (no npm or registry); C++ figures above"
  exit $skip
fi
cp "$js" "$scratch/h3_bench.js"
echo "JS (h3-js):"
(cd "$scratch" && node h3_bench.js "$@") | tee "$scratch/js.txt"

echo
printf '%-14s %14s %14s %8s\n' operation "C++ calls/s" "h3-js calls/s" "C++/JS"
join "$scratch/cpp.txt" "$scratch/js.txt" |
  awk '{ printf "%-14s %14.0f %14.0f %8.2f\n", $1, $2, $3, $2 / $3 }'
