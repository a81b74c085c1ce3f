#!/usr/bin/env bash
# `npm run up`: the whole system on this machine, as processes. Installs what is missing (scripts/setup.sh),
# starts Kafka, the schema registry and Prometheus (scripts/stack.sh), then the ingester, the streamer and the
# delta sink with infra/config/local.yaml. When the real CT log list is not reachable (no internet), it starts
# the bundled CT log stand-ins (test/ct-standin: real CT entries re-served as growing logs) and points the
# ingester at their log list. Prints where to connect. `npm run down` stops everything.
# Env: UP_CONFIG (config file), UP_STANDIN=1 (force the stand-ins), UP_GROW_RATE (entries/s per stand-in log).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=$ROOT/.cache/run
CONFIG=${UP_CONFIG:-$ROOT/infra/config/local.yaml}
mkdir -p "$RUN"

say() { printf '[up] %s\n' "$*" >&2; }
die() {
  printf '[up] ERROR: %s\n' "$*" >&2
  exit 1
}

bash scripts/setup.sh
export PATH="$ROOT/node_modules/.bin:$PATH"
bash scripts/stack.sh up
eval "$(bash scripts/stack.sh env)"
export CERTSTREAM_CONFIG=$CONFIG
export CERTSTREAM_KAFKA_BROKERS=$KAFKA_BOOTSTRAP_SERVERS
export CERTSTREAM_KAFKA_SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL

# Node's compile cache: a service whose every module is in it never loads the TypeScript stripper (amaro, 15-20 MB
# of RSS for the process's lifetime) and starts faster. Keyed by file content and the V8 flags: a service is
# warmed with its own NODE_OPTIONS (services/streamer/src/main.ts, Memory).
export NODE_COMPILE_CACHE=${NODE_COMPILE_CACHE-$ROOT/.cache/node-compile}

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# start NAME CMD...: runs CMD in the background unless NAME already runs; output appended to .cache/run/NAME.log
# after a marker line, so the log of a run that failed is still there after the restart.
start() {
  local name=$1
  shift
  if alive "$name"; then
    say "$name already running (pid $(cat "$RUN/$name.pid"))"
    return 0
  fi
  printf '===== %s start of %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" "$*" >>"$RUN/$name.log"
  setsid "$@" >>"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  say "$name started (pid $!, log .cache/run/$name.log)"
}

wait_http() {
  local name=$1 url=$2 i
  for i in $(seq 1 120); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    alive "$name" || die "$name exited: see .cache/run/$name.log ($(tail -n 3 "$RUN/$name.log" | tr '\n' ' '))"
    sleep 1
  done
  die "$name did not answer $url within 120 s: see .cache/run/$name.log"
}

# Only probe when the name resolves: a machine without internet sends nothing out.
if [ "${UP_STANDIN:-0}" != 1 ] && getent hosts www.gstatic.com >/dev/null 2>&1 &&
  curl -fsS -m 5 -o /dev/null https://www.gstatic.com/ct/log_list/v3/log_list.json 2>/dev/null; then
  say "the real CT log list is reachable: watching the real CT logs"
  unset CERTSTREAM_CT_LOG_LOG_LIST_URL
  rm -f "$RUN/ct-logs.json"
else
  say "no CT log reachable: starting the bundled CT log stand-ins (2 RFC 6962 + 2 static-ct-api logs, growing)"
  start ct-standin node test/ct-standin/main.ts --rfc6962 --static --logs 2 --port 16900 \
    --grow-rate "${UP_GROW_RATE:-20}" --mode distinct
  wait_http ct-standin http://127.0.0.1:16900/log_list.json
  export CERTSTREAM_CT_LOG_LOG_LIST_URL=http://127.0.0.1:16900/log_list.json
fi

start ingester node services/ingester/src/main.ts
# The streamer's memory settings (why: services/streamer/src/main.ts; the same in deploy/k8s/streamer.yaml).
STREAMER_NODE_OPTIONS=${STREAMER_NODE_OPTIONS-"--max-semi-space-size=1"}
STREAMER_MALLOC_ARENA_MAX=${STREAMER_MALLOC_ARENA_MAX-2}
STREAMER_MALLOC_MMAP_THRESHOLD=${STREAMER_MALLOC_MMAP_THRESHOLD-65536}
# Warm: --validate-config loads every module of the streamer and exits (a second of CPU; nothing is started).
NODE_OPTIONS="$STREAMER_NODE_OPTIONS" node services/streamer/src/main.ts --validate-config >/dev/null ||
  die "the streamer refuses the config: node services/streamer/src/main.ts --validate-config says why"
# The streamer asks the ingester for the dedup stage's counters: /api/stats and the live page show the share.
start streamer env NODE_OPTIONS="$STREAMER_NODE_OPTIONS" MALLOC_ARENA_MAX="$STREAMER_MALLOC_ARENA_MAX" \
  MALLOC_MMAP_THRESHOLD_="$STREAMER_MALLOC_MMAP_THRESHOLD" \
  CERTSTREAM_STREAMER_DEDUP_STATS_URLS="${CERTSTREAM_STREAMER_DEDUP_STATS_URLS:-http://127.0.0.1:8081/api/logs}" \
  node services/streamer/src/main.ts
start delta-sink node services/delta-sink/src/main.ts
start archive-search node services/archive-search/src/main.ts
wait_http ingester http://127.0.0.1:8081/health
wait_http streamer http://127.0.0.1:8080/health
wait_http delta-sink http://127.0.0.1:8082/health
wait_http archive-search http://127.0.0.1:8084/health

# The dedup share so far: after a restart of the CT logs (or their stand-ins) the stream is quiet for a while
# because certificates seen before are dropped; this line, /api/stats and the live page say so.
DEDUP=$(curl -fsS -m 3 http://127.0.0.1:8081/api/logs 2>/dev/null | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const d = JSON.parse(s || "{}").dedup;
    if (!d) return console.log("off (dedup.enabled: false)");
    const seen = d.forwarded + d.duplicates;
    console.log(seen === 0 ? "no entry seen yet" : `${d.duplicates} of ${seen} entries so far were already seen (${Math.round((100 * d.duplicates) / seen)} %) and not streamed`);
  });' 2>/dev/null || echo "unknown (ingester API not answering)")

cat <<INFO

certstream is up.
  WebSocket   ws://127.0.0.1:8080/full-stream   ws://127.0.0.1:8080/   ws://127.0.0.1:8080/domains-only
  SSE         http://127.0.0.1:8080/sse?stream=lite
  Live page   http://127.0.0.1:8080/
  JSON        http://127.0.0.1:8080/latest.json   http://127.0.0.1:8080/example.json   http://127.0.0.1:8080/api/stats
  CT logs     http://127.0.0.1:8081/api/logs  (ingester)
  Search      http://127.0.0.1:8084/api/search?domain=example.com   (CLI: node services/archive-search/src/cli.ts example.com)
  Metrics     http://127.0.0.1:8080/metrics  http://127.0.0.1:8081/metrics  http://127.0.0.1:8082/metrics  http://127.0.0.1:8084/metrics
  Prometheus  $PROMETHEUS_URL
  Kafka       $KAFKA_BOOTSTRAP_SERVERS   registry $SCHEMA_REGISTRY_URL
  Dedup       $DEDUP
              (only first sightings are streamed: after a restart of the CT logs or stand-ins, the stream is quiet
              while they re-serve what was seen; /api/stats "dedup" and the live page show the share)
  Delta table .cache/run/delta/certstream
  Backfill    npm run backfill -- --dry-run
  Logs        .cache/run/*.log (appended; a "=====" line marks each start), .cache/stack/*.log
Try: node -e 'new (require("ws"))("ws://127.0.0.1:8080/full-stream").on("message", m => console.log(String(m).slice(0, 200)))'
Stop everything: npm run down
INFO
