# Sourced by benches/external-broker.sh, perf-split.sh and callgrind.sh: writes $OUT/bench.toml, hookd
# as role = ingest on $HTTP (and TLS on $HTTPS_PORT when set), admin on $ADMIN, the external
# broker $BROKERS, topic $TOPIC (plus ${KAFKA_EXTRA} lines), and one signed GitHub webhook
# `bench-github` with secret $SECRET.
write_ingest_config() {
  cat > "$OUT/bench.toml" <<EOF
[server]
role = "ingest"
listen = "$HTTP"
${HTTPS_PORT:+tls_listen = \"127.0.0.1:$HTTPS_PORT\"}
admin_listen = "$ADMIN"
admin_token = "bench-admin-token"
state_dir = "$OUT/state"
max_connections = 10000

[kafka]
brokers = "$BROKERS"
topic = "$TOPIC"
${KAFKA_EXTRA:-}

[[webhooks]]
id = "bench-github"
name = "bench github"
verifier = "SIGNATURE_BASED"
headerKey = "X-Hub-Signature-256"
secretValue = "$SECRET"
workflowsToStart = { bench = 1 }
EOF
}
