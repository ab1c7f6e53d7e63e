#!/usr/bin/env bash
# One-command comparison (issue 14): casework vs PostGraphile 5 vs pgbench on
# the same local PostgreSQL database, plus floors, audit verify, RSS.
#
#   bench/compare.sh --complaints 10000            # seed (if needed) and run everything
#   bench/compare.sh --complaints 1000000 --duration 10 --clients "1 8 32"
#   options: --reseed (drop and seed again)  --skip-audit  --skip-upload  --skip-peer
#   env: CASEWORK_BIN=<another build> SKIP_BUILD=1 (use what is built)
#
# Needs: cargo, psql + pgbench, root for `apt-get install -y wrk` (if wrk is
# missing), npm (PostGraphile and Node 22 come from bench/postgraphile's
# lockfile), python3, read access to PostgreSQL's log ($PGLOG) for statement
# counts. Environment: PG (default postgres://postgres@127.0.0.1:5432),
# CARGO_TARGET_DIR, PGLOG (default /var/log/postgresql/postgresql-15-main.log).
#
# Steps (one server at a time, so each has the machine to itself):
#  1. seeds `casework_bench_<N>` with bench/seed.sql (set-based INSERT … SELECT);
#  2. statement counts: turns on log_statement for that database only, sends
#     each shape 10 times to casework and to PostGraphile and counts the
#     statements PostgreSQL logged; turns it off again; from one casework
#     request per shape it writes the pgbench script (bench/pgbench_script.py);
#  3. wrk at each client count for (a) list page, (b) complaint by id,
#     (c) createComplaint, (d) escalation queue, the floors `{ __typename }`
#     and a plain axum handler (examples/bench_floor.rs) returning the list
#     page's bytes; the run FAILS on any non-200 or "errors" response;
#  4. pgbench -M prepared with casework's statements for (a)–(c);
#  5. `audit verify` throughput on SQLite and PostgreSQL (examples/audit_bench.rs),
#     the 1 GiB upload's RSS growth (bench/upload.sh);
#  6. writes bench/results/compare-<N>.json and .md (bench/report.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

COMPLAINTS=10000 DURATION=10 CLIENTS="1 8 32" RESEED=0 AUDIT=1 UPLOAD=1 PEER=1
while [ $# -gt 0 ]; do
  case "$1" in
    --complaints) COMPLAINTS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --reseed) RESEED=1; shift ;;
    --skip-audit) AUDIT=0; shift ;;
    --skip-upload) UPLOAD=0; shift ;;
    --skip-peer) PEER=0; shift ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=casework_bench_$COMPLAINTS
URL_DB="$PG/$DB"
PGLOG=${PGLOG:-/var/log/postgresql/postgresql-15-main.log}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d /tmp/casework-compare.XXXXXX)
RESULTS=$WORK/results.jsonl
: > "$RESULTS"
CW_PORT=18181 PGL_PORT=18182 FLOOR_PORT=18183
FAIL=0
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
note() { python3 -c 'import json,sys; print(json.dumps(dict(kind="note", key=sys.argv[1], value=sys.argv[2])))' "$1" "$2" >> "$RESULTS"; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# ---------------------------------------------------------------- prerequisites
command -v wrk >/dev/null || { log "installing wrk"; apt-get install -y wrk >/dev/null; }
for tool in psql pgbench python3 curl npm; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
[ -d bench/postgraphile/node_modules ] || (cd bench/postgraphile && npm ci --no-audit --no-fund && npm rebuild node)
NODE=$ROOT/bench/postgraphile/node_modules/.bin/node
log "building the release server and examples"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet --bin casework --example bench_floor --example audit_bench
BIN=${CASEWORK_BIN:-$CARGO_TARGET_DIR/release/casework}  # CASEWORK_BIN: compare another build
FLOOR=$CARGO_TARGET_DIR/release/examples/bench_floor

# ---------------------------------------------------------------- server control
export CASEWORK_JWT_SECRET=bench-secret-that-is-long-enough-0123456789abcdef
# /metrics answers only with this token (the statement counter is read from it).
export CASEWORK_METRICS_TOKEN=bench-metrics-token-0123456789
# Quotas off: the benchmark measures throughput, and a refused request fails the run.
export CASEWORK_ACCESS_TOKEN_TTL_SECS=86400 CASEWORK_LOGIN_ATTEMPTS_PER_MINUTE=100000 CASEWORK_CREATIONS_PER_MINUTE=0
export CASEWORK_DB_MAX_CONNECTIONS=${CASEWORK_DB_MAX_CONNECTIONS:-16}
export CASEWORK_MAX_QUERY_COMPLEXITY=${CASEWORK_MAX_QUERY_COMPLEXITY:-100000}
start_casework() {
  DATABASE_URL=$URL_DB CASEWORK_LISTEN=127.0.0.1:$CW_PORT CASEWORK_EVIDENCE_DIR=$WORK/evidence RUST_LOG=warn \
    "$BIN" serve --demo >> "$WORK/casework.log" 2>&1 &
  SERVER=$!; PIDS+=($SERVER)
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$CW_PORT/readyz" >/dev/null && return; sleep 0.2; done
  echo "casework did not start:" >&2; tail -20 "$WORK/casework.log" >&2; exit 1
}
start_postgraphile() {
  (cd bench/postgraphile && NODE_ENV=production DATABASE_URL=$URL_DB PORT=$PGL_PORT POOL=$CASEWORK_DB_MAX_CONNECTIONS \
    exec "$NODE" server.mjs >> "$WORK/postgraphile.log" 2>&1) &
  SERVER=$!; PIDS+=($SERVER)
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PGL_PORT/graphql" -H 'content-type: application/json' -d '{"query":"{__typename}"}' >/dev/null && return
    sleep 0.2
  done
  echo "PostGraphile did not start:" >&2; tail -20 "$WORK/postgraphile.log" >&2; exit 1
}
start_floor() {
  "$FLOOR" 127.0.0.1:$FLOOR_PORT "$1" >> "$WORK/floor.log" 2>&1 &
  SERVER=$!; PIDS+=($SERVER)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$FLOOR_PORT/graphql" -d '' >/dev/null && return; sleep 0.1; done
  echo "floor did not start" >&2; exit 1
}
stop_server() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }

gql() { # url token body-file -> response
  curl -s "$1" -H 'content-type: application/json' ${2:+-H "authorization: Bearer $2"} --data-binary @"$3"
}
login() {
  printf '{"query":"mutation { login(email: \\"%s\\", password: \\"casework-demo\\") { accessToken } }"}' "$1" > "$WORK/login.json"
  gql "http://127.0.0.1:$CW_PORT/graphql" "" "$WORK/login.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["login"]["accessToken"])'
}

# ---------------------------------------------------------------- 1. database
# A database an earlier run measured on is seeded anew: that run's
# createComplaint points left thousands of complaints whose first-response
# deadline has passed since, and the SLA monitor of the next server to start
# would mark them breached while it is being measured (a second run on the
# same database counted 65 statements per createComplaint instead of 12).
seeded=$(psql "$URL_DB" -Atc "SELECT count(*) >= $COMPLAINTS AND NOT EXISTS (SELECT 1 FROM complaint WHERE description = 'Benchmark complaint') FROM complaint" 2>/dev/null || true)
if [ "$RESEED" = 1 ] || [ "$seeded" != t ]; then
  log "seeding $DB with $COMPLAINTS complaints"
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
  start_casework; stop_server   # migrations and the demo users and teams
  t0=$(date +%s.%N)
  psql "$URL_DB" -q -v n="$COMPLAINTS" -f bench/seed.sql >/dev/null
  t1=$(date +%s.%N)
  note seed_seconds "$(echo "$t1 - $t0" | bc)"
fi
psql "$URL_DB" -At -F ' ' -c "SELECT (SELECT count(*) FROM complaint), (SELECT count(*) FROM audit_event),
  (SELECT count(*) FROM note), (SELECT count(*) FROM evidence), (SELECT count(*) FROM escalation),
  (SELECT count(*) FROM escalation WHERE status = 'PENDING'), pg_size_pretty(pg_database_size('$DB'))" > "$WORK/sizes"
read -r N_C N_A N_N N_E N_X N_P SIZE1 SIZE2 < "$WORK/sizes"
note database "$N_C complaints, $N_A audit events, $N_N notes, $N_E evidence, $N_X escalations ($N_P pending), $SIZE1 $SIZE2"
log "database: $(cat "$WORK/sizes")"

# ---------------------------------------------------------------- request bodies
COMPLAINT_UUID=$(psql "$URL_DB" -Atc "SELECT c.id FROM complaint c WHERE NOT c.sensitive AND NOT c.legal_hold
  AND EXISTS (SELECT 1 FROM escalation e WHERE e.complaint_id = c.id)
  AND (SELECT count(*) FROM note n WHERE n.complaint_id = c.id) = 3 ORDER BY c.created_at DESC LIMIT 1")
COMPLAINT_GID=$(printf 'Complaint:%s' "$COMPLAINT_UUID" | base64 -w0 | tr '+/' '-_' | tr -d '=')
Q=$WORK/q; mkdir -p "$Q"
cat > "$Q/cw-list.json" <<'EOF'
{"query":"{ complaints(first: 50) { edges { node { id reference status severity title createdAt resolutionDue customer { name phone } assignee { displayName } evidenceCount latestEscalation { trigger status } } } } }"}
EOF
# The same page without sensitive / legal-hold complaints: reading those is
# audited (an audit event per complaint, a write transaction per request).
sed 's/complaints(first: 50)/complaints(first: 50, filter: {sensitive: false, legalHold: false})/' "$Q/cw-list.json" > "$Q/cw-listplain.json"
cat > "$Q/cw-byid.json" <<EOF
{"query":"query(\$id: ID!) { complaint(id: \$id) { id reference status severity title description createdAt customer { name phone } assignee { displayName } notes { body createdAt } escalations { trigger status requestedAt } } }","variables":{"id":"$COMPLAINT_GID"}}
EOF
cat > "$Q/cw-create.json" <<'EOF'
{"query":"mutation($i: CreateComplaintInput!) { createComplaint(input: $i) { id reference } }","variables":{"i":{"channel":"PHONE","category":"LOGISTICS","severity":"MEDIUM","title":"Parcel late","description":"Benchmark complaint","customer":{"name":"Bench Customer","phone":"+86 138 0000 0000"},"coreDemand":"APOLOGY","emotion":"CALM"}}}
EOF
cat > "$Q/cw-queue.json" <<'EOF'
{"query":"{ escalationQueue(first: 50) { edges { node { id trigger status reason requestedAt dueBy complaint { reference title severity } } } } }"}
EOF
echo '{"query":"{ __typename }"}' > "$Q/cw-typename.json"
cp "$Q/cw-typename.json" "$Q/pgl-typename.json"
# PostGraphile 5 (amber, default inflection): the same shapes.
cat > "$Q/pgl-list.json" <<'EOF'
{"query":"{ allComplaints(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes { id reference status severity title createdAt resolutionDue customerByCustomerId { name phone } appUserByAssigneeId { displayName } evidencesByComplaintId { totalCount } escalationsByComplaintId(first: 1, orderBy: [REQUESTED_AT_DESC]) { nodes { trigger status } } } } }"}
EOF
cat > "$Q/pgl-byid.json" <<EOF
{"query":"query(\$id: UUID!) { complaintByRowId(rowId: \$id) { id reference status severity title description createdAt customerByCustomerId { name phone } appUserByAssigneeId { displayName } notesByComplaintId(orderBy: [CREATED_AT_ASC]) { nodes { body createdAt } } escalationsByComplaintId(orderBy: [REQUESTED_AT_ASC]) { nodes { trigger status requestedAt } } } }","variables":{"id":"$COMPLAINT_UUID"}}
EOF
cat > "$Q/pgl-queue.json" <<'EOF'
{"query":"{ allEscalations(first: 50, condition: {status: \"PENDING\"}, filter: null, orderBy: [REQUESTED_AT_ASC, ROW_ID_ASC]) { nodes { id trigger status reason requestedAt dueBy complaintByComplaintId { reference title severity } } } }"}
EOF
sed -i 's/, filter: null//' "$Q/pgl-queue.json"
# PostGraphile has no audited reads; its page is the same work either way.
cp "$Q/pgl-list.json" "$Q/pgl-listplain.json"

# ---------------------------------------------------------------- measurement helpers
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pg_backends() { pgrep -f "postgres: .*[a-z_]+ $DB [0-9.]+\\(" || true; }
pg_ticks() { local t=0; for p in $(pg_backends); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# wrk_run server shape clients body-file url token
wrk_run() {
  local server=$1 shape=$2 clients=$3 body=$4 url=$5 token=${6:-} threads=2
  [ "$clients" -lt 2 ] && threads=1
  local c0 p0 c1 p1 out
  c0=$(cpu_ticks "$SERVER"); p0=$(pg_ticks)
  local fresh_phone=0; [ "$shape" = create ] && fresh_phone=1
  out=$(FRESH_PHONE=$fresh_phone BODY=$body TOKEN=$token wrk -t"$threads" -c"$clients" -d"${DURATION}s" --timeout 10s --latency -s bench/wrk/post.lua "$url" | grep '^WRKJSON ' | cut -d' ' -f2-)
  c1=$(cpu_ticks "$SERVER"); p1=$(pg_ticks)
  python3 - "$server" "$shape" "$clients" "$out" "$((c1 - c0))" "$((p1 - p0))" "$(rss_kb "$SERVER")" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS" <<'PY'
import json, sys
server, shape, clients, out, cpu, pgcpu, rss, load = sys.argv[1:]
w = json.loads(out)
n = max(w["requests"], 1)
print(json.dumps(dict(kind="wrk", server=server, shape=shape, clients=int(clients), rss_kb=int(rss), load=load,
    server_cpu_ms_per_req=round(int(cpu) * 10 / n, 3), pg_cpu_ms_per_req=round(int(pgcpu) * 10 / n, 3), **w)))
PY
  local line; line=$(tail -1 "$RESULTS")
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("  %(server)-12s %(shape)-9s c=%(clients)-3d %(rps)8.0f rps  p50 %(p50_ms).1f ms  p99 %(p99_ms).1f ms  cpu/req %(server_cpu_ms_per_req)s ms (pg %(pg_cpu_ms_per_req)s ms)  errors %(errors)d non200 %(non200)d  load %(load)s" % r)' "$line" >&2
  if python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["errors"] == 0 and r["non200"] == 0 and r["requests"] > 0 else 1)' "$line"; then :; else
    log "FAIL: $server $shape c=$clients answered with errors: $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sample"])' "$line")"
    FAIL=1
  fi
}

# Statements PostgreSQL logged for $DB since byte offset $1.
logged_statements() { tail -c +"$(( $1 + 1 ))" "$PGLOG" | grep -cE "@$DB (LOG|ERROR):  (statement|execute [^:]*):" || true; }
log_size() { stat -c %s "$PGLOG"; }
metric_statements() { curl -s -H "authorization: Bearer $CASEWORK_METRICS_TOKEN" "http://127.0.0.1:$CW_PORT/metrics" | awk '/^casework_db_statements_total / {print $2}'; }

# count server shape url token body [fresh-script]
# A copy of the request body naming a customer never seen before (a random
# mobile number instead of +86 138 0000 0000), like wrk's FRESH_PHONE=1.
fresh_body() {
  local phone; phone=$(printf '+86 139 %04d %04d' $((RANDOM % 10000)) $((RANDOM % 10000)))
  sed "s/+86 138 0000 0000/$phone/" "$1" > "$WORK/fresh-body.json"
  echo "$phone" > "$WORK/fresh-phone"
  echo "$WORK/fresh-body.json"
}

count_statements() {
  local server=$1 shape=$2 url=$3 token=$4 body=$5 r
  local send=$body
  for _ in 1 2 3; do [ "$shape" = create ] && send=$(fresh_body "$body"); r=$(gql "$url" "$token" "$send"); done
  if echo "$r" | grep -q '"errors"'; then log "FAIL: $server $shape: $r"; FAIL=1; return; fi
  local off m0 m1; off=$(log_size); m0=$( [ "$server" = casework ] && metric_statements || echo 0)
  for _ in $(seq 1 10); do [ "$shape" = create ] && send=$(fresh_body "$body"); gql "$url" "$token" "$send" > /dev/null; done
  sleep 1
  m1=$( [ "$server" = casework ] && metric_statements || echo 0)
  local n; n=$(logged_statements "$off")
  python3 -c 'import json,sys; print(json.dumps(dict(kind="statements", server=sys.argv[1], shape=sys.argv[2], per_request=int(sys.argv[3]) / 10, metric_per_request=int(sys.argv[4]) / 10)))' \
    "$server" "$shape" "$n" "$((m1 - m0))" >> "$RESULTS"
  log "  $server $shape: $((n / 10)) statements per request (PostgreSQL's log; casework's counter: $(( (m1 - m0) / 10 )))"
}

# ---------------------------------------------------------------- 2. statement counts and pgbench scripts
[ -r "$PGLOG" ] || { echo "cannot read $PGLOG (statement counts)" >&2; exit 1; }
log "statement counts (log_statement = all on $DB only)"
psql "$PG/postgres" -qc "ALTER DATABASE $DB SET log_statement = 'all'"
# No background job may slip its statements into the counted window, and the
# caller cache (2 s by default) must not expire between the warm-up and the
# captures: the scripts hold what a request costs in steady state.
CASEWORK_SLA_SCAN_INTERVAL_SECS=3600 CASEWORK_AUDIT_CHECKPOINT_INTERVAL_SECS=0 CASEWORK_AUTH_CACHE_SECS=60 start_casework
sleep 2
CW_URL="http://127.0.0.1:$CW_PORT/graphql"
SUP=$(login supervisor@example.com)
AGENT=$(login agent@example.com)
count_statements casework list "$CW_URL" "$SUP" "$Q/cw-list.json"
count_statements casework listplain "$CW_URL" "$SUP" "$Q/cw-listplain.json"
count_statements casework byid "$CW_URL" "$SUP" "$Q/cw-byid.json"
count_statements casework create "$CW_URL" "$AGENT" "$Q/cw-create.json"
count_statements casework queue "$CW_URL" "$SUP" "$Q/cw-queue.json"
count_statements casework typename "$CW_URL" "$SUP" "$Q/cw-typename.json"
for shape in list listplain byid create; do
  token=$SUP; [ $shape = create ] && token=$AGENT
  off=$(log_size)
  send="$Q/cw-$shape.json"; [ $shape = create ] && send=$(fresh_body "$send")
  gql "$CW_URL" "$token" "$send" > "$WORK/captured-$shape.json"
  sleep 1
  fresh=/dev/null
  if [ $shape = create ]; then
    psql "$URL_DB" -At -F ' ' -c "SELECT id, customer_id, reference FROM complaint ORDER BY created_at DESC, id DESC LIMIT 1" > "$WORK/fresh"
    read -r f_id f_cust f_ref < "$WORK/fresh"
    f_phone=$(cat "$WORK/fresh-phone"); f_key=$(echo "$f_phone" | tr -d ' ')
    printf '{"%s":"complaint","%s":"customer","%s":"reference","%s":"phone","%s":"phone"}' \
      "$f_id" "$f_cust" "$f_ref" "$f_phone" "$f_key" > "$WORK/fresh.json"
    fresh=$WORK/fresh.json
  fi
  python3 bench/pgbench_script.py "$PGLOG" "$off" "$DB" $([ $shape = create ] && echo "$fresh") > "$WORK/pgbench-$shape.sql"
  log "  pgbench script for $shape: $(grep -c '' "$WORK/pgbench-$shape.sql") statements"
done
stop_server
if [ "$PEER" = 1 ]; then
  start_postgraphile
  PGL_URL="http://127.0.0.1:$PGL_PORT/graphql"
  count_statements postgraphile list "$PGL_URL" "" "$Q/pgl-list.json"
  count_statements postgraphile byid "$PGL_URL" "" "$Q/pgl-byid.json"
  count_statements postgraphile queue "$PGL_URL" "" "$Q/pgl-queue.json"
  stop_server
fi
psql "$PG/postgres" -qc "ALTER DATABASE $DB RESET log_statement"
mkdir -p bench/results/pgbench
cp "$WORK"/pgbench-*.sql bench/results/pgbench/
[ "$FAIL" = 0 ] || { log "statement counting failed; see above"; exit 1; }

# ---------------------------------------------------------------- 3. wrk
log "casework (release, pool $CASEWORK_DB_MAX_CONNECTIONS), $DURATION s per point"
start_casework
SUP=$(login supervisor@example.com); AGENT=$(login agent@example.com)
note casework_rss_idle_kb "$(rss_kb "$SERVER")"
for c in $CLIENTS; do
  wrk_run casework list "$c" "$Q/cw-list.json" "$CW_URL" "$SUP"
  wrk_run casework listplain "$c" "$Q/cw-listplain.json" "$CW_URL" "$SUP"
  wrk_run casework byid "$c" "$Q/cw-byid.json" "$CW_URL" "$SUP"
  wrk_run casework queue "$c" "$Q/cw-queue.json" "$CW_URL" "$SUP"
  wrk_run casework typename "$c" "$Q/cw-typename.json" "$CW_URL" "$SUP"
done
note casework_rss_peak_kb "$(hwm_kb "$SERVER")"
note casework_rss_after_kb "$(rss_kb "$SERVER")"
gql "$CW_URL" "$SUP" "$Q/cw-listplain.json" > "$WORK/list-response.json"
stop_server

if [ "$PEER" = 1 ]; then
  log "PostGraphile 5 (amber, Node $("$NODE" --version), pool $CASEWORK_DB_MAX_CONNECTIONS)"
  start_postgraphile
  for c in $CLIENTS; do
    wrk_run postgraphile list "$c" "$Q/pgl-list.json" "$PGL_URL"
    wrk_run postgraphile listplain "$c" "$Q/pgl-listplain.json" "$PGL_URL"
    wrk_run postgraphile byid "$c" "$Q/pgl-byid.json" "$PGL_URL"
    wrk_run postgraphile queue "$c" "$Q/pgl-queue.json" "$PGL_URL"
    wrk_run postgraphile typename "$c" "$Q/pgl-typename.json" "$PGL_URL"
  done
  note postgraphile_rss_peak_kb "$(hwm_kb "$SERVER")"
  stop_server
fi

if [ -x "$FLOOR" ]; then
  log "floor: plain axum handler returning the list page's $(stat -c %s "$WORK/list-response.json") bytes"
  start_floor "$WORK/list-response.json"
  for c in $CLIENTS; do wrk_run axum-floor listplain "$c" "$Q/cw-list.json" "http://127.0.0.1:$FLOOR_PORT/graphql"; done
  stop_server
else
  log "no $FLOOR: floor skipped"; note floor "not built"
fi

# Writes last, so that every reader above saw the same data.
log "casework createComplaint"
start_casework
AGENT=$(login agent@example.com)
for c in $CLIENTS; do wrk_run casework create "$c" "$Q/cw-create.json" "$CW_URL" "$AGENT"; done
note casework_rss_after_creates_kb "$(rss_kb "$SERVER")"
stop_server

# ---------------------------------------------------------------- 4. pgbench
log "pgbench -M prepared with casework's statements"
for shape in list listplain byid create; do
  for c in $CLIENTS; do
    j=$(( c < 2 ? 1 : 2 ))
    rm -f "$WORK"/pgb.*
    out=$(pgbench -n -M prepared -f "$WORK/pgbench-$shape.sql" -c "$c" -j "$j" -T "$DURATION" -l --log-prefix="$WORK/pgb" "$URL_DB" 2>&1) || {
      log "FAIL: pgbench $shape: $out"; FAIL=1; continue; }
    python3 - "$shape" "$c" "$(cut -d' ' -f1-3 /proc/loadavg)" "$out" "$WORK" >> "$RESULTS" <<'PY'
import glob, json, re, sys
shape, clients, load, out, work = sys.argv[1:]
lat = sorted(int(l.split()[2]) / 1000 for f in glob.glob(work + "/pgb.*") for l in open(f))
tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
failed = int((re.search(r"number of failed transactions: (\d+)", out) or [0, 0])[1])
pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] if lat else 0
print(json.dumps(dict(kind="pgbench", shape=shape, clients=int(clients), load=load, rps=tps, failed=failed,
    p50_ms=pct(0.5), p99_ms=pct(0.99), transactions=len(lat))))
PY
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("  pgbench      %(shape)-9s c=%(clients)-3d %(rps)8.0f tps  p50 %(p50_ms).1f ms  p99 %(p99_ms).1f ms  failed %(failed)d  load %(load)s" % r)' "$(tail -1 "$RESULTS")" >&2
  done
done

# ---------------------------------------------------------------- 5. audit verify, upload
[ -x "$CARGO_TARGET_DIR/release/examples/audit_bench" ] || { [ "$AUDIT" = 1 ] && log "no audit_bench built: audit verify skipped"; note audit "not built"; AUDIT=0; }
if [ "$AUDIT" = 1 ]; then
  log "audit verify (examples/audit_bench.rs: chains written by audit::append, 200 000 events)"
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS casework_bench_audit WITH (FORCE)" -c "CREATE DATABASE casework_bench_audit" >/dev/null
  for target in sqlite postgres; do
    url="sqlite://$WORK/audit.db?mode=rwc"; [ $target = postgres ] && url=$PG/casework_bench_audit
    "$CARGO_TARGET_DIR/release/examples/audit_bench" --database-url "$url" --events 200000 --chains 20000 --creates 500 > "$WORK/audit-$target.txt" 2>&1 || {
      log "FAIL: audit_bench on $target"; tail -5 "$WORK/audit-$target.txt" >&2; FAIL=1; continue; }
    best=$(grep -oE '= [0-9]+ events/s' "$WORK/audit-$target.txt" | awk '{print $2}' | sort -n | tail -1)
    note "audit_verify_events_per_s_$target" "$best"
    note "audit_bench_$target" "$(grep -E '^checkpoint|verify run|/s' "$WORK/audit-$target.txt" | tr -s ' ' | tr '\n' ';')"
    log "  $target: best of 3 verify runs $best events/s"
  done
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS casework_bench_audit WITH (FORCE)" >/dev/null
fi
if [ "$UPLOAD" = 1 ]; then
  log "1 GiB upload (bench/upload.sh)"
  BENCH_DIR=$WORK/upload bash bench/upload.sh > "$WORK/upload.txt" 2>&1 || { log "FAIL: upload"; FAIL=1; }
  note upload "$(grep -E '^(before|after) upload|^upload:' "$WORK/upload.txt" | tr -s ' ' | tr '\n' ';')"
  rm -rf "$WORK/upload"
fi

# ---------------------------------------------------------------- 6. report
note machine "$(nproc) cores, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
note versions "casework $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty'); $(psql "$URL_DB" -Atc 'SHOW server_version'); PostGraphile $(cd bench/postgraphile && "$NODE" -p 'require("./node_modules/postgraphile/package.json").version') on Node $("$NODE" --version); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(pgbench --version)"
note duration_s "$DURATION"
note failed "$FAIL"
python3 bench/report.py "$RESULTS" "$COMPLAINTS" bench/results
log "wrote bench/results/compare-$COMPLAINTS.md and .json (raw lines: $RESULTS)"
[ "$FAIL" = 0 ] || { log "the run FAILED (an error response or a failed step above)"; exit 1; }
