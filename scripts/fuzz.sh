#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan+UBSan) into build-fuzz/ (or
# $FUZZ_BUILD_DIR) and runs a campaign per target, one process each, one
# after the other. Prints per target: executions, exec/s, coverage (cov:
# edges, ft: features, from libFuzzer's final stats), new units, crashes.
#
#   scripts/fuzz.sh [--runs N | --seconds S] [--no-build] [target...]
#
# Default: --seconds 60 over every target (fuzz/README.md lists them).
# New corpus entries go to $FUZZ_BUILD_DIR/corpus/<target>/ (not into the
# repo); a crash, leak or timeout is saved in
# $FUZZ_BUILD_DIR/artifacts/<target>/ and makes the script exit 1. To keep
# one as a regression input, copy it into fuzz/regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

all_targets=(json_message proto_envelope tcp_frames ws_frames http_request rest_request
             token journal_recovery history_segment node_config)
# Longest input per target, in bytes: a frame's bound for frames, a bit
# more than a token's for tokens, an HTTP request with a body, ...
declare -A max_len=(
  [json_message]=65536 [proto_envelope]=65536 [tcp_frames]=65536 [ws_frames]=65536
  [http_request]=32768 [rest_request]=16384 [token]=4096 [journal_recovery]=65536
  [history_segment]=65536 [node_config]=16384)

# Extra flags per target: recovery reports every torn tail it cuts on
# stderr (the target's stderr is closed; libFuzzer and sanitizer reports
# still print).
declare -A extra=([journal_recovery]=-close_fd_mask=2 [history_segment]=-close_fd_mask=2)

limit=(-max_total_time=60)
no_build=0
targets=()
while (($#)); do
  case "$1" in
  --runs) limit=(-runs="$2"); shift 2 ;;
  --seconds) limit=(-max_total_time="$2"); shift 2 ;;
  --no-build) no_build=1; shift ;;
  -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
  -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
  *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ -n "${max_len[$t]:-}" ]] || { echo "fuzz.sh: unknown target $t" >&2; exit 2; }
done

build=${FUZZ_BUILD_DIR:-build-fuzz}
command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 missing: run scripts/bootstrap.sh" >&2; exit 2; }
if ((!no_build)); then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCOURIER_FUZZ=ON \
    -DCOURIER_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "${JOBS:-2}" --target "${targets[@]/%/_fuzz}"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
summary=()
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  log=$build/logs/$t.log
  mkdir -p "$(dirname "$log")"
  echo "fuzz.sh: $t (log: $log)"
  before=$(find "$artifacts" -type f | wc -l)
  set +e
  # One process: without -jobs libFuzzer fuzzes in this process (-jobs=1
  # would fork a child logging to ./fuzz-0.log).
  "$build/fuzz/${t}_fuzz" "${limit[@]}" -max_len="${max_len[$t]}" -timeout=10 \
    -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 ${extra[$t]:-} \
    -artifact_prefix="$artifacts/" "$corpus" "$root/fuzz/corpus/$t" \
    "$root/fuzz/regressions/$t" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  crashes=$(($(find "$artifacts" -type f | wc -l) - before))
  ((rc == 0)) || { failed=1; tail -40 "$log"; }
  summary+=("$(printf '%-18s %12s %8s %7s %7s %6s %8s %4s' "$t" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "${units:-?}" "$crashes" "$rc")")
done
printf '%-18s %12s %8s %7s %7s %6s %8s %4s\n' target execs exec/s cov ft new crashes rc
printf '%s\n' "${summary[@]}"
exit $failed
