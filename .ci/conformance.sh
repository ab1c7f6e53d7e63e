#!/usr/bin/env bash
# Independent conformance tools against the release server (issue 11):
#   1. graphql-http's serverAudits (every MUST passes)      — development server
#   2. graphql-cop's 12 checks, re-done in Node (0 findings) — production server
#   3. schemathesis fuzzing with a valid token (no 5xx)      — development server
#   4. Apollo Client, urql and apollo-upload-client          — development server
# Servers run on free ports on fresh SQLite databases in a temporary directory.
# CASEWORK_BINARY=path skips the release build (for a quick local run).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/casework-target}"
EXAMPLES="${CONFORMANCE_EXAMPLES:-10}"

if [ -z "${CASEWORK_BINARY:-}" ]; then
    cargo build --release --quiet --bin casework || { echo "conformance: release build failed" >&2; exit 1; }
    CASEWORK_BINARY="$CARGO_TARGET_DIR/release/casework"
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start NAME [ENV=VALUE…]: starts a server, prints its base URL once it is ready.
start() {
    local name=$1; shift
    local port; port=$(free_port)
    mkdir -p "$WORK/$name"
    (cd "$WORK/$name" && env "$@" CASEWORK_LISTEN="127.0.0.1:$port" DATABASE_URL="sqlite://$WORK/$name/casework.db?mode=rwc" \
        CASEWORK_EVIDENCE_DIR="$WORK/$name/evidence" CASEWORK_AUDIT_CHECKPOINT_INTERVAL_SECS=0 \
        "$CASEWORK_BINARY" serve >"$WORK/$name.log" 2>&1) &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { echo "http://127.0.0.1:$port"; return 0; }
        sleep 0.2
    done
    echo "conformance: the $name server did not start:" >&2
    cat "$WORK/$name.log" >&2
    return 1
}

DEV=$(start dev CASEWORK_ENV=development CASEWORK_DEMO=true) || exit 1
PROD=$(start prod CASEWORK_ENV=production \
    CASEWORK_JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
    CASEWORK_AUDIT_SIGNING_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')") || exit 1
echo "conformance: development server $DEV, production server $PROD"

(cd .ci/conformance && npm ci --silent --no-audit --no-fund) || { echo "conformance: npm ci failed" >&2; exit 1; }

declare -A RESULT
run() { # run NAME COMMAND…
    local name=$1; shift
    echo "== $name"
    if "$@"; then RESULT[$name]=pass; else RESULT[$name]=FAIL; fi
}

run graphql-http node .ci/conformance/audits.mjs "$DEV/graphql"
run graphql-cop node .ci/conformance/cop.mjs "$PROD/graphql"
run clients node .ci/conformance/clients.mjs "$DEV/graphql"

schemathesis_run() {
    if ! command -v st >/dev/null 2>&1 && ! python3 -c 'import schemathesis' 2>/dev/null; then
        pip install --quiet 'schemathesis>=3.39,<4' || return 1
    fi
    local token
    token=$(curl -s "$DEV/graphql" -H 'content-type: application/json' \
        -d '{"query":"mutation { login(email: \"supervisor@example.com\", password: \"casework-demo\") { accessToken } }"}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["login"]["accessToken"])') || return 1
    python3 -m schemathesis.cli run "$DEV/graphql" \
        -H "Authorization: Bearer $token" \
        --checks not_a_server_error \
        --hypothesis-max-examples "$EXAMPLES" \
        --hypothesis-suppress-health-check all \
        --request-timeout 10000 \
        --no-color || return 1
    # And the server is still healthy afterwards.
    curl -sf "$DEV/healthz" >/dev/null
}
run schemathesis schemathesis_run

echo
echo "conformance summary:"
failed=0
for name in graphql-http graphql-cop clients schemathesis; do
    printf '  %-14s %s\n' "$name" "${RESULT[$name]:-not run}"
    [ "${RESULT[$name]:-}" = pass ] || failed=1
done
if grep -q 'panicked' "$WORK"/*.log; then
    echo "  a server panicked:"; grep -h 'panicked' "$WORK"/*.log | head -5; failed=1
fi
exit $failed
