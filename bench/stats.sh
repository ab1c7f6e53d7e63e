#!/usr/bin/env bash
# Statistics benchmark: complaintStats for one month by every dimension over
# 1 000 000 complaints on PostgreSQL (target < 500 ms each), with the query plans.
#
#   bench/stats.sh                                   # fresh database casework_stats_bench, 1M complaints
#   bench/stats.sh --complaints 200000 --month 2026-10 --timezone Asia/Shanghai
#   bench/stats.sh --skip-seed                       # reuse the seeded database
#   PROFILE=dev bench/stats.sh                       # without a release build (the time is the database's)
#
# Seeds with generate_series (examples/stats_bench.rs), times service::stats::compute
# (what the resolver runs) five times per dimension, and prints EXPLAIN (ANALYZE, BUFFERS).
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-casework_stats_bench}
if [[ " $* " != *" --skip-seed "* ]]; then
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
fi
PROFILE=${PROFILE:-release}
exec cargo run --profile "$PROFILE" --quiet --example stats_bench -- --database-url "$PG/$DB" "$@"
