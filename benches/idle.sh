#!/usr/bin/env bash
# Idle cost: the CPU an instance uses while no request arrives, with an external broker.
# Starts hookd (role = ingest, the run-all.sh webhooks, the standard-webhooks plugin loaded when
# it is built) against $BROKERS, lets it settle, then reads /proc for $WINDOW seconds: CPU ticks
# of the whole process and per thread, and each thread's context switches (its wake-ups).
#
#   BROKERS=127.0.0.1:29092 benches/idle.sh [path/to/hookd]     # WINDOW=60 SETTLE=15
#
# Ports: $HTTP (default 127.0.0.1:28080), 127.0.0.1:28443 (TLS + HTTP/3), $ADMIN (default
# 127.0.0.1:29090). Prints a summary; leaves the config and log in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
HOOKD=${1:-target/release/hookd}
: "${BROKERS:?set BROKERS=host:port of a running Kafka-protocol broker}"
WINDOW=${WINDOW:-60}
SETTLE=${SETTLE:-15}
HTTP=${HTTP:-127.0.0.1:28080}
ADMIN=${ADMIN:-127.0.0.1:29090}
OUT=${OUT:-target/bench-results/idle-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/plugins"
OUT=$(cd "$OUT" && pwd)
wasm=plugins/target/wasm32-wasip2/release/standard_webhooks.wasm
[ -f "$wasm" ] && cp "$wasm" "$OUT/plugins/standard-webhooks.wasm"

cat > "$OUT/idle.toml" <<EOF
[server]
role = "ingest"
listen = "$HTTP"
tls_listen = "${TLS:-127.0.0.1:28443}"
admin_listen = "$ADMIN"
admin_token = "bench-admin-token"
state_dir = "$OUT/state"

[kafka]
brokers = "$BROKERS"
topic = "hookd.events"

[plugins]
dir = "$OUT/plugins"

[[webhooks]]
id = "bench-github"
name = "bench github"
verifier = "SIGNATURE_BASED"
headerKey = "X-Hub-Signature-256"
secretValue = "bench-github-secret-0123456789"
workflowsToStart = { bench = 1 }
EOF

"$HOOKD" --config "$OUT/idle.toml" 2> "$OUT/hookd.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://$ADMIN/readyz" >/dev/null && break
  sleep 0.1
done
curl -sf "http://$ADMIN/readyz" >/dev/null || { echo "hookd not ready; see $OUT/hookd.log" >&2; exit 1; }
sleep "$SETTLE"

snap() { # per thread: tid comm ticks ctxt-switches
  for t in /proc/"$PID"/task/*; do
    local tid=${t##*/}
    local stat comm ticks cs
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    comm=$(cat "$t/comm" 2>/dev/null | tr ' ' '_')
    # fields after the ")" of comm: utime is 14th, stime 15th of the whole line
    ticks=$(echo "${stat##*) }" | awk '{print $12 + $13}')
    cs=$(awk '/ctxt_switches/ {s += $2} END {print s}' "$t/status" 2>/dev/null)
    echo "$tid $comm $ticks $cs"
  done | sort -n
}
HZ=$(getconf CLK_TCK)
snap > "$OUT/before.txt"
p0=$(awk '{print $14 + $15}' /proc/"$PID"/stat)
sleep "$WINDOW"
p1=$(awk '{print $14 + $15}' /proc/"$PID"/stat)
snap > "$OUT/after.txt"

{
  echo "hookd $HOOKD, broker $BROKERS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "threads: $(wc -l < "$OUT/after.txt")"
  awk -v t=$((p1 - p0)) -v hz="$HZ" -v w="$WINDOW" \
    'BEGIN { printf "idle CPU over %d s: %d ticks = %.2f %% of a core\n", w, t, 100 * t / hz / w }'
  echo "per thread (ticks, wake-ups = context switches) over the window, busiest first:"
  join <(sort "$OUT/before.txt") <(sort "$OUT/after.txt") \
    | awk -v w="$WINDOW" '{ dt = $6 - $3; dc = $7 - $4; if (dt > 0 || dc > 0) printf "  %-24s %4d ticks %7d wake-ups (%.1f/s)\n", $2, dt, dc, dc / w }' \
    | sort -k4 -n -r
  echo "all threads: $(join <(sort "$OUT/before.txt") <(sort "$OUT/after.txt") | awk -v w="$WINDOW" '{ dc += $7 - $4 } END { printf "%d wake-ups (%.1f/s)", dc, dc / w }')"
} | tee "$OUT/summary.txt"
