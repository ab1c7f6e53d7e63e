#!/usr/bin/env bash
# Audit benchmark: `casework audit verify` throughput over ~1M generated events,
# and the cost of the audit write on createComplaint. Release build.
#
#   bench/audit.sh                          # fresh SQLite file, 1M events
#   bench/audit.sh --events 200000          # smaller
#   bench/audit.sh --database-url postgres://postgres@127.0.0.1:5432/bench_empty
#
# Then the CLI on the same kind of data:
#   casework --database-url … audit verify --public-key …
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet --example audit_bench -- "$@"
