#!/usr/bin/env bash
# Reproduces every figure of benches/RESULTS.md with one command:
#
#   benches/run-all.sh                 # full run (~15 min on 2 cores)
#   QUICK=1 benches/run-all.sh         # 4 s windows, criterion --quick (~5 min; for trying it)
#
# 1. builds hookd, loadgen, bare and bench-report in release mode;
# 2. runs the criterion micro-benchmarks (unless SKIP_CRITERION=1);
# 3. runs `bare` and then hookd pinned to CPU $DAEMON_CPU (default 0), loadgen pinned to
#    $LOAD_CPU (default 1); hookd's embedded broker is a thread of the hookd process
#    (librdkafka's `rdk:mock`), which is re-pinned to $LOAD_CPU too, so the broker shares the
#    load generator's core as the issue asks, and its CPU is reported apart;
# 4. runs hookd with the sink stage on (role = both), and against an unreachable broker
#    (memory while the broker is down);
# 5. prints the markdown report (targets, ratios to bare, every run) and leaves everything in
#    $OUT (default target/bench-results/<timestamp>): runs.jsonl, report.md, criterion.txt,
#    the servers' logs.
#
# Knobs (environment): DURATION, WARMUP, CONC (closed-loop workers), DAEMON_CPU, LOAD_CPU,
# SKIP_CRITERION, QUICK, OUT. Ports 18080 (HTTP), 18443 (HTTPS + HTTP/3), 19090 (admin) must be
# free. Needs taskset (util-linux) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  DURATION=${DURATION:-4s}; WARMUP=${WARMUP:-1s}; DOWN_DURATION=${DOWN_DURATION:-15s}
else
  DURATION=${DURATION:-10s}; WARMUP=${WARMUP:-3s}; DOWN_DURATION=${DOWN_DURATION:-60s}
fi
CONC=${CONC:-128}
DAEMON_CPU=${DAEMON_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-target/bench-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
JSON=$OUT/runs.jsonl
: > "$JSON"

HTTP=127.0.0.1:18080
HTTPS=localhost:18443
ADMIN=127.0.0.1:19090
TOKEN=bench-admin-token
GH_SECRET=bench-github-secret-0123456789
ST_SECRET=whsec_bench-stripe-secret-0123456789
SL_SECRET=bench-slack-secret-0123456789
SW_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

log() { printf '\n=== %s\n' "$*" >&2; }

machine() {
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "- kernel: $(uname -r); $(rustc --version)"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

log "building (release)"
cargo build --release -p hookd -p hookd-benches --bins 2>&1 | tail -3 >&2
BIN=target/release
# The standard-webhooks plugin, for the plugin-vs-native run (issue 5).
(cd plugins && cargo build --release --target wasm32-wasip2 -p standard-webhooks 2>&1 | tail -1 >&2)
mkdir -p "$OUT/plugins"
cp plugins/target/wasm32-wasip2/release/standard_webhooks.wasm "$OUT/plugins/standard-webhooks.wasm"

machine | tee "$OUT/machine.md" >&2

if [ "${SKIP_CRITERION:-0}" != 1 ]; then
  log "criterion micro-benchmarks"
  quick=(); [ "$QUICK" = 1 ] && quick=(--quick)
  { cargo bench -p hookd-verify --bench verify -- "${quick[@]}" 2>&1
    cargo bench -p hookd-benches --bench hot_path -- "${quick[@]}" 2>&1; } \
    | grep -v '^\s*\(Compiling\|Finished\|Running\)' | tee "$OUT/criterion.txt" >&2
fi

config() { # $1 = file, $2 = brokers, $3 = role
  cat > "$1" <<EOF
[server]
role = "$3"
listen = "$HTTP"
tls_listen = "127.0.0.1:18443"
admin_listen = "$ADMIN"
admin_token = "$TOKEN"
state_dir = "$OUT/state"
max_connections = 10000

[kafka]
brokers = "$2"
topic = "hookd.events"

[plugins]
dir = "$OUT/plugins"

[[webhooks]]
id = "bench-github"
name = "bench github"
verifier = "SIGNATURE_BASED"
headerKey = "X-Hub-Signature-256"
secretValue = "$GH_SECRET"
workflowsToStart = { bench = 1 }

[[webhooks]]
id = "bench-stripe"
name = "bench stripe"
verifier = "STRIPE"
secretValue = "$ST_SECRET"
workflowsToStart = { bench = 1 }

[[webhooks]]
id = "bench-slack"
name = "bench slack"
verifier = "SLACK_BASED"
secretValue = "$SL_SECRET"
workflowsToStart = { bench = 1 }

[[webhooks]]
id = "bench-sw"
name = "bench standard webhooks (plugin)"
verifier = "WASM_PLUGIN"
plugin = "standard-webhooks"
secretValue = "$SW_SECRET"
workflowsToStart = { bench = 1 }
EOF
}
# role = "ingest": the figures are the cost of ingesting (verify + publish); the sink stage,
# which consumes the topic and acts on Conductor, is measured apart (hookd-h1-both).
config "$OUT/bench.toml" embedded ingest
config "$OUT/both.toml" embedded both
# An address where no broker listens (port 9, discard, is closed on a normal machine).
config "$OUT/broker-down.toml" 127.0.0.1:9 ingest

PID=""
BOOTSTRAP=""
stop_server() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    wait "$PID" 2>/dev/null || true
  fi
  PID=""
}
trap stop_server EXIT

wait_port() { # host:port
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2; return 1
}

start_server() { # $1 = bare|hookd, $2 = config, $3 = log name
  local name=$3
  taskset -c "$DAEMON_CPU" "$BIN/$1" --config "$2" 2> "$OUT/$name.log" &
  PID=$!
  wait_port "$HTTP"
  BOOTSTRAP=""
  if [ "$1" = hookd ] && grep -q '^brokers = "embedded"' "$2"; then
    for _ in $(seq 1 300); do
      curl -sf "http://$ADMIN/readyz" >/dev/null && break
      sleep 0.1
    done
    BOOTSTRAP=$(sed 's/\x1b\[[0-9;]*m//g' "$OUT/$name.log" | grep -o 'bootstrap=[^ ]*' | head -1 | cut -d= -f2)
    [ -n "$BOOTSTRAP" ] || { echo "no bootstrap address in $OUT/$name.log" >&2; exit 1; }
    # The embedded broker is librdkafka's mock cluster thread inside hookd: move it to the
    # load generator's core, where the issue puts the broker.
    for t in /proc/"$PID"/task/*; do
      if [ "$(cat "$t/comm" 2>/dev/null)" = "rdk:mock" ]; then
        taskset -pc "$LOAD_CPU" "${t##*/}" >/dev/null
      fi
    done
  fi
}

# loadgen LABEL [args…]: one run against the running server.
loadgen() {
  local label=$1; shift
  log "$label"
  # A few seconds of unrecorded load first: connections, producer batches and the embedded
  # broker's partitions settle, whatever ran before.
  taskset -c "$LOAD_CPU" "$BIN/loadgen" --label prime --duration 2s --warmup 0s \
    --cacert "$OUT/state/tls/selfsigned-cert.pem" "$@" >/dev/null
  local kafka=()
  [ -n "$BOOTSTRAP" ] && kafka=(--brokers "$BOOTSTRAP" --topic hookd.events)
  taskset -c "$LOAD_CPU" "$BIN/loadgen" --label "$label" --pid "$PID" --json "$JSON" \
    --duration "${RUN_DURATION:-$DURATION}" --warmup "$WARMUP" --cacert "$OUT/state/tls/selfsigned-cert.pem" \
    "${kafka[@]}" "$@" >&2
}

rps_of() { # label → req/s of its last run
  grep "\"label\":\"$1\"" "$JSON" | tail -1 | grep -o '"rps":[0-9.e+-]*' | cut -d: -f2
}

GH=(--webhook "github:bench-github:$GH_SECRET")
ST=(--webhook "stripe:bench-stripe:$ST_SECRET")
SL=(--webhook "slack:bench-slack:$SL_SECRET")
SW=(--webhook "standard-webhooks:bench-sw:$SW_SECRET")
C=(-c "$CONC")
C_MUX=(-c "$CONC" --connections 4)

# The same matrix against bare and hookd, each in its own process, same pinning, same session.
matrix() { # $1 = bare|hookd
  local s=$1
  loadgen "$s-h1"      --url "http://$HTTP"  --proto h1 "${C[@]}"     "${GH[@]}" --size 1k
  loadgen "$s-h1-tls"  --url "https://$HTTPS" --proto h1 "${C[@]}"    "${GH[@]}" --size 1k
  loadgen "$s-h2c"     --url "http://$HTTP"  --proto h2 "${C_MUX[@]}" "${GH[@]}" --size 1k
  loadgen "$s-h2-tls"  --url "https://$HTTPS" --proto h2 "${C_MUX[@]}" "${GH[@]}" --size 1k
  loadgen "$s-h3"      --url "https://$HTTPS" --proto h3 "${C_MUX[@]}" "${GH[@]}" --size 1k
  loadgen "$s-h1-7k"   --url "http://$HTTP"  --proto h1 "${C[@]}"     "${GH[@]}" --size 7k
  loadgen "$s-h1-64k"  --url "http://$HTTP"  --proto h1 "${C[@]}"     "${GH[@]}" --size 64k
}

log "bare baseline"
start_server bare "$OUT/bench.toml" bare
matrix bare
stop_server

log "hookd (embedded broker)"
rm -rf "$OUT/state/webhooks.json"
start_server hookd "$OUT/bench.toml" hookd
matrix hookd
loadgen hookd-h1-stripe --url "http://$HTTP" --proto h1 "${C[@]}" "${ST[@]}" --size 1k
loadgen hookd-h1-slack  --url "http://$HTTP" --proto h1 "${C[@]}" "${SL[@]}" --size 1k
# Issue 5: the same request path verified by the standard-webhooks plugin instead of natively.
loadgen hookd-h1-plugin --url "http://$HTTP" --proto h1 "${C[@]}" "${SW[@]}" --size 1k
MAX=$(rps_of hookd-h1)
HALF=$(awk -v m="$MAX" 'BEGIN { printf "%d", m / 2 }')
loadgen hookd-h1-half --url "http://$HTTP" --proto h1 -c 256 "${GH[@]}" --size 1k --rate "$HALF"
stop_server

log "hookd, fresh process: memory with 1,000 connections (the 64 KiB runs leave a larger heap)"
start_server hookd "$OUT/bench.toml" hookd-1000conns
loadgen hookd-h1-1000conns --url "http://$HTTP" --proto h1 -c 1000 "${GH[@]}" --size 1k
stop_server

log "hookd with the sink stage too (role = both; dry-run, no Conductor)"
start_server hookd "$OUT/both.toml" hookd-both
loadgen hookd-h1-both --url "http://$HTTP" --proto h1 "${C[@]}" "${GH[@]}" --size 1k
stop_server

log "hookd with its broker unreachable (every request waits kafka.ack_timeout_ms, then 503)"
start_server hookd "$OUT/broker-down.toml" hookd-broker-down
RUN_DURATION=$DOWN_DURATION loadgen hookd-broker-down --url "http://$HTTP" --proto h1 -c 1000 \
  "${GH[@]}" --size 1k --rate 400
stop_server

"$BIN/bench-report" "$JSON" > "$OUT/report.md"
{
  echo "## Run of $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  cat "$OUT/machine.md"
  echo "- pinning: servers on CPU $DAEMON_CPU, loadgen and the embedded broker thread on CPU $LOAD_CPU"
  echo "- windows: $DURATION after $WARMUP warm-up; $CONC closed-loop workers"
  echo
  cat "$OUT/report.md"
} | tee "$OUT/summary.md"
echo >&2
echo "results in $OUT (summary.md, runs.jsonl, criterion.txt, logs)" >&2
