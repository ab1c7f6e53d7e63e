#!/usr/bin/env bash
# Browser tests of the console and of GraphiQL, run at the end of .ci/run:
# Debian's chromium driven by playwright-core (never a browser download),
# against the release server started with --demo on a fresh SQLite file and a
# free port. Screenshots and downloads go to .ci/artifacts/.
# Also checks that web/vendor/ is exactly what web/vendor.sh copies from the
# pinned npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/casework-target}"

# 1. The vendored files match the lockfile.
./web/vendor.sh
git diff --exit-code --stat -- web/vendor || { echo "web/vendor/ differs from web/vendor.sh's output: run it and commit" >&2; exit 1; }

# 2. Debian's chromium, and CJK fonts for the Chinese interface's screenshots.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    echo "installing chromium and fonts-noto-cjk (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
chromium --version

# 3. playwright-core, pinned by .ci/browser/package-lock.json.
(cd .ci/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)

# 4. The release server on a fresh SQLite file and a free port. For iterating
# on the console, CASEWORK_BINARY may name another build (a debug build serves
# web/ from the source tree); CI always builds and runs the release binary.
binary="${CASEWORK_BINARY:-}"
if [ -z "$binary" ]; then
    cargo build --release --quiet
    binary="$CARGO_TARGET_DIR/release/casework"
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
CASEWORK_EVIDENCE_DIR="$work/evidence" "$binary" \
    --database-url "sqlite://$work/casework.db?mode=rwc" serve --demo --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

# 5. The flows.
mkdir -p .ci/artifacts
CASEWORK_URL="http://127.0.0.1:$port" ARTIFACTS="$root/.ci/artifacts" node .ci/browser/run.mjs \
    || { echo "--- server log"; tail -n 50 "$work/server.log"; exit 1; }
