#!/usr/bin/env bash
# The soak benchmark (not in CI): hookd as several processes on a real Kafka-protocol broker.
#
#   2 ingest instances (--role ingest) + 2 sink instances (--role sink), a Conductor double in
#   its own process (soak-conductor), the nisshi broker (in memory) — EVENTS signed GitHub
#   events with distinct delivery ids plus REDELIVER of them sent again (same delivery id, same
#   body) at RATE requests/s; during the load one sink and one ingest instance are SIGKILLed and
#   restarted, and a third sink joins and leaves (two forced rebalances). Then it waits for the
#   sinks to drain and writes the figures (summary.md, summary.json) and the plot (PNG).
#
# Parameters (environment):
#   EVENTS=5000000        distinct events
#   RATE=                 requests/s; empty: a RAMP_SECS closed-loop ramp (loadgen, both ingest
#                         instances) measures the maximum and the soak runs at half of it
#   RAMP_SECS=20
#   REDELIVER=0.01        redeliveries per event
#   CONDUCTOR_LATENCY_MS=20   added latency of every Conductor call
#   SIZE=1k  CONCURRENCY=256
#   BROKER_PORT=19092     nisshi's port
#   BASE_PORT=18100       conductor BASE, ingest listeners BASE+1.., admin ports BASE+11..
#   PARTITIONS=6
#   OUT=target/soak/<time> run directory (configs, logs, pids, series, figures)
#   PNG=$OUT/soak.png     where the plot goes (e.g. benches/soak.png)
#   DRAIN_TIMEOUT=60m     how long to wait for the sinks after the load
#   BROKER=nisshi         or "mock": librdkafka's mock cluster inside a separate hookd process
#   RETAIN=1              retention emulation (`soak retain`, src/soak/retain.rs): every 10 s,
#                         count every new record, then DeleteRecords below the sink group's
#                         committed offsets minus KEEP_EVENTS (events), to the newest KEEP_STARTS
#                         (.starts, per partition) and KEEP_HISTORY (.history); 0: count only
#                         (nisshi's memory storage then keeps every record: ~8 KB RSS per event)
#   DISRUPT=1             0: no kills or rebalances (to measure the sustainable rate)
#   KEEP_EVENTS=10000     events kept below the committed offset, per partition
#   DEDUP_INDEX_ENTRIES=20000  the sinks' sink.dedup_index_entries
#   KEEP_STARTS=DEDUP_INDEX_ENTRIES+5000   .starts records kept per partition (must exceed it)
#   KEEP_HISTORY=10000    .history records kept (history_size is 10 per webhook)
#
# Short run:  EVENTS=200000 RATE=1500 CONDUCTOR_LATENCY_MS=20 DRAIN_TIMEOUT=10m benches/soak/soak.sh
# The 5M run and why its rate: benches/RESULTS.md, "Soak".
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

EVENTS=${EVENTS:-5000000}
RATE=${RATE:-}
RAMP_SECS=${RAMP_SECS:-20}
REDELIVER=${REDELIVER:-0.01}
CONDUCTOR_LATENCY_MS=${CONDUCTOR_LATENCY_MS:-20}
SIZE=${SIZE:-1k}
CONCURRENCY=${CONCURRENCY:-256}
BROKER_PORT=${BROKER_PORT:-19092}
BASE_PORT=${BASE_PORT:-18100}
PARTITIONS=${PARTITIONS:-6}
OUT=${OUT:-target/soak/$(date +%Y%m%d-%H%M%S)}
PNG=${PNG:-$OUT/soak.png}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-60m}
BROKER=${BROKER:-nisshi}
RETAIN=${RETAIN:-1}
DISRUPT=${DISRUPT:-1}
KEEP_EVENTS=${KEEP_EVENTS:-10000}
DEDUP_INDEX_ENTRIES=${DEDUP_INDEX_ENTRIES:-20000}
KEEP_STARTS=${KEEP_STARTS:-$((DEDUP_INDEX_ENTRIES + 5000))}
KEEP_HISTORY=${KEEP_HISTORY:-10000}
if [ "$KEEP_STARTS" -le "$DEDUP_INDEX_ENTRIES" ]; then
  echo "KEEP_STARTS ($KEEP_STARTS) must exceed DEDUP_INDEX_ENTRIES ($DEDUP_INDEX_ENTRIES)" >&2; exit 1
fi
TOPIC=hookd.events
BIN=$ROOT/target/release

mkdir -p "$OUT"/{conf,logs,pids,state}
OUT=$(cd "$OUT" && pwd)
EVENTS_CSV=$OUT/events.csv
: >"$EVENTS_CSV"
log() { echo "[soak $(date +%H:%M:%S)] $*"; }
mark() { echo "$(date +%s%3N),$1" >>"$EVENTS_CSV"; log "$1"; }

# --- binaries ---------------------------------------------------------------------------
log "building (release): hookd, soak, loadgen, soak-conductor"
# hookd alone (no `testing` feature), then the harness crates in ONE command: another package
# set would unify features differently and rebuild the daemon's library once more.
cargo build --release --locked -p hookd --bin hookd
cargo build --release --locked -p hookd-benches -p hookd-e2e --bins

# --- everything we start is stopped on exit (by its own pid) ----------------------------
BG_PIDS=()
cleanup() {
  set +e
  for f in "$OUT"/pids/*.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for _ in $(seq 50); do # up to 10 s for graceful exits
    local alive=0
    for f in "$OUT"/pids/*.pid; do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for f in "$OUT"/pids/*.pid; do
    [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
}
trap cleanup EXIT

wait_http() { # url, seconds
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  log "no answer from $1 after $2 s"; return 1
}

# --- the broker -------------------------------------------------------------------------
NISSHI=$(command -v nisshi || echo "$HOME/.cargo/bin/nisshi")
if [ "$BROKER" = nisshi ] && [ ! -x "$NISSHI" ]; then
  log "nisshi is not installed: cargo +nightly install nisshi --locked (about 25 minutes on 2 cores)"
  if cargo +nightly install nisshi --locked; then
    NISSHI=$HOME/.cargo/bin/nisshi
  else
    log "INSTALLING NISSHI FAILED: FALLING BACK TO LIBRDKAFKA'S MOCK CLUSTER (in-memory, ~5 MiB per partition:"
    log "the read-back figures (history duplicates, bytes per event) will be incomplete)"
    BROKER=mock
  fi
fi
if [ "$BROKER" = nisshi ]; then
  BROKERS=127.0.0.1:$BROKER_PORT
  "$NISSHI" broker --listener-url "tcp://$BROKERS" --advertised-listener-url "tcp://$BROKERS" \
    --storage-engine memory://nisshi/ >"$OUT/logs/broker.log" 2>&1 &
  echo $! >"$OUT/pids/broker.pid"
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$BROKER_PORT") 2>/dev/null && break; sleep 0.2; done
  log "broker: nisshi on $BROKERS (memory storage)"
else
  log "BROKER: librdkafka's MOCK CLUSTER (not a real broker) inside a separate hookd process"
  cat >"$OUT/conf/broker.toml" <<EOF
[server]
listen = "127.0.0.1:$((BASE_PORT + 9))"
admin_listen = "127.0.0.1:$((BASE_PORT + 19))"
admin_token = "soak-admin-token"
state_dir = "$OUT/state/broker"
role = "ingest"
[log]
format = "json"
[kafka]
brokers = "embedded"
partitions = $PARTITIONS
EOF
  "$BIN/hookd" --config "$OUT/conf/broker.toml" >"$OUT/logs/broker.log" 2>&1 &
  echo $! >"$OUT/pids/broker.pid"
  for _ in $(seq 100); do grep -q bootstrap "$OUT/logs/broker.log" && break; sleep 0.2; done
  BROKERS=$(grep -o '"bootstrap":"[^"]*"' "$OUT/logs/broker.log" | head -1 | cut -d'"' -f4)
  log "broker: mock cluster at $BROKERS"
fi

# --- the Conductor double -----------------------------------------------------------------
RUN_ID=$(printf '%08x' $((RANDOM * 32768 + RANDOM)))
CONDUCTOR=http://127.0.0.1:$BASE_PORT
"$BIN/soak-conductor" --port "$BASE_PORT" --latency-ms "$CONDUCTOR_LATENCY_MS" --run-id "$RUN_ID" \
  >"$OUT/logs/conductor.log" 2>&1 &
echo $! >"$OUT/pids/conductor.pid"
wait_http "$CONDUCTOR/soak/stats" 30

# --- hookd instances ----------------------------------------------------------------------
SECRET=soak-$(printf '%08x%08x' $RANDOM$RANDOM $RANDOM$RANDOM)
config() { # name, index
  cat >"$OUT/conf/$1.toml" <<EOF
[server]
listen = "127.0.0.1:$((BASE_PORT + $2))"
admin_listen = "127.0.0.1:$((BASE_PORT + 10 + $2))"
admin_token = "soak-admin-token"
state_dir = "$OUT/state/$1"
max_connections_per_client = 4096
[log]
format = "json"
[kafka]
brokers = "$BROKERS"
topic = "$TOPIC"
partitions = $PARTITIONS
[sink]
group_id = "hookd-sink"
dedup_index_entries = $DEDUP_INDEX_ENTRIES
[conductor]
url = "$CONDUCTOR/api"

[[webhooks]]
id = "soak"
name = "soak"
sourcePlatform = "Github"
verifier = "SIGNATURE_BASED"
headerKey = "X-Hub-Signature-256"
secretValue = "$SECRET"
workflowsToStart = { soak_workflow = 1 }

# The ramp's webhook: its events complete no wait and start nothing.
[[webhooks]]
id = "soak-ramp"
name = "soak ramp"
sourcePlatform = "Github"
verifier = "SIGNATURE_BASED"
headerKey = "X-Hub-Signature-256"
secretValue = "$SECRET"
receiverWorkflowNamesToVersions = { soak_ramp = 1 }
EOF
}
declare -A INDEX=([ingest-1]=1 [ingest-2]=2 [sink-1]=3 [sink-2]=4 [sink-3]=5)
start() { # name, role
  [ -f "$OUT/conf/$1.toml" ] || config "$1" "${INDEX[$1]}"
  "$BIN/hookd" --config "$OUT/conf/$1.toml" --role "$2" >>"$OUT/logs/$1.log" 2>&1 &
  echo $! >"$OUT/pids/$1.pid"
  wait_http "http://127.0.0.1:$((BASE_PORT + 10 + INDEX[$1]))/healthz" 60
}
stop() { # name, signal
  local pid; pid=$(cat "$OUT/pids/$1.pid")
  rm -f "$OUT/pids/$1.pid"
  kill "-$2" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
url() { echo "http://127.0.0.1:$((BASE_PORT + INDEX[$1]))"; }

start ingest-1 ingest
start ingest-2 ingest
for i in 1 2; do wait_http "http://127.0.0.1:$((BASE_PORT + 10 + i))/readyz" 60; done
start sink-1 sink
start sink-2 sink
log "instances up: ingest-1 $(url ingest-1), ingest-2 $(url ingest-2), sink-1, sink-2; conductor $CONDUCTOR (latency ${CONDUCTOR_LATENCY_MS} ms)"

# --- the sampler --------------------------------------------------------------------------
"$BIN/soak" sample --pids "$OUT/pids" --brokers "$BROKERS" --topic "$TOPIC" \
  --conductor "$CONDUCTOR" --out "$OUT/samples.csv" >"$OUT/logs/sampler.log" 2>&1 &
BG_PIDS+=($!)
SAMPLER=$!
# --- the retention emulation (and the tally of everything produced) -------------------------
RETAIN_ARGS=()
[ "$RETAIN" = 1 ] || RETAIN_ARGS+=(--dry-run)
"$BIN/soak" retain --brokers "$BROKERS" --topic "$TOPIC" --run-id "$RUN_ID" \
  --keep-events "$KEEP_EVENTS" --keep-starts "$KEEP_STARTS" --keep-history "$KEEP_HISTORY" \
  --dir "$OUT/tally" --csv "$OUT/retention.csv" "${RETAIN_ARGS[@]}" >"$OUT/logs/retain.log" 2>&1 &
BG_PIDS+=($!)
RETAINER=$!
echo $RETAINER >"$OUT/pids/harness-retain.pid" # sampled (RSS) like the instances
if [ "$RETAIN" = 1 ]; then
  log "retention emulation: DeleteRecords every 10 s (events: committed - $KEEP_EVENTS; .starts: newest $KEEP_STARTS; .history: newest $KEEP_HISTORY)"
else
  log "retention emulation OFF (RETAIN=0): records are counted, none deleted"
fi
sleep 5 # let the sink group settle before the load
kill -0 "$SAMPLER" 2>/dev/null || { log "the sampler died:"; cat "$OUT/logs/sampler.log"; exit 1; }
kill -0 "$RETAINER" 2>/dev/null || { log "the retention emulation died:"; cat "$OUT/logs/retain.log"; exit 1; }

# --- the rate -------------------------------------------------------------------------------
if [ -z "$RATE" ]; then
  log "ramp: ${RAMP_SECS}s closed loop on both ingest instances (webhook soak-ramp) to measure the maximum"
  RAMP_PIDS=()
  for n in ingest-1 ingest-2; do
    "$BIN/loadgen" --url "$(url $n)" --webhook "github:soak-ramp:$SECRET" --size "$SIZE" -c 64 \
      --duration "${RAMP_SECS}s" --warmup 3s --label "ramp-$n" --json "$OUT/ramp.jsonl" \
      >"$OUT/logs/ramp-$n.log" 2>&1 &
    RAMP_PIDS+=($!)
    BG_PIDS+=($!)
  done
  wait "${RAMP_PIDS[@]}"
  MAX=$(python3 -c "import json,sys; print(int(sum(json.loads(l)['rps'] for l in open(sys.argv[1]))))" "$OUT/ramp.jsonl")
  RATE=$((MAX / 2))
  log "ramp: maximum $MAX requests/s accepted by both ingest instances together; soak at $RATE/s"
  "$BIN/soak" wait-drain --brokers "$BROKERS" --topic "$TOPIC" --timeout 10m
fi
REQUESTS=$(python3 -c "e=$EVENTS; r=$REDELIVER; print(e + (e // round(1/r) if r > 0 else 0))")
DURATION=$(python3 -c "print(int($REQUESTS / $RATE))")
log "load: $EVENTS events + redeliveries = $REQUESTS requests at $RATE/s ≈ ${DURATION}s"

# --- the load, and the disruptions during it ---------------------------------------------
"$BIN/soak" load --url "$(url ingest-1)" --url "$(url ingest-2)" --webhook "github:soak:$SECRET" \
  --events "$EVENTS" --rate "$RATE" --redeliver "$REDELIVER" -c "$CONCURRENCY" --size "$SIZE" \
  --run-id "$RUN_ID" --out "$OUT" >"$OUT/logs/load.log" 2>&1 &
LOAD=$!
BG_PIDS+=($LOAD)
echo $LOAD >"$OUT/pids/harness-load.pid"
mark "load started"
at() { # fraction of the load's duration: sleeps until then
  local target; target=$(python3 -c "print(int($1 * $DURATION))")
  while [ $(($(date +%s) - LOAD_T0)) -lt "$target" ]; do
    kill -0 "$LOAD" 2>/dev/null || return 0
    sleep 1
  done
}
LOAD_T0=$(date +%s)
if [ "$DISRUPT" = 1 ]; then
  at 0.25; mark "kill -9 sink-2"; stop sink-2 9
  sleep 20; mark "restart sink-2"; start sink-2 sink
  at 0.45; mark "kill -9 ingest-2"; stop ingest-2 9
  sleep 5; mark "restart ingest-2"; start ingest-2 ingest
  at 0.60; mark "start sink-3 (rebalance)"; start sink-3 sink
  at 0.75; mark "stop sink-3 (rebalance)"; stop sink-3 TERM
else
  log "DISRUPT=0: no kills, no rebalances (a steady-rate measurement)"
fi
wait "$LOAD" || log "the load exited with $?"
rm -f "$OUT/pids/harness-load.pid"
mark "load finished"
cat "$OUT/logs/load.log"

# --- drain, figures, plot ----------------------------------------------------------------
"$BIN/soak" wait-drain --brokers "$BROKERS" --topic "$TOPIC" --timeout "$DRAIN_TIMEOUT" || log "NOT DRAINED"
sleep 5 # a last sample after the drain
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
rm -f "$OUT/pids/harness-retain.pid"
kill "$RETAINER" 2>/dev/null || true # a last pass, then the tally is saved
wait "$RETAINER" 2>/dev/null || log "the retention emulation exited with $?: $(tail -3 "$OUT/logs/retain.log")"
"$BIN/soak" report --dir "$OUT" --tally "$OUT/tally" --conductor "$CONDUCTOR" --brokers "$BROKERS" \
  --topic "$TOPIC" --png "$PNG"
log "run directory: $OUT"
