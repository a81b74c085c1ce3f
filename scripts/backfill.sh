#!/usr/bin/env bash
# `npm run backfill -- [--dry-run] [--from N] [--logs <filter>] [--wait]`: the backfill job with what
# `npm run up` runs the services with: infra/config/local.yaml (so the Delta table .cache/run/delta/certstream),
# the stack's Kafka and registry, and the CT log stand-ins' log list while `npm run up` runs them. It starts
# nothing: without a running stack it says which address did not answer. Anything set in the environment, or a
# --config argument, wins. On a terminal the job's log goes to .cache/run/backfill.log.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=$ROOT/.cache/run
export PATH="$ROOT/node_modules/.bin:$PATH"
[ -x node_modules/.bin/node ] || {
  echo "[backfill] node_modules missing: run bash scripts/setup.sh (or npm run up) first" >&2
  exit 2
}
# The stack's addresses, unless the caller set them.
while IFS= read -r line; do
  var=${line#export }
  name=${var%%=*}
  [ -n "${!name:-}" ] || export "${var?}"
done < <(bash scripts/stack.sh env)
export CERTSTREAM_CONFIG=${CERTSTREAM_CONFIG:-${UP_CONFIG:-$ROOT/infra/config/local.yaml}}
export CERTSTREAM_BACKFILL_TERMINAL_LOG_PATH=${CERTSTREAM_BACKFILL_TERMINAL_LOG_PATH:-$RUN/backfill.log}
if [ -z "${CERTSTREAM_CT_LOG_LOG_LIST_URL:-}" ] && [ -f "$RUN/ct-standin.pid" ] &&
  kill -0 "$(cat "$RUN/ct-standin.pid")" 2>/dev/null; then
  export CERTSTREAM_CT_LOG_LOG_LIST_URL=http://127.0.0.1:16900/log_list.json
fi
exec node services/backfill/src/main.ts "$@"
