#!/usr/bin/env bash
# Where hookd's CPU per request goes under the external-broker HTTP/1.1 load: per thread kind
# (tokio workers, librdkafka's broker threads) and, with PERF=1, per component from a `perf
# record --call-graph dwarf` profile split by benches/perf-split.py (hyper, tokio, verification,
# replay guard, our handler, librdkafka on the worker and on its own thread, syscalls, allocator).
#
#   BROKERS=127.0.0.1:39092 benches/perf-split.sh                 # per-thread split only
#   PERF=1 BROKERS=… benches/perf-split.sh                        # and the component profile
#   KAFKA_EXTRA='linger_ms = 5' BROKERS=… benches/perf-split.sh   # extra [kafka] lines
#   TOPIC=hookd.p1 KAFKA_EXTRA='partitions = 1' BROKERS=… …       # a one-partition topic
#
# hookd (role = ingest) is pinned to CPU $DAEMON_CPU, loadgen to $LOAD_CPU (pin the broker there
# too); $CONC closed-loop HTTP/1.1 connections send signed 1 KiB GitHub webhooks. Needs the
# release binaries and, for PERF=1, `perf` (Debian: linux-perf) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BROKERS:?set BROKERS=host:port of a running Kafka-protocol broker}"
BIN=${BIN:-target/release}
CONC=${CONC:-64}
DURATION=${DURATION:-10}
DAEMON_CPU=${DAEMON_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
HTTP=${HTTP:-127.0.0.1:38080}
ADMIN=${ADMIN:-127.0.0.1:39090}
TOPIC=${TOPIC:-hookd.events}
OUT=${OUT:-target/bench-results/perf-split-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SECRET=bench-github-secret-0123456789

HTTPS_PORT= # plain HTTP/1.1 only
. benches/lib/ingest-config.sh  # the working directory is the repository root (above)
write_ingest_config

taskset -c "$DAEMON_CPU" "$BIN/hookd" --config "$OUT/bench.toml" 2> "$OUT/hookd.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf "http://$ADMIN/readyz" >/dev/null && break; sleep 0.1; done
LG=(--url "http://$HTTP" --proto h1 -c "$CONC" --size 1k --webhook "github:bench-github:$SECRET")
taskset -c "$LOAD_CPU" "$BIN/loadgen" --duration 2s --warmup 0s "${LG[@]}" >/dev/null

# CPU ticks per thread kind, from /proc (every thread of the daemon)
ticks() {
  for t in /proc/$PID/task/*; do
    echo "$(cat "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{k = ($1 ~ /^rdk:broker/) ? "broker" : (($1 ~ /^tokio/) ? "worker" : "other"); a[k] += $2}
    END {print a["worker"] + 0, a["broker"] + 0, a["other"] + 0}'
}
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/summary.txt"
taskset -c "$LOAD_CPU" "$BIN/loadgen" --duration "${DURATION}s" --warmup 1s --pid "$PID" "${LG[@]}" \
  > "$OUT/loadgen.txt" 2>&1 &
LGP=$!
sleep 2
read -r w0 b0 o0 < <(ticks)
T0=$(date +%s.%N)
if [ "${PERF:-0}" = 1 ]; then
  perf record -F "${FREQ:-1999}" --call-graph dwarf,16384 -p "$PID" -o "$OUT/perf.data" \
    -- sleep $((DURATION - 4)) 2> "$OUT/perf.log"
else
  sleep $((DURATION - 4))
fi
read -r w1 b1 o1 < <(ticks)
T1=$(date +%s.%N)
wait "$LGP"
grep -E "req/s|CPU/req" "$OUT/loadgen.txt" | tee -a "$OUT/summary.txt"
rps=$(grep -oP '[0-9]+(?= req/s)' "$OUT/loadgen.txt" | head -1)
hz=$(getconf CLK_TCK)
python3 - "$rps" "$T0" "$T1" "$hz" "$w0" "$w1" "$b0" "$b1" "$o0" "$o1" <<'PY' | tee -a "$OUT/summary.txt"
import sys
rps, t0, t1, hz = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
w0, w1, b0, b1, o0, o1 = map(float, sys.argv[5:])
reqs = rps * (t1 - t0)
per = lambda a, b: (b - a) / hz * 1e6 / reqs
print(f"CPU µs per request by thread: tokio workers {per(w0, w1):.1f}, "
      f"librdkafka broker threads {per(b0, b1):.1f}, other {per(o0, o1):.1f}")
PY
if [ "${PERF:-0}" = 1 ]; then
  perf script -i "$OUT/perf.data" -F comm,tid,ip,sym --no-inline 2>/dev/null > "$OUT/perf.txt"
  us=$(grep -oP '[0-9.]+(?= µs CPU/req \()' "$OUT/loadgen.txt" | head -1)
  python3 benches/perf-split.py "$OUT/perf.txt" "$us" | tee "$OUT/split.txt"
  rm -f "$OUT/perf.txt"
fi
echo "results in $OUT" >&2
