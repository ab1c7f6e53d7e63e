#!/usr/bin/env bash
# Copies the browser files casework embeds from the npm packages pinned in
# web/vendor/package.json + package-lock.json into web/vendor/. The copies are
# committed; CI re-runs this script and fails when `git diff` shows a change.
set -euo pipefail
cd "$(dirname "$0")/vendor"
npm ci --no-audit --no-fund --ignore-scripts --silent
nm=node_modules
cp "$nm/htm/preact/standalone.mjs"                 preact-htm.mjs
cp "$nm/react/umd/react.production.min.js"         react.production.min.js
cp "$nm/react-dom/umd/react-dom.production.min.js" react-dom.production.min.js
cp "$nm/graphiql/graphiql.min.js"                  graphiql.min.js
cp "$nm/graphiql/graphiql.min.css"                 graphiql.min.css
# The source maps are not shipped: drop the comments that point at them.
sed -i -e '/^\/\/# sourceMappingURL=/d' graphiql.min.js
sed -i -e 's#/\*\# sourceMappingURL=[^*]*\*/##' graphiql.min.css
