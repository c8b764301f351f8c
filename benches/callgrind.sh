#!/usr/bin/env bash
# Instructions per request, from valgrind's callgrind: robust where wall-clock CPU figures are
# not (a shared or busy machine). Runs `bare` and hookd (role = ingest, embedded broker) under
# callgrind with one file per thread, warms up, zeroes the counters, sends N signed 1 KiB GitHub
# webhooks over HTTP/1.1 keep-alive, dumps, and prints instructions per request: in all, and
# without the embedded broker's thread (librdkafka's mock cluster, rdk:mock). Valgrind runs the
# threads one at a time, so these are counts, not times.
#
#   benches/callgrind.sh            # N=4000 requests, 16 workers
#   N=10000 benches/callgrind.sh
#   BROKERS=127.0.0.1:29092 benches/callgrind.sh   # an external broker instead of the embedded one
#   BIN=path/to/binaries benches/callgrind.sh       # other builds of hookd, bare and loadgen
#
# Needs valgrind and the release binaries (`cargo build --release -p hookd -p hookd-benches
# --bins`). Leaves the callgrind files in $OUT (default target/bench-results/callgrind-<time>)
# for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-4000}
WORKERS=${WORKERS:-16}
OUT=${OUT:-target/bench-results/callgrind-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BIN=${BIN:-target/release}
BROKERS=${BROKERS:-embedded}
PORT=${PORT:-18080}
ADMIN_PORT=${ADMIN_PORT:-19090}
SECRET=bench-github-secret-0123456789

HTTP=127.0.0.1:$PORT ADMIN=127.0.0.1:$ADMIN_PORT TOPIC=hookd.events
. benches/lib/ingest-config.sh  # the working directory is the repository root (above)
write_ingest_config

wait_port() {
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2; return 1
}

measure() { # $1 = bare|hookd
  local s=$1
  valgrind --tool=callgrind --separate-threads=yes --dump-instr=no \
    --callgrind-out-file="$OUT/callgrind.$s.%p" "$BIN/$s" --config "$OUT/bench.toml" \
    2> "$OUT/$s.log" &
  local pid=$!
  wait_port "$PORT"
  if [ "$s" = hookd ]; then
    for _ in $(seq 1 600); do curl -sf http://127.0.0.1:$ADMIN_PORT/readyz >/dev/null && break; sleep 0.1; done
  fi
  local lg=("$BIN/loadgen" --url http://127.0.0.1:$PORT --proto h1 -c "$WORKERS"
    --webhook "github:bench-github:$SECRET" --size 1k --duration 10m --timeout 60s)
  "${lg[@]}" -n 500 >/dev/null
  callgrind_control -z "$pid" >/dev/null
  "${lg[@]}" -n "$N" --strict > "$OUT/$s.loadgen.txt"
  callgrind_control -d "$pid" >/dev/null
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  # The dump after the zeroing is the highest-numbered part of each thread's file.
  local all=0 broker=0
  for f in "$OUT"/callgrind."$s"."$pid"*; do
    local ir
    ir=$(grep -m1 '^summary:' "$f" 2>/dev/null | awk '{print $2}' || true)
    [ -n "$ir" ] || continue
    case "$f" in *.1|*.1-*) ;; *) continue ;; esac
    all=$((all + ir))
    if grep -q 'rd_kafka_mock_cluster_thread_main\|rd_kafka_mock_cluster_io_poll' "$f"; then
      broker=$((broker + ir))
    fi
  done
  printf '%s: %d instructions/request (%d without the embedded broker)\n' \
    "$s" $((all / N)) $(((all - broker) / N))
}

echo "callgrind: $N requests, $WORKERS workers, HTTP/1.1, 1 KiB GitHub webhooks" >&2
measure bare | tee "$OUT/summary.txt"
measure hookd | tee -a "$OUT/summary.txt"
echo "files in $OUT" >&2
