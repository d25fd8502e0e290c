#!/usr/bin/env bash
# Runs the shared side-by-side kit (../shared/loadtest/side_by_side.sh: one
# load client, a fresh courier-node and the Node `ws` peer, each server on
# one core) RUNS times and prints the medians, with CPU per push and the
# Courier/peer ratios from the same runs.
#
#   bench/peer/side_by_side_runs.sh BUILD_DIR RATE [SUBS=10] [RIDERS=1000]
#   env: RUNS=3, KIT=<path to shared/loadtest>, PEER=0 (Courier only),
#        NODE_FLAGS (passed to courier-node), SECS (per run)
#
# RATE is positions/s in total; pushes/s = RATE x SUBS. Each run's raw
# key=value lines go to stderr.
set -euo pipefail
build=${1:?BUILD_DIR}; rate=${2:?RATE}; subs=${3:-10}; riders=${4:-1000}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
kit=${KIT:-$here/../../../shared/loadtest}
[ -x "$kit/side_by_side.sh" ] || { echo "no side_by_side.sh in $kit (set KIT)" >&2; exit 2; }
out=$(mktemp); trap 'rm -f "$out"' EXIT
for i in $(seq 1 "$runs"); do
  bash "$kit/side_by_side.sh" "$build" "$rate" "$subs" "$riders" 2>/dev/null | tee -a "$out" >&2
done
# Medians per tag of the fields that matter.
awk -v runs="$runs" '
  function field(line, k,   n, i, a, kv) {
    n = split(line, a, " ")
    for (i = 1; i <= n; i++) { split(a[i], kv, "="); if (kv[1] == k) return kv[2] }
    return ""
  }
  function median(arr, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
  }
  /^tag=/ {
    tag = field($0, "tag"); c[tag]++
    k = c[tag]
    pps[tag, k] = field($0, "pushes_per_s"); loss[tag, k] = field($0, "loss_pct")
    p50[tag, k] = field($0, "p50_ms"); p99[tag, k] = field($0, "p99_ms")
    cpu[tag, k] = field($0, "server_cpu_pct"); lim[tag, k] = field($0, "client_limited")
    us[tag, k] = pps[tag, k] > 0 ? cpu[tag, k] / 100 / pps[tag, k] * 1e6 : 0
  }
  END {
    for (tag in c) {
      n = c[tag]
      for (k = 1; k <= n; k++) { a1[k] = pps[tag, k]; a2[k] = loss[tag, k]; a3[k] = p50[tag, k]; a4[k] = p99[tag, k]; a5[k] = cpu[tag, k]; a6[k] = us[tag, k] }
      m_pps[tag] = median(a1, n); m_loss[tag] = median(a2, n); m_p50[tag] = median(a3, n)
      m_p99[tag] = median(a4, n); m_cpu[tag] = median(a5, n); m_us[tag] = median(a6, n)
      printf "median of %d: %s pushes_per_s=%.0f loss_pct=%.3f p50_ms=%.3f p99_ms=%.3f server_cpu_pct=%.1f cpu_us_per_push=%.2f\n", n, tag, m_pps[tag], m_loss[tag], m_p50[tag], m_p99[tag], m_cpu[tag], m_us[tag]
    }
    if (("courier" in c) && ("peer" in c) && m_us["peer"] > 0)
      printf "ratio courier/peer: cpu_us_per_push=%.2f p99_ms=%.2f\n", m_us["courier"] / m_us["peer"], m_p99["courier"] / m_p99["peer"]
  }' "$out"
