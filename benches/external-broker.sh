#!/usr/bin/env bash
# hookd against the bare server with an EXTERNAL broker, as users run it: the producer's
# network work is in hookd's figure, and every thread of the daemon is counted (there is no
# embedded broker thread to leave out).
#
#   BROKERS=127.0.0.1:29092 benches/external-broker.sh        # ROUNDS=3 DURATION=10s CONC=64
#   KAFKA_EXTRA='compression = "none"' … # extra lines for hookd's [kafka] section
#   MATRIX="h1 h1-64k" …                   # a subset of the runs (default: h1 h2c h3 h1-64k)
#
# Each round runs, alternately in the same session, `bare` then hookd (role = ingest) on the
# same matrix: HTTP/1.1 1 KiB, HTTP/2 (h2c) 1 KiB, HTTP/3 1 KiB, HTTP/1.1 64 KiB, signed GitHub
# webhooks, $CONC closed-loop workers (HTTP/1.1: one connection each; h2/h3: 4 connections).
# Servers are pinned to CPU $DAEMON_CPU, loadgen to $LOAD_CPU; pin the broker to $LOAD_CPU too
# (`taskset -pc 1 <broker pid>`, or BROKER_PID=… to let this script do it). Every run checks
# Kafka (`--brokers`): each 2xx'd event must be in the topic. Prints one table per round
# (bench-report's "hookd against the bare server": CPU µs per request over every thread of the
# server) and leaves runs.jsonl and logs in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BROKERS:?set BROKERS=host:port of a running Kafka-protocol broker}"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONC=${CONC:-64}
DAEMON_CPU=${DAEMON_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
HTTP=${HTTP:-127.0.0.1:28080}
HTTPS_PORT=${HTTPS_PORT:-28443}
ADMIN=${ADMIN:-127.0.0.1:29090}
TOPIC=${TOPIC:-hookd.events}
BIN=${BIN:-target/release}
OUT=${OUT:-target/bench-results/external-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SECRET=bench-github-secret-0123456789
[ -n "${BROKER_PID:-}" ] && taskset -apc "$LOAD_CPU" "$BROKER_PID" >/dev/null

. benches/lib/ingest-config.sh  # the working directory is the repository root (above)
write_ingest_config

PID=""
stop_server() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
  fi
  PID=""
}
trap stop_server EXIT

start_server() { # $1 = bare|hookd, $2 = log name
  taskset -c "$DAEMON_CPU" "$BIN/$1" --config "$OUT/bench.toml" 2> "$OUT/$2.log" &
  PID=$!
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/${HTTP%:*}/${HTTP#*:}") 2>/dev/null && break
    sleep 0.1
  done
  if [ "$1" = hookd ]; then
    for _ in $(seq 1 600); do curl -sf "http://$ADMIN/readyz" >/dev/null && break; sleep 0.1; done
  fi
}

run() { # $1 = round, $2 = label, loadgen args…
  local round=$1 label=$2; shift 2
  local common=(--cacert "$OUT/state/tls/selfsigned-cert.pem" --webhook "github:bench-github:$SECRET" "$@")
  taskset -c "$LOAD_CPU" "$BIN/loadgen" --label prime --duration 2s --warmup 0s "${common[@]}" >/dev/null
  local kafka=()
  [ "${label%%-*}" = hookd ] && kafka=(--brokers "$BROKERS" --topic "$TOPIC" --strict)
  echo "=== round $round: $label (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  taskset -c "$LOAD_CPU" "$BIN/loadgen" --label "$label" --pid "$PID" --json "$OUT/round$round.jsonl" \
    --duration "$DURATION" --warmup "$WARMUP" "${kafka[@]}" "${common[@]}" >&2
}

MATRIX=${MATRIX:-h1 h2c h3 h1-64k}
matrix() { # $1 = round, $2 = bare|hookd
  for m in $MATRIX; do
    case $m in
      h1)     run "$1" "$2-h1"     --url "http://$HTTP" --proto h1 -c "$CONC" --size 1k ;;
      h2c)    run "$1" "$2-h2c"    --url "http://$HTTP" --proto h2 -c "$CONC" --connections 4 --size 1k ;;
      h3)     run "$1" "$2-h3"     --url "https://localhost:$HTTPS_PORT" --proto h3 -c "$CONC" --connections 4 --size 1k ;;
      h1-64k) run "$1" "$2-h1-64k" --url "http://$HTTP" --proto h1 -c "$CONC" --size 64k ;;
      *) echo "unknown run $m" >&2; exit 2 ;;
    esac
  done
}

for round in $(seq 1 "$ROUNDS"); do
  [ "${SKIP_BARE:-0}" = 1 ] || { start_server bare "bare-$round"; matrix "$round" bare; stop_server; }
  start_server hookd "hookd-$round"; matrix "$round" hookd; stop_server
  {
    echo "## Round $round (load average at its end: $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    "$BIN/bench-report" "$OUT/round$round.jsonl"
  } | tee "$OUT/round$round.md"
done
echo "results in $OUT" >&2
