#!/usr/bin/env bash
# Quick start, command 2: set up, typecheck, then run the whole test suite. Ends with one plain summary line
# ("tests: N passed, N failed") and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash environment/setup.sh
echo "[test] typecheck" >&2
node node_modules/typescript/bin/tsc --noEmit -p tsconfig.json
report=$(mktemp -d)/vitest.json
status=0
NO_COLOR=1 node node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" || status=1
exit "$status"
