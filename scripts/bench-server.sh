#!/usr/bin/env bash
# Server benchmark: N synthetic outlets in SQLite, then the provider page
# (一站式查询) under load with wrk, and the server's resident memory.
#   OUTLETS=1000000 DURATION=20s scripts/bench-server.sh
# Needs wrk (apt-get install wrk). Traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
OUTLETS="${OUTLETS:-1000000}"
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-18080}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lifeservice-target}"
cargo build --release -p lifeservice >/dev/null
BIN="$CARGO_TARGET_DIR/release/lifeservice"
WORK="$(mktemp -d)"
trap 'kill "${SERVER:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
DB="sqlite:$WORK/bench.db"

echo "## Server benchmark ($OUTLETS outlets)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
start=$(date +%s%N)
"$BIN" --db "$DB" demo --outlets "$OUTLETS" --seed 11 >/dev/null 2>&1
echo "demo data generated and stored: $(( ($(date +%s%N) - start) / 1000000 )) ms"
start=$(date +%s%N)
"$BIN" --db "$DB" reindex >/dev/null 2>&1
echo "index built: $(( ($(date +%s%N) - start) / 1000000 )) ms"

"$BIN" --db "$DB" serve --listen "127.0.0.1:$PORT" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
echo "server RSS after start: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/$SERVER/status)"

# Provider pages of 2,000 entities spread over the table.
: > "$WORK/paths.txt"
for page in $(seq 1 20); do
  curl -sf "http://127.0.0.1:$PORT/api/v1/outlets?per_page=100&page=$((page * 37))" \
    | grep -o '"entity_code":"[0-9A-Z]*"' | cut -d'"' -f4 | sed 's#^#/entities/#' >> "$WORK/paths.txt"
done
echo "provider pages to request: $(wc -l < "$WORK/paths.txt")"
PATHS="$WORK/paths.txt" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s scripts/wrk-paths.lua "http://127.0.0.1:$PORT" | tee "$WORK/wrk.txt"
# Search API under the same load.
echo '/api/v1/outlets?q=%E4%BE%BF%E5%88%A9%E5%BA%97&division=1401' > "$WORK/search.txt"
PATHS="$WORK/search.txt" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s scripts/wrk-paths.lua "http://127.0.0.1:$PORT" | grep -E 'Requests/sec|99%|50%'
echo "server RSS after load: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/$SERVER/status), peak $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$SERVER/status)"
