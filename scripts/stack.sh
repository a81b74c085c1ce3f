#!/usr/bin/env bash
# The local infrastructure as plain processes (no Docker): Kafka 4.3.1 (KRaft, single node by default, or a
# three-node cluster), Apicurio Registry 3.3.3 (Confluent-compatible API), Prometheus and an S3-compatible
# object store (moto's server mode, from PyPI into .venv; in memory: its buckets are gone after down), all on
# 127.0.0.1.
#
#   scripts/stack.sh up       start what is not running, wait until each answers (idempotent: a healthy
#                             running stack is reused; a Kafka node that died is started again)
#   scripts/stack.sh up kafka-2   only those components (here: one node of the cluster)
#   scripts/stack.sh down     stop everything it started; verifies that no process is left
#   scripts/stack.sh status   one line per component (per Kafka node); exit 0 only when all are healthy
#   scripts/stack.sh env      `export KAFKA_BOOTSTRAP_SERVERS=... SCHEMA_REGISTRY_URL=... PROMETHEUS_URL=...
#                             S3_ENDPOINT_URL=...`
#                             (+ CERTSTREAM_KAFKA_BROKERS / CERTSTREAM_KAFKA_SCHEMA_REGISTRY_URL for services)
#   scripts/stack.sh logs [kafka|kafka-N|registry|prometheus|s3] [-f]
#   scripts/stack.sh reset    down, then delete the stack's data (topics, schemas, metrics)
#
# Ports (environment, defaults): STACK_KAFKA_PORT=19092 STACK_KAFKA_CONTROLLER_PORT=19093
# STACK_REGISTRY_PORT=18081 STACK_REGISTRY_MGMT_PORT=19001 STACK_PROMETHEUS_PORT=19090 STACK_S3_PORT=19080.
# State (pids, logs, data) lives in STACK_DIR (default .cache/stack). Data survives down/up: Kafka's log dir
# and the registry's H2 database are kept together, so ids in stored records keep matching their schemas.
#
# STACK_COMPONENTS="kafka registry prometheus s3" (default) selects what up/down/status/env/reset act on, e.g.
# STACK_COMPONENTS=kafka for a private Kafka alone in its own STACK_DIR with its own ports.
# STACK_KAFKA_NODES=3 (default 1) runs Kafka as a three-node KRaft cluster instead of the single node: three
# combined controller+broker processes, node i (1..3) with broker port STACK_KAFKA_PORT+2(i-1) and controller
# port STACK_KAFKA_CONTROLLER_PORT+2(i-1) (defaults 19092/19093, 19094/19095, 19096/19097: clear of the
# registry's and Prometheus's ports, and of the +100 port blocks scripts/test.sh moves to), data in
# STACK_DIR/kafka-i, pid and log STACK_DIR/kafka-i.{pid,log}, settings infra/kafka/cluster.properties (RF 3,
# min ISR 2), heap STACK_KAFKA_HEAP (384m per node). `env` then lists the three brokers comma-separated.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/node_modules/.bin:$PATH"

KAFKA_PORT=${STACK_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${STACK_KAFKA_CONTROLLER_PORT:-19093}
REGISTRY_PORT=${STACK_REGISTRY_PORT:-18081}
REGISTRY_MGMT_PORT=${STACK_REGISTRY_MGMT_PORT:-19001}
PROMETHEUS_PORT=${STACK_PROMETHEUS_PORT:-19090}
S3_PORT=${STACK_S3_PORT:-19080}
STACK_DIR=${STACK_DIR:-$ROOT/.cache/stack}
case "$STACK_DIR" in /*) ;; *) STACK_DIR=$ROOT/$STACK_DIR ;; esac
KAFKA_JAVA=${KAFKA_JAVA:-java}
APICURIO_JAVA_HOME=${APICURIO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
PROMETHEUS_CONFIG=${STACK_PROMETHEUS_CONFIG:-$ROOT/infra/prometheus/prometheus.yml}
KAFKA_NODES=${STACK_KAFKA_NODES:-1}
REGISTRY_HEAP=${STACK_REGISTRY_HEAP:-384m}
UP_TIMEOUT=${STACK_UP_TIMEOUT:-120}

log() { printf '[stack] %s\n' "$*" >&2; }
die() {
  printf '[stack] ERROR: %s\n' "$*" >&2
  exit 1
}

case "$KAFKA_NODES" in
1) KAFKA_HEAP=${STACK_KAFKA_HEAP:-512m} ;;
3) KAFKA_HEAP=${STACK_KAFKA_HEAP:-384m} ;;
*) die "STACK_KAFKA_NODES must be 1 or 3, got '$KAFKA_NODES'" ;;
esac

# Kafka node i (1..KAFKA_NODES): broker and controller ports two apart per node.
node_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
node_controller_port() { echo $((KAFKA_CONTROLLER_PORT + 2 * ($1 - 1))); }

BOOTSTRAP=127.0.0.1:$KAFKA_PORT
KAFKA_NODE_NAMES=(kafka)
if [ "$KAFKA_NODES" -gt 1 ]; then
  BOOTSTRAP="" KAFKA_NODE_NAMES=() QUORUM_VOTERS=""
  for i in $(seq 1 "$KAFKA_NODES"); do
    BOOTSTRAP+="${BOOTSTRAP:+,}127.0.0.1:$(node_port "$i")"
    QUORUM_VOTERS+="${QUORUM_VOTERS:+,}$i@127.0.0.1:$(node_controller_port "$i")"
    KAFKA_NODE_NAMES+=("kafka-$i")
  done
  # shellcheck disable=SC2046
  [ "$(printf '%s\n' $(for i in $(seq 1 "$KAFKA_NODES"); do node_port "$i" && node_controller_port "$i"; done) |
    sort -u | wc -l)" -eq $((2 * KAFKA_NODES)) ] ||
    die "STACK_KAFKA_PORT=$KAFKA_PORT and STACK_KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT give overlapping node ports"
fi
REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7
PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT
S3_URL=http://127.0.0.1:$S3_PORT

# The selected components, in start order; Kafka expands to its node(s): kafka, or kafka-1 kafka-2 kafka-3.
SELECTED=()
for name in kafka registry prometheus s3; do
  case " $(echo "${STACK_COMPONENTS:-kafka registry prometheus s3}" | tr ',' ' ') " in *" $name "*) SELECTED+=("$name") ;; esac
done
for name in $(echo "${STACK_COMPONENTS:-}" | tr ',' ' '); do
  case "$name" in kafka | registry | prometheus | s3) ;; *) die "STACK_COMPONENTS: unknown component '$name' (kafka registry prometheus s3)" ;; esac
done
[ ${#SELECTED[@]} -gt 0 ] || die "STACK_COMPONENTS selects nothing (kafka registry prometheus s3)"
# has WORD LIST...: WORD is one of LIST.
has() {
  local x=$1
  shift
  case " $* " in *" $x "*) return 0 ;; *) return 1 ;; esac
}
selected() { has "$1" "${SELECTED[@]}"; }
COMPONENTS=()
for name in "${SELECTED[@]}"; do
  if [ "$name" = kafka ]; then COMPONENTS+=("${KAFKA_NODE_NAMES[@]}"); else COMPONENTS+=("$name"); fi
done

pidfile() { echo "$STACK_DIR/$1.pid"; }
logfile() { echo "$STACK_DIR/$1.log"; }

# The pid recorded for a component, if that process is still alive.
running_pid() {
  local f
  f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  local pid
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A recycled pid (after a reboot or a crash) belongs to some other process: ours name STACK_DIR.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STACK_DIR/" || return 1
  echo "$pid"
}

# The pid of a component up has just spawned, once its process runs: right after the fork its command line is
# still this script's (setsid has not exec'd yet), which running_pid takes for someone else's; a process that
# has exited fails at once.
spawned_pid() {
  local pid tries=50
  pid=$(cat "$(pidfile "$1")" 2>/dev/null) || return 1
  while ! running_pid "$1"; do
    kill -0 "$pid" 2>/dev/null && [ $((tries -= 1)) -gt 0 ] || return 1
    sleep 0.1
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The node id of a Kafka component (kafka = 1, kafka-N = N) and its own broker address.
node_id() { case "$1" in kafka-*) echo "${1#kafka-}" ;; *) echo 1 ;; esac; }
node_bootstrap() { echo "127.0.0.1:$(node_port "$(node_id "$1")")"; }

healthy() {
  case "$1" in
  kafka | kafka-*) node --no-warnings "$ROOT/scripts/kafka-ready.mjs" "$(node_bootstrap "$1")" 3 >/dev/null 2>&1 ;;
  registry) curl -fs -m 3 -o /dev/null "$REGISTRY_URL/subjects" ;;
  prometheus) curl -fs -m 3 -o /dev/null "$PROMETHEUS_URL/-/ready" ;;
  s3) curl -fs -m 3 -o /dev/null "$S3_URL/" ;;
  esac
}

component_ports() {
  case "$1" in
  kafka | kafka-*) echo "$(node_port "$(node_id "$1")") $(node_controller_port "$(node_id "$1")")" ;;
  registry) echo "$REGISTRY_PORT $REGISTRY_MGMT_PORT" ;;
  prometheus) echo "$PROMETHEUS_PORT" ;;
  s3) echo "$S3_PORT" ;;
  esac
}

# Starts a command in its own session (it outlives the caller: vitest, a CI step) with output to the log.
spawn() {
  local name=$1
  shift
  local lf
  lf=$(logfile "$name")
  printf '\n===== %s start %s =====\n' "$name" "$(date -u +%FT%TZ)" >>"$lf"
  # 9>&-: the daemon must not inherit the flock held by `up`.
  setsid "$@" >>"$lf" 2>&1 </dev/null 9>&- &
  echo $! >"$(pidfile "$name")"
}

check_artifacts() {
  if [ ! -x node_modules/.bin/node ]; then die "node_modules missing: run scripts/setup.sh first"; fi
  if { selected kafka && [ ! -f .cache/kafka/libs/kafka_2.13-4.3.1.jar ]; } ||
    { selected registry && [ ! -f .cache/apicurio/app/quarkus-run.jar ]; } ||
    { selected prometheus && [ ! -x .cache/prometheus/root/usr/bin/prometheus ]; } ||
    { selected s3 && ! compgen -G ".venv/lib/python3*/site-packages/moto/server.py" >/dev/null; }; then
    log "fetching stack artifacts (scripts/setup.sh --stack-only)"
    bash scripts/setup.sh --stack-only
  fi
  if selected registry; then
    [ -x "$APICURIO_JAVA_HOME/bin/java" ] ||
      die "Apicurio needs Java 21+: no $APICURIO_JAVA_HOME/bin/java (set APICURIO_JAVA_HOME to a Java 21+ JDK)"
  fi
}

# A new KRaft cluster id: 16 random bytes, base64url without padding, never starting with '-' (kafka-storage
# would read it as an option and refuse to format: one id in 64; Kafka's own Uuid.randomUuid skips those too).
new_cluster_id() {
  local id
  while :; do
    id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [ "${id#-}" = "$id" ] && break
  done
  echo "$id"
}

# The cluster id the nodes share: the one an already formatted node has, else a new one.
cluster_id() {
  local f
  for f in "$STACK_DIR"/kafka-*/data/meta.properties; do
    [ -f "$f" ] && sed -n 's/^cluster\.id=//p' "$f" && return
  done
  new_cluster_id
}

# Starts Kafka component $1: `kafka` (the single node: dynamic quorum of itself, formatted --standalone) or
# `kafka-N` (node N of the cluster: static quorum of all nodes, infra/kafka/cluster.properties on top).
start_kafka() {
  local name=${1:-kafka}
  local n port cport
  n=$(node_id "$name")
  port=$(node_port "$n")
  cport=$(node_controller_port "$n")
  local dir=$STACK_DIR/$name
  mkdir -p "$dir/data"
  local props=$dir/server.properties
  if [ "$name" = kafka ]; then
    {
      cat "$ROOT/infra/kafka/server.properties"
      echo "controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT"
      echo "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
      echo "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
      echo "log.dirs=$dir/data"
    } >"$props"
  else
    local overrides
    overrides=$(sed -n 's/^\([a-z0-9.]*\)=.*/^\1=/p' "$ROOT/infra/kafka/cluster.properties")
    {
      # The single-node file without the keys the cluster file sets (one value per key in the result).
      grep -v -e '^node\.id=' -f <(echo "$overrides") "$ROOT/infra/kafka/server.properties"
      cat "$ROOT/infra/kafka/cluster.properties"
      echo "node.id=$n"
      echo "controller.quorum.voters=$QUORUM_VOTERS"
      echo "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
      echo "advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
      echo "log.dirs=$dir/data"
    } >"$props"
  fi
  local cp="$ROOT/.cache/kafka/libs/*"
  local opts=(-Xms128m "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:TieredStopAtLevel=1
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$ROOT/infra/kafka/log4j2.properties")
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cid quorum=(--standalone)
    if [ "$name" = kafka ]; then
      cid=$(new_cluster_id)
      log "formatting Kafka storage (cluster $cid)"
    else
      cid=$(cluster_id)
      quorum=() # controller.quorum.voters names the quorum
      log "formatting Kafka storage of node $n (cluster $cid)"
    fi
    "$KAFKA_JAVA" "${opts[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$cid" -c "$props" \
      "${quorum[@]}" --ignore-formatted >>"$(logfile "$name")" 2>&1 ||
      die "kafka storage format failed: see $(logfile "$name")"
  fi
  spawn "$name" "$KAFKA_JAVA" "${opts[@]}" -cp "$cp" kafka.Kafka "$props"
}

start_registry() {
  local dir=$STACK_DIR/registry
  mkdir -p "$dir"
  # H2 in a file (not the default in-memory db) so schemas survive a restart alongside Kafka's data.
  spawn registry "$APICURIO_JAVA_HOME/bin/java" -Xms64m "-Xmx$REGISTRY_HEAP" -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host=127.0.0.1 "-Dquarkus.http.port=$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 "-Dquarkus.management.port=$REGISTRY_MGMT_PORT" \
    "-Dapicurio.datasource.url=jdbc:h2:file:$dir/db" \
    -Dquarkus.http.access-log.enabled=false \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -jar "$ROOT/.cache/apicurio/app/quarkus-run.jar"
}

start_prometheus() {
  local dir=$STACK_DIR/prometheus
  mkdir -p "$dir/data"
  spawn prometheus "$ROOT/.cache/prometheus/root/usr/bin/prometheus" "--config.file=$PROMETHEUS_CONFIG" \
    "--storage.tsdb.path=$dir/data" "--web.listen-address=127.0.0.1:$PROMETHEUS_PORT" \
    --storage.tsdb.retention.time=2h --web.enable-lifecycle
}

# moto's server (S3 API, If-None-Match honoured; in memory). The state dir is on its command line so that
# running_pid and down recognise it; moto itself keeps nothing on disk.
start_s3() {
  mkdir -p "$STACK_DIR/s3"
  spawn s3 "$ROOT/.venv/bin/python" -c 'import sys; from moto.server import main; main(sys.argv[2:])' \
    "$STACK_DIR/s3" -H 127.0.0.1 -p "$S3_PORT"
}

wait_ready() {
  local name=$1 pid=$2 deadline=$((SECONDS + UP_TIMEOUT))
  case "$name" in kafka | kafka-*)
    node --no-warnings "$ROOT/scripts/kafka-ready.mjs" "$(node_bootstrap "$name")" "$UP_TIMEOUT" "$pid" >/dev/null ||
      { tail -n 30 "$(logfile "$name")" >&2; die "$name did not become ready (log: $(logfile "$name"))"; }
    return
    ;;
  esac
  until healthy "$name"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$(logfile "$name")" >&2
      die "$name exited during start-up (log: $(logfile "$name"))"
    fi
    [ $SECONDS -lt $deadline ] || die "$name not ready after $UP_TIMEOUT s (log: $(logfile "$name"))"
    sleep 0.5
  done
}

# Kafka components of the other layout (single node vs cluster) still running from this STACK_DIR.
other_kafka_running() {
  local name
  for name in kafka kafka-1 kafka-2 kafka-3; do
    case " ${KAFKA_NODE_NAMES[*]} " in *" $name "*) continue ;; esac
    running_pid "$name" >/dev/null && echo "$name"
  done
  return 0
}

cmd_up() {
  if [ $# -gt 0 ]; then
    local want only=()
    for want in "$@"; do
      has "$want" "${COMPONENTS[@]}" || die "up: no component '$want' in this stack (${COMPONENTS[*]})"
      only+=("$want")
    done
    COMPONENTS=("${only[@]}")
  fi
  check_artifacts
  local t0=$SECONDS started=() name pid other
  if selected kafka; then
    other=$(other_kafka_running | xargs)
    [ -z "$other" ] || die "Kafka of the other layout is running in $STACK_DIR ($other): run down first"
  fi
  for name in "${COMPONENTS[@]}"; do
    if pid=$(running_pid "$name"); then
      log "$name already running (pid $pid)"
      continue
    fi
    for port in $(component_ports "$name"); do
      if port_open "$port"; then
        die "port $port ($name) is in use by a process this stack did not start; stop it or set STACK_*_PORT"
      fi
    done
    case "$name" in kafka-*) start_kafka "$name" ;; *) "start_$name" ;; esac
    started+=("$name")
  done
  for name in "${COMPONENTS[@]}"; do
    pid=$(spawned_pid "$name") || die "$name exited right after start (log: $(logfile "$name"))"
    wait_ready "$name" "$pid"
  done
  # A reused Prometheus reloads its config (started with --web.enable-lifecycle), so scrape targets and alert
  # rules edited since it started take effect.
  case " ${started[*]} " in
  *" prometheus "*) ;;
  *) if has prometheus "${COMPONENTS[@]}"; then
    curl -fs -m 5 -X POST -o /dev/null "$PROMETHEUS_URL/-/reload" || log "prometheus config reload failed (kept the old one)"
  fi ;;
  esac
  if [ ${#started[@]} -gt 0 ]; then
    log "started ${started[*]} in $((SECONDS - t0)) s"
  else
    log "stack already up"
  fi
  local where=""
  ! selected kafka || where+=" · kafka $BOOTSTRAP"
  ! selected registry || where+=" · registry $REGISTRY_URL"
  ! selected prometheus || where+=" · prometheus $PROMETHEUS_URL"
  ! selected s3 || where+=" · s3 $S3_URL"
  log "${where# · }"
}

# Processes whose command line names the state dir of a selected component: what `down` must leave none of.
stack_processes() {
  local pid name cmdline
  for pid in $(pgrep -f -- "$STACK_DIR/" || true); do
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in java | prometheus | python*) ;; *) continue ;; esac
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
    for name in "${SELECTED[@]}"; do
      # kafka matches the single node's dir and the cluster nodes' (kafka-N) alike.
      case "$cmdline" in *"$STACK_DIR/$name"*)
        echo "$pid"
        break
        ;;
      esac
    done
  done
}

# What down/reset act on: the selected components, and for Kafka every node layout found in STACK_DIR
# (a cluster is stopped even when STACK_KAFKA_NODES is not set for `down`).
down_components() {
  local name
  for name in "${COMPONENTS[@]}"; do echo "$name"; done
  if selected kafka; then
    for name in kafka kafka-1 kafka-2 kafka-3; do
      case " ${COMPONENTS[*]} " in *" $name "*) continue ;; esac
      [ -f "$(pidfile "$name")" ] && echo "$name"
    done
  fi
  return 0
}

cmd_down() {
  local name pid pids=()
  local components
  mapfile -t components < <(down_components)
  for name in "${components[@]}"; do
    if pid=$(running_pid "$name"); then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  # Kafka's controlled shutdown takes a few seconds; give everyone 30 s, then SIGKILL.
  local deadline=$((SECONDS + 30))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ignored SIGTERM for 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for name in "${components[@]}"; do rm -f "$(pidfile "$name")"; done
  local left
  left=$(stack_processes)
  if [ -n "$left" ]; then
    log "killing leftover stack processes: $left"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    sleep 0.5
    left=$(stack_processes)
    [ -z "$left" ] || die "processes still running after down: $left"
  fi
  log "stack down, no process left"
}

cmd_status() {
  local name pid ok=0
  for name in "${COMPONENTS[@]}"; do
    if pid=$(running_pid "$name"); then
      if healthy "$name"; then
        echo "$name: up (pid $pid)"
      else
        echo "$name: running but not answering (pid $pid)"
        ok=3
      fi
    else
      echo "$name: down"
      ok=3
    fi
  done
  return $ok
}

cmd_env() {
  ! selected kafka || echo "export KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
  ! selected registry || echo "export SCHEMA_REGISTRY_URL=$REGISTRY_URL"
  ! selected prometheus || echo "export PROMETHEUS_URL=$PROMETHEUS_URL"
  ! selected s3 || echo "export S3_ENDPOINT_URL=$S3_URL"
  # The same addresses under the services' own config keys (kafka.brokers, kafka.schema_registry_url), so a
  # service started from this shell, or spawned by a test, talks to this stack.
  ! selected kafka || echo "export CERTSTREAM_KAFKA_BROKERS=$BOOTSTRAP"
  ! selected registry || echo "export CERTSTREAM_KAFKA_SCHEMA_REGISTRY_URL=$REGISTRY_URL"
}

cmd_logs() {
  local which=${1:-all} follow=${2:-}
  local files=()
  if [ "$which" = all ] || [ "$which" = -f ]; then
    [ "$which" = -f ] && follow=-f
    for name in "${COMPONENTS[@]}"; do files+=("$(logfile "$name")"); done
  elif [ "$which" = kafka ]; then
    for name in "${KAFKA_NODE_NAMES[@]}"; do files+=("$(logfile "$name")"); done
  else
    files=("$(logfile "$which")")
  fi
  if [ "$follow" = -f ]; then tail -n 50 -F "${files[@]}"; else tail -n 50 "${files[@]}"; fi
}

cmd_reset() {
  cmd_down
  local name
  for name in "${SELECTED[@]}"; do
    rm -rf "${STACK_DIR:?}/$name"
    [ "$name" != kafka ] || rm -rf "$STACK_DIR"/kafka-[0-9]
  done
  log "stack data deleted"
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  mkdir -p "$STACK_DIR"
  case "$cmd" in
  up | down | reset)
    # One writer at a time: parallel test runs may all call `up`.
    exec 9>"$STACK_DIR/lock"
    flock 9
    if [ "$cmd" = up ]; then cmd_up "$@"; else "cmd_$cmd"; fi
    ;;
  status) cmd_status ;;
  env) cmd_env ;;
  logs) cmd_logs "$@" ;;
  *)
    sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
  esac
}

main "$@"
