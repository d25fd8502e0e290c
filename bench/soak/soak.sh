#!/usr/bin/env bash
# The soak benchmark (issue #13): one courier-node on the embedded journal
# (fsync on), driven by courier-sim with a steady order and position load
# until it has placed ORDERS orders or DURATION_S seconds have passed. Every SAMPLE_S it
# records the node's RSS, open files, data-directory bytes, journal bytes and
# streams, live entities, history bytes, and the sim's p99 latencies over
# that interval; at the end it says whether each resource plateaued.
#
#   bench/soak/soak.sh BUILD_DIR
#   env: ORDERS=1000000 DURATION_S=1800 SAMPLE_S=30 RIDERS=2000 CUSTOMERS=400
#        STORES=50 ORDERS_PER_MIN=60000 SPEEDUP=10 DECLINE=0.99
#        NODE_FLAGS="--order-retention-min 2 --idle-passivation-s 60"
#        OUT=/tmp/courier-soak.tsv KEEP=0 JUDGE=1
#
# The order mix: DECLINE of the orders fail at payment (the node's simulated
# provider declines them: --payment-decline-rate), so they finish within
# milliseconds; the rest run the full flow (store accepts, rider delivers).
# The full-flow share is sized to the riders: a rider takes ~90 s of wall
# time per delivery at SPEEDUP 10 (tools/sim/sizing.hpp), so 2,000 riders
# deliver ~22/s and 1% of 1,000 orders/s keeps them ~45% busy. More than
# they can deliver piles up until courier-sim's 2,000 orders in flight
# stop its pacing.
# That is how one node reaches a million finished orders in tens of minutes
# while riders still stream positions and deliver; every order, declined or
# delivered, opens, journals and finishes its own stream.
#
# Compressed time: a finished order leaves the journal 2 minutes after its
# final status instead of the default 60, and an idle entity passivates
# after 60 s instead of 10 minutes, so the steady state (every order past
# its retention, every finished entity passivated) comes within minutes.
# Set NODE_FLAGS to the defaults ("") to see a real hour.
#
# Plateau: a resource plateaued when its largest sample in the last third of
# the run is at most 10% (plus a small absolute slack) above its largest
# sample in the middle third. Exit 0 when every resource did, 1 when one grew,
# 2 when the run itself failed (or, with JUDGE=0, a smoke run that placed
# nothing or took fewer than 3 samples). History bytes are reported, not judged: they
# grow until the detail retention (at least 1 h) first expires.
#
# Run it alone on an idle machine (label `slow`: `ctest -L slow -R bench_soak`
# runs a 12-minute version; `bench_soak_smoke`, 20 s with JUDGE=0, is in the default run so the script does not rot). Results go into bench/README.md.
set -euo pipefail
build=$(cd "${1:?BUILD_DIR}" && pwd)
orders=${ORDERS:-1000000}; duration_s=${DURATION_S:-1800}; sample_s=${SAMPLE_S:-30}
riders=${RIDERS:-2000}; customers=${CUSTOMERS:-400}; stores=${STORES:-50}
opm=${ORDERS_PER_MIN:-60000}; speedup=${SPEEDUP:-10}; decline=${DECLINE:-0.99}
out=${OUT:-/tmp/courier-soak.tsv}
work=$(mktemp -d)
cleanup() {
  kill ${sim_pid:-} ${node_pid:-} 2>/dev/null || true
  wait 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "soak: kept $work" || rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
secret=soak-secret

"$build/tools/courier-node" --secret "$secret" --http-port 0 --tcp-port 0 \
  --data-dir "$work/data" --log-level warning --payment-decline-rate "$decline" \
  ${NODE_FLAGS---order-retention-min 2 --idle-passivation-s 60} > "$work/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 200); do grep -qs 'ready http=' "$work/node.log" && break; sleep 0.1; done
grep -q 'ready http=' "$work/node.log" || { echo "soak: the node did not start"; cat "$work/node.log"; exit 2; }
http=$(grep -o 'ready http=[0-9]*' "$work/node.log" | cut -d= -f2)
tcp=$(grep -o 'tcp=[0-9]*' "$work/node.log" | head -1 | cut -d= -f2)

"$build/tools/sim/courier-sim" --http-port "$http" --tcp-port "$tcp" --secret "$secret" \
  --riders "$riders" --customers "$customers" --stores "$stores" --orders-per-min "$opm" \
  --speedup "$speedup" --duration-s "$duration_s" --progress-s "$sample_s" \
  --json-summary "$work/sim.json" > "$work/sim.log" 2>&1 &
sim_pid=$!

# metric NAME: the node's value of an unlabelled series (0 if absent).
metric() { awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }' "$work/metrics"; }
# mib BYTES: the same in MiB.
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# p99 NAME: the sim's p99 for NAME over its latest progress interval.
p99() { grep -o "$1=[0-9.e+-]*" <<< "$last_progress" | tail -1 | cut -d= -f2 || true; }

printf 't_s\tplaced\tdelivered\tfailed\trss_mib\tfds\tdisk_mib\tjournal_mib\tstreams\tentities\thistory_mib\tp99_placed_ms\tp99_pos_ms\tp99_status_ms\ttombstones\tarchive_index_mib\trss_anon_mib\trss_file_mib\n' | tee "$out"
start=$(date +%s)
while kill -0 "$sim_pid" 2>/dev/null; do
  sleep "$sample_s"
  kill -0 "$node_pid" 2>/dev/null || { echo "soak: the node died"; tail -20 "$work/node.log"; exit 2; }
  curl -sf --max-time 10 "http://127.0.0.1:$http/metrics" > "$work/metrics" || : > "$work/metrics"
  last_progress=$(grep '^t=' "$work/sim.log" | tail -1 || true)
  placed=$(grep -o ' placed=[0-9]*' <<< "$last_progress" | cut -d= -f2 || true)
  delivered=$(grep -o 'delivered=[0-9]*' <<< "$last_progress" | cut -d= -f2 || true)
  failed=$(grep -o 'failed=[0-9]*' <<< "$last_progress" | head -1 | cut -d= -f2 || true)
  rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$node_pid/status")
  rss_anon_kib=$(awk '/^RssAnon:/ { print $2 }' "/proc/$node_pid/status")
  rss_file_kib=$(awk '/^RssFile:/ { print $2 }' "/proc/$node_pid/status")
  fds=$(ls "/proc/$node_pid/fd" | wc -l)
  disk=$(du -sb "$work/data" | cut -f1)
  printf '%d\t%s\t%s\t%s\t%.1f\t%d\t%.1f\t%.1f\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\n' \
    $(( $(date +%s) - start )) "${placed:-0}" "${delivered:-0}" "${failed:-0}" \
    "$(mib $((rss_kib * 1024)))" "$fds" "$(mib "$disk")" \
    "$(mib "$(metric courier_journal_bytes)")" "$(metric courier_journal_streams)" \
    "$(metric courier_entities_live)" "$(mib "$(metric courier_history_bytes)")" \
    "$(p99 place_to_placed)" "$(p99 position_to_push)" "$(p99 status_to_push)" \
    "$(metric courier_journal_tombstones)" "$(mib "$(metric courier_archive_index_bytes)")" \
    "$(mib $((rss_anon_kib * 1024)))" "$(mib $((rss_file_kib * 1024)))" | tee -a "$out"
  if [ "${placed:-0}" -ge "$orders" ]; then
    kill -INT "$sim_pid" 2>/dev/null || true
    break
  fi
done
wait "$sim_pid" 2>/dev/null || true
sim_pid=
grep -A30 '^courier-sim summary' "$work/sim.log" | head -40 || true

samples=$(($(wc -l < "$out") - 1))
last_placed=$(tail -1 "$out" | cut -f2)
if [ "${JUDGE:-1}" = 0 ]; then
  [ "$samples" -ge 3 ] && [ "${last_placed:-0}" -gt 0 ] 2>/dev/null ||
    { echo "soak: smoke failed: $samples samples, placed ${last_placed:-0}"; exit 2; }
  echo "soak: smoke ok: $samples samples, placed $last_placed"
  exit 0
fi
# The verdict: column, absolute slack.
verdict=0
for spec in rss_mib:16 fds:16 disk_mib:64 journal_mib:64 streams:2000 entities:2000; do
  col=${spec%%:*}; slack=${spec##*:}
  line=$(awk -F'\t' -v col="$col" -v slack="$slack" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    { v[NR - 1] = $c + 0; n = NR - 1 }
    END {
      if (n < 6) { print "too-short"; exit }
      a = int(n / 3); b = int(2 * n / 3)
      for (i = a + 1; i <= b; i++) if (v[i] > mid) mid = v[i]
      for (i = b + 1; i <= n; i++) if (v[i] > last) last = v[i]
      ok = last <= mid * 1.10 + slack
      printf "%s %s middle_max=%g last_max=%g\n", ok ? "plateau" : "GROWS", col, mid, last
    }' "$out")
  echo "soak: $line"
  case "$line" in plateau*) ;; *) verdict=1 ;; esac
done
exit "$verdict"
