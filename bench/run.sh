#!/usr/bin/env bash
# Throughput and latency of the API on PostgreSQL, with wrk (Debian's package).
#   bench/run.sh [complaints-to-seed]      (default 10000)
# Starts a release server on a fresh database `casework_bench`, seeds it through
# createComplaint (measuring that), then loads the 50-complaint list page with
# 32 connections. Prints wrk's figures; nothing here is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
SEED=${1:-10000}
PORT=${PORT:-18181}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/casework-target}"
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }

cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/casework"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS casework_bench WITH (FORCE)" -c "CREATE DATABASE casework_bench" >/dev/null

DATABASE_URL="$PG/casework_bench" CASEWORK_LISTEN="127.0.0.1:$PORT" CASEWORK_DB_MAX_CONNECTIONS=32 \
CASEWORK_LOGIN_ATTEMPTS_PER_MINUTE=1000 RUST_LOG=warn "$BIN" serve --demo >/tmp/casework-bench.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done

login() {
  curl -s "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
    -d "{\"query\":\"mutation { login(email: \\\"$1\\\", password: \\\"casework-demo\\\") { accessToken } }\"}" |
    sed -E 's/.*"accessToken":"([^"]+)".*/\1/'
}

echo "== createComplaint with its audit event (8 connections, until $SEED more complaints)"
export TOKEN=$(login agent@example.com)
START=$(date +%s.%N)
wrk -t2 -c8 -d600s -s bench/create.lua "http://127.0.0.1:$PORT/graphql" >/tmp/casework-bench-create.txt &
WRK=$!
while :; do
  sleep 1
  n=$(psql "$PG/casework_bench" -Atc "SELECT count(*) FROM complaint")
  [ "$n" -ge "$SEED" ] && break
done
kill -INT $WRK; wait $WRK || true
END=$(date +%s.%N)
n=$(psql "$PG/casework_bench" -Atc "SELECT count(*) FROM complaint")
echo "complaints: $n in $(echo "$END - $START" | bc) s"
grep -E "Requests/sec|Latency|Non-2xx" /tmp/casework-bench-create.txt || true

echo "== list of 50 with nested fields (32 connections, 30 s)"
export TOKEN=$(login supervisor@example.com)
wrk -t2 -c32 -d30s --latency -s bench/list.lua "http://127.0.0.1:$PORT/graphql" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx"
echo "server RSS: $(grep VmRSS /proc/$SERVER/status | awk '{print $2, $3}') (peak $(grep VmHWM /proc/$SERVER/status | awk '{print $2, $3}'))"
