#!/usr/bin/env bash
# The whole check, as CI runs it (`npm test`, `.ci/run`): install what is missing, start the local stack
# (unless KAFKA_BOOTSTRAP_SERVERS / SCHEMA_REGISTRY_URL point at one), then lint, typecheck and every test
# against the real broker and registry. A stack this script started is stopped on exit. Exit code: non-zero
# when any of lint, typecheck or the tests failed (all three always run, so one report shows everything).
# Arguments go to vitest (`scripts/test.sh libs/kafka` runs only those tests).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
T0=$SECONDS
STARTED_STACK=0

bash scripts/setup.sh
export PATH="$ROOT/node_modules/.bin:$PATH"

free_port() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# If the default ports are held by something that is not this checkout's stack (say, a stack of another
# clone of the repo), move this run's stack to the first free block of ports instead of failing.
choose_ports() {
  local offset p ok
  for offset in 0 100 200 300 400 500 600 700 800; do
    ok=1
    for p in $((19092 + offset)) $((19093 + offset)) $((18081 + offset)) $((19001 + offset)) $((19090 + offset)) $((19080 + offset)); do
      free_port "$p" || ok=0
    done
    if [ $ok -eq 1 ]; then
      export STACK_KAFKA_PORT=$((19092 + offset)) STACK_KAFKA_CONTROLLER_PORT=$((19093 + offset))
      export STACK_REGISTRY_PORT=$((18081 + offset)) STACK_REGISTRY_MGMT_PORT=$((19001 + offset))
      export STACK_PROMETHEUS_PORT=$((19090 + offset)) STACK_S3_PORT=$((19080 + offset))
      [ $offset -eq 0 ] || echo "[test] default stack ports busy: using ports +$offset" >&2
      return 0
    fi
  done
  echo "[test] no free block of stack ports found" >&2
  return 1
}

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || [ -z "${SCHEMA_REGISTRY_URL:-}" ]; then
  if bash scripts/stack.sh status >/dev/null 2>&1; then
    echo "[test] reusing the running stack" >&2
  else
    # Anything half-started by an earlier run of this checkout goes first, then the ports are checked.
    bash scripts/stack.sh down >/dev/null 2>&1 || true
    choose_ports
    STARTED_STACK=1
    trap 'bash scripts/stack.sh down' EXIT
  fi
  bash scripts/stack.sh up
  eval "$(bash scripts/stack.sh env)"
fi
# Services that tests spawn read their own config keys: point them at the same stack.
export CERTSTREAM_KAFKA_BROKERS=${CERTSTREAM_KAFKA_BROKERS:-$KAFKA_BOOTSTRAP_SERVERS}
export CERTSTREAM_KAFKA_SCHEMA_REGISTRY_URL=${CERTSTREAM_KAFKA_SCHEMA_REGISTRY_URL:-$SCHEMA_REGISTRY_URL}
echo "[test] KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL" >&2

failed=()
echo "[test] biome check ." >&2
biome check . || failed+=(lint)
echo "[test] tsc --noEmit" >&2
tsc -p tsconfig.json --noEmit || failed+=(typecheck)
echo "[test] vitest run" >&2
mkdir -p .cache
rm -f .cache/vitest-report.json
vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-report.json "$@" || failed+=(tests)

if [ $STARTED_STACK -eq 1 ]; then
  trap - EXIT
  bash scripts/stack.sh down
fi

echo "[test] finished in $((SECONDS - T0)) s" >&2
[ ${#failed[@]} -eq 0 ] || echo "[test] FAILED: ${failed[*]}" >&2
# The plain closing line with the counts (vitest's own summary is coloured and spread over lines).
if [ -f .cache/vitest-report.json ]; then
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(".cache/vitest-report.json", "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  '
fi
[ ${#failed[@]} -eq 0 ]
