#!/usr/bin/env bash
# Copies the browser files casework embeds from the npm packages pinned in
# web/vendor/package.json + package-lock.json into web/vendor/. The copies are
# committed; CI re-runs this script and fails when `git diff` shows a change.
# A file whose bytes are unchanged is left untouched (its mtime too), so a CI
# run does not make cargo rebuild the binary that embeds it.
set -euo pipefail
cd "$(dirname "$0")/vendor"
npm ci --no-audit --no-fund --ignore-scripts --silent
nm=node_modules

# put SOURCE TARGET [SED-EXPRESSION]: TARGET becomes SOURCE (filtered by sed).
put() {
    local tmp
    tmp="$(mktemp "$2.XXXXXX")"
    if [ -n "${3:-}" ]; then sed -e "$3" "$1" >"$tmp"; else cat "$1" >"$tmp"; fi
    if cmp -s "$tmp" "$2"; then rm -f "$tmp"; else chmod 644 "$tmp"; mv "$tmp" "$2"; fi
}

put "$nm/htm/preact/standalone.mjs"                 preact-htm.mjs
put "$nm/react/umd/react.production.min.js"         react.production.min.js
put "$nm/react-dom/umd/react-dom.production.min.js" react-dom.production.min.js
# The source maps are not shipped: drop the comments that point at them.
put "$nm/graphiql/graphiql.min.js"                  graphiql.min.js  '/^\/\/# sourceMappingURL=/d'
put "$nm/graphiql/graphiql.min.css"                 graphiql.min.css 's#/\*\# sourceMappingURL=[^*]*\*/##'
