#!/usr/bin/env bash
# Province-scale load test (issue #7): the 统计监测 bench's province dataset
# (11 cities; 2M outlets, 10M credit rows, 10M reviews, with its cube) in
# SQLite, copied into PostgreSQL by `migrate-data` (COPY, verified by
# checksums); then search, the provider page (一站式查询) and the outlet page
# under wrk with one app process on SQLite, one on PostgreSQL and two on the
# same PostgreSQL database, and each process's memory.
#   DIR=/var/tmp/lifeservice-province DURATION=20s scripts/bench-province.sh
# BENCH_OUTLETS, BENCH_CREDIT and BENCH_REVIEWS scale the generated dataset
# down (see benches/stats.rs); SKIP_COPY=1 reuses the PostgreSQL copy.
# DIR keeps the generated SQLite database between runs (about 8 GB; the first
# run generates it, about 45 minutes). Needs wrk and psql. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${DIR:-/var/tmp/lifeservice-province}"
PG_BASE="${PG_BASE:-postgres://postgres@127.0.0.1:5432}"
PG_DB="${PG_DB:-lifeservice_province}"
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lifeservice-target}"
# BIN=path measures a binary built before (e.g. the commit before a change).
if [ -z "${BIN:-}" ]; then
  cargo build --release -p lifeservice >/dev/null
  BIN="$CARGO_TARGET_DIR/release/lifeservice"
fi
mkdir -p "$DIR"
SQLITE="sqlite:$DIR/stats.db"
PG="$PG_BASE/$PG_DB"
SERVERS=()
trap 'for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

echo "## Province-scale load test"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(psql "$PG_BASE/postgres" -Atc 'SHOW server_version') PostgreSQL; load $(cut -d' ' -f1-3 /proc/loadavg)"

# RSS counts the SQLite file's pages that a process maps (RssFile, page cache
# the kernel can drop) beside its own heap and stacks (RssAnon): report both.
rss() {
  awk '/VmRSS/ {r=$2} /VmHWM/ {h=$2} /RssAnon/ {a=$2} /RssFile/ {f=$2}
       END {printf "RSS %.0f MB (peak %.0f MB): heap and stacks %.0f MB, mapped files %.0f MB", r/1024, h/1024, a/1024, f/1024}' "/proc/$1/status"
}
# Largest RssAnon and RssFile of process $1 until it exits, sampled twice a second.
peak_memory() {
  local anon=0 file=0 a f
  while read -r a f < <(awk '/RssAnon/ {a=$2} /RssFile/ {f=$2} END {print a+0, f+0}' "/proc/$1/status" 2>/dev/null) && [ -e "/proc/$1" ]; do
    (( a > anon )) && anon=$a; (( f > file )) && file=$f
    sleep 0.5
  done
  echo "peak heap and stacks (RssAnon) $((anon / 1024)) MB, peak mapped files (RssFile) $((file / 1024)) MB"
}

if [ ! -f "$DIR/stats.db" ]; then
  echo "### generating the dataset in SQLite"
  BENCH_DIR="$DIR" BENCH_ONLY_GENERATE=1 cargo bench -p lifeservice --bench stats
fi

if [ "${SKIP_COPY:-0}" != 1 ]; then
  echo "### migrate-data into PostgreSQL (COPY), load $(cut -d' ' -f1-3 /proc/loadavg)"
  psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
  /usr/bin/time -f "migrate-data: %e s wall, %U s user, %S s system, peak RSS %M KB" \
    "$BIN" migrate-data --from "$SQLITE" --to "$PG" &
  timer=$! pid=""
  while [ -z "$pid" ] && kill -0 "$timer" 2>/dev/null; do
    sleep 0.1; pid=$(pgrep -n -f "^$BIN migrate-data" || true)
  done
  [ -z "$pid" ] || peak_memory "$pid"
  wait "$timer"
  psql -q "$PG" -c "VACUUM ANALYZE"
  echo "PostgreSQL database size: $(psql -Atc "SELECT pg_size_pretty(pg_database_size('$PG_DB'))" "$PG")"
fi

if [ ! -d "$DIR/index-sqlite" ]; then
  start=$(date +%s)
  "$BIN" --db "$SQLITE" --index-dir "$DIR/index-sqlite" reindex
  echo "reindex: $(( $(date +%s) - start )) s"
fi
# The copy is verified identical, change feed included, so each PostgreSQL
# process starts from a copy of the same index (REINDEX_PG=1 builds it from
# PostgreSQL instead).
rm -rf "$DIR/index-pg" "$DIR/index-pg2"
if [ "${REINDEX_PG:-0}" = 1 ]; then
  start=$(date +%s)
  "$BIN" --db "$PG" --index-dir "$DIR/index-pg" reindex
  echo "reindex from PostgreSQL: $(( $(date +%s) - start )) s"
else
  cp -r "$DIR/index-sqlite" "$DIR/index-pg"
fi
cp -r "$DIR/index-pg" "$DIR/index-pg2"

# serve DB INDEX PORT: starts an app process, waits until it answers.
serve() {
  "$BIN" --db "$1" --index-dir "$2" serve --listen "127.0.0.1:$3" 2>>"$DIR/server-$3.log" &
  SERVERS+=($!)
  local pid=$! started=0
  if [ -n "${APP_CPU:-}" ]; then
    # A CPU quota per app process (cgroup v1), as if each ran on its own
    # small server: PostgreSQL and wrk keep the rest of the machine.
    local group="/sys/fs/cgroup/cpu/lifeservice-$3"
    mkdir -p "$group"
    awk -v c="$APP_CPU" 'BEGIN {printf "%d\n", c * 100000}' > "$group/cpu.cfs_quota_us"
    echo "$pid" > "$group/cgroup.procs"
  fi
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$3/healthz" >/dev/null && { started=1; break; }; sleep 0.5; done
  [ "$started" = 1 ] || { echo "server on $3 did not start" >&2; exit 1; }
  settle
}

# Waits until the machine is idle (under 10% busy over 2 s): the day's
# scheduled jobs run at the first start on a database, largely inside
# PostgreSQL, and autovacuum follows them.
settle() {
  local a b
  for _ in $(seq 1 300); do
    a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat); sleep 2
    b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); exit !((y[1]-x[1]) < 0.1 * (y[2]-x[2]))}' && return
  done
}
stop_all() { for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; SERVERS=(); }

# Request lists, taken once from the SQLite process: 2,000 provider pages,
# 2,000 outlet pages, and 96 searches (8 keywords, each province-wide and in
# each of the 11 cities).
serve "$SQLITE" "$DIR/index-sqlite" 18090
: > "$DIR/entities.txt"; : > "$DIR/outlets.txt"
for page in $(seq 1 20); do
  json=$(curl -sf "http://127.0.0.1:18090/api/v1/outlets?per_page=100&page=$((page * 37))")
  grep -o '"entity_code":"[0-9A-Z]*"' <<<"$json" | cut -d'"' -f4 | sed 's#^#/entities/#' >> "$DIR/entities.txt"
  grep -o '"id":[0-9]*' <<<"$json" | cut -d: -f2 | sed 's#^#/outlets/#' >> "$DIR/outlets.txt"
done
: > "$DIR/search.txt"
for q in 便利店 家政 养老 维修 药店 菜市场 托育 早餐; do
  enc=$(printf '%s' "$q" | od -An -tx1 | tr -d ' \n' | sed 's/../%&/g')
  echo "/api/v1/outlets?q=$enc" >> "$DIR/search.txt"
  for city in 1401 1402 1403 1404 1405 1406 1407 1408 1409 1410 1411; do
    echo "/api/v1/outlets?q=$enc&division=$city" >> "$DIR/search.txt"
  done
done
echo "requests: $(wc -l < "$DIR/entities.txt") provider pages, $(wc -l < "$DIR/outlets.txt") outlet pages, $(wc -l < "$DIR/search.txt") searches"
stop_all

# load LABEL PATHS PORT...: wrk against each port at once (a round-robin
# balancer's effect), connections split between them; sums req/s.
load() {
  local label=$1 paths=$2; shift 2
  local per=$(( CONNECTIONS / $# )) outs=() pids=()
  for port in "$@"; do
    out="$DIR/wrk-$port.txt"; outs+=("$out")
    PATHS="$paths" wrk -t1 -c"$per" -d"$DURATION" -s scripts/wrk-paths.lua "http://127.0.0.1:$port" > "$out" &
    pids+=($!)
  done
  wait "${pids[@]}"
  # Throughput adds up; each percentile is the worse of the processes'.
  awk -v label="$label" '
    /Requests\/sec/ {rps += $2}
    /^latency/ {gsub(",", ""); if ($3 > p50) p50 = $3; if ($5 > p95) p95 = $5; if ($7 > p99) p99 = $7; bad += $10}
    END {printf "| %s | %.0f req/s | %.1f ms | %.1f ms | %.1f ms | %d |\n", label, rps, p50, p95, p99, bad}' "${outs[@]}"
}

run() {
  local backend=$1; shift
  echo "### $backend: $# app process(es), wrk -c$CONNECTIONS -d$DURATION, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for p in "${SERVERS[@]}"; do echo "process $p after start: $(rss "$p")"; done
  # Warm-up, not measured: both pages are kept in memory once read.
  DURATION=5s load warm-up "$DIR/entities.txt" "$@" >/dev/null
  DURATION=5s load warm-up "$DIR/outlets.txt" "$@" >/dev/null
  echo "| page | throughput | p50 | p95 | p99 | non-2xx |"
  echo "|---|---|---|---|---|---|"
  load "provider page /entities/{code}" "$DIR/entities.txt" "$@"
  load "outlet page /outlets/{id}" "$DIR/outlets.txt" "$@"
  load "search /api/v1/outlets?q=…" "$DIR/search.txt" "$@"
  for p in "${SERVERS[@]}"; do echo "process $p after load: $(rss "$p")"; done
  stop_all
}

# scenario: one process on SQLite, one on PostgreSQL, two on PostgreSQL.
scenario() {
  serve "$SQLITE" "$DIR/index-sqlite" 18091
  run SQLite 18091
  serve "$PG" "$DIR/index-pg" 18092
  run PostgreSQL 18092
  serve "$PG" "$DIR/index-pg" 18092
  serve "$PG" "$DIR/index-pg2" 18093
  run PostgreSQL 18092 18093
}
echo "## Each app process free to use the whole machine"
APP_CPU="" scenario
# The same with each app process held to QUOTA cores (default 0.5): on two
# cores shared with PostgreSQL and wrk, a second process can only add
# capacity if each is held below the machine.
if [ -d /sys/fs/cgroup/cpu ] && [ -w /sys/fs/cgroup/cpu ]; then
  echo "## Each app process held to ${QUOTA:-0.5} core (cgroup CPU quota)"
  APP_CPU="${QUOTA:-0.5}" scenario
  rmdir /sys/fs/cgroup/cpu/lifeservice-1809? 2>/dev/null || true
fi
