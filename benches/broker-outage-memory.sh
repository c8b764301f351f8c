#!/usr/bin/env bash
# Memory during a broker outage (a benchmark, not a test): hookd runs with a Kafka bootstrap
# where nothing listens (the broker is down for the whole run) while `loadgen` keeps CONC
# concurrent signed 64 KiB GitHub requests in flight over HTTP/1.1 for DURATION. Every request
# is answered 503 after kafka.ack_timeout_ms. Reported from /proc/<pid>/status: RSS before the
# load, peak RSS (VmHWM), RSS right after the load and after SETTLE seconds idle, against
# kafka.max_inflight_bytes.
#
#   cargo build --release -p hookd -p hookd-benches --bins
#   benches/broker-outage-memory.sh                       # target/release/hookd
#   benches/broker-outage-memory.sh path/to/other/hookd   # e.g. an older build
#   MALLOC_ARENA_MAX=2 benches/broker-outage-memory.sh    # passed through to hookd
#
# Knobs (environment): CONC (1000), SIZE (64k), DURATION (20s), SETTLE (10), BUDGET
# (kafka.max_inflight_bytes, 268435456), OLD_CONFIG=1 for a hookd that predates the per-client
# limits (it refuses their keys). The per-client limits are opened up so that the same load is
# admitted by every build (one load generator is one client address).
set -euo pipefail
cd "$(dirname "$0")/.."
HOOKD=${1:-target/release/hookd}
LOADGEN=${LOADGEN:-target/release/loadgen}
CONC=${CONC:-1000}
SIZE=${SIZE:-64k}
DURATION=${DURATION:-20s}
SETTLE=${SETTLE:-10}
BUDGET=${BUDGET:-268435456}
PORT=${PORT:-18080}
ADMIN=${ADMIN:-19090}

tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ "${OLD_CONFIG:-0}" = 1 ]; then
  per_client=""
else
  per_client="max_connections_per_client = 100000
client_share_percent = 100"
fi
cat > "$tmp/hookd.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
admin_listen = "127.0.0.1:$ADMIN"
admin_token = "bench-admin-token"
state_dir = "$tmp/state"
role = "ingest"
max_connections = 100000
$per_client
[kafka]
# nothing listens on port 1: the broker is down for the whole run
brokers = "127.0.0.1:1"
ack_timeout_ms = 2000
max_inflight_bytes = $BUDGET
[[webhooks]]
id = "gh"
name = "gh"
verifier = "SIGNATURE_BASED"
secretValue = "bench-secret"
workflowsToStart = { wf = 1 }
EOF
ulimit -n 65536 2>/dev/null || true
# HOOKD_ENV: extra environment for hookd alone, e.g. "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
env ${HOOKD_ENV:-} HOOKD_LOG="${HOOKD_LOG:-error}" "$HOOKD" run --config "$tmp/hookd.toml" 2>"$tmp/hookd.log" &
pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$ADMIN/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
mib() { awk -v x="$1" 'BEGIN {printf "%.0f", x / 1024}'; }
sleep 1
base=$(kib VmRSS)
"$LOADGEN" --url "http://127.0.0.1:$PORT" --proto h1 --webhook "github:gh:bench-secret" \
  --size "$SIZE" -c "$CONC" --duration "$DURATION" --warmup 0s --timeout 30s \
  --pid "$pid" --json "$tmp/run.json" >"$tmp/loadgen.txt" 2>&1 || true
after=$(kib VmRSS)
sleep "$SETTLE"
settled=$(kib VmRSS)
peak=$(kib VmHWM)
answers=$(python3 -c 'import json,sys
r = json.loads(open(sys.argv[1]).readline())
print(", ".join(f"{n} × {s}" for s, n in sorted(r["statuses"].items()))
      + "".join(f", {n} × {e}" for e, n in sorted(r["errors"].items())))' "$tmp/run.json" 2>/dev/null || echo "see loadgen")
echo "| $(basename "$HOOKD")${MALLOC_ARENA_MAX:+ MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX}${HOOKD_ENV:+ $HOOKD_ENV} | $CONC × $SIZE | $((BUDGET / 1048576)) MiB | $(mib "$base") MiB | $(mib "$peak") MiB | $(mib "$after") MiB | $(mib "$settled") MiB | $answers |"
if [ -n "${KEEP:-}" ]; then cp "$tmp/loadgen.txt" "$tmp/run.json" "$tmp/hookd.log" "$KEEP"/; fi
