#!/usr/bin/env bash
# Installs everything this project needs on a fresh Debian 12 machine (root, no Docker, only package
# registries reachable). Idempotent: every step is skipped when its result is already there.
#
#   scripts/setup.sh               everything: npm ci, Debian packages, Python venv, Kafka/Apicurio/Prometheus
#   scripts/setup.sh --stack-only  only what scripts/stack.sh runs (Kafka jars, Apicurio, Prometheus, and the
#                                  Python venv: its S3 server is moto's, from requirements-test.txt)
#
# Where things go (all under .cache/, which is git-ignored):
#   .cache/kafka/libs/        Kafka 4.3.1 broker jars (Maven Central, infra/kafka/pom.xml)
#   .cache/apicurio/app/      Apicurio Registry 3.3.3 (Maven Central tar.gz, Quarkus fast-jar)
#   .cache/prometheus/root/   the Debian prometheus package, unpacked with dpkg -x (no service is started)
#   .venv/                    Python venv with requirements-test.txt (independent readers used by tests, and
#                             moto's S3 server that scripts/stack.sh runs)
#   podman, docker-compose    the container engine and its API socket (scripts/containers.sh install)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

KAFKA_VERSION=4.3.1
APICURIO_VERSION=3.3.3
APICURIO_JAVA_HOME=${APICURIO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

log() { printf '[setup] %s\n' "$*" >&2; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}

# apt-get update runs at most once per setup run, and only when something must be installed.
APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_node() {
  # The system node (20) only bootstraps: `npm ci` installs Node 24 (the `node` devDependency) into
  # node_modules/.bin, which every later step puts first on PATH.
  # npm ci deletes node_modules first, so it runs only when node_modules is missing or was installed by this
  # script from another package-lock.json (never under the feet of a developer who ran `npm install`).
  local stamp=node_modules/.setup-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -x node_modules/.bin/node ] && { [ ! -f "$stamp" ] || [ "$(cat "$stamp")" = "$want" ]; }; then
    log "node_modules present"
  else
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
  fi
  local v
  v=$(node_modules/.bin/node --version)
  case "$v" in v24.*) ;; *) die "node_modules/.bin/node is $v, expected v24.x" ;; esac
}

setup_kafka() {
  if [ -f .cache/kafka/libs/kafka_2.13-$KAFKA_VERSION.jar ] && [ -f .cache/kafka/libs/kafka-tools-$KAFKA_VERSION.jar ]; then
    log "Kafka $KAFKA_VERSION jars cached"
    return
  fi
  command -v mvn >/dev/null || apt_install maven
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central"
  rm -rf .cache/kafka/libs.tmp
  mkdir -p .cache/kafka
  # Maven's output (only colour codes when all is well) goes to a log, shown when it fails.
  mvn -B -q -f infra/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$ROOT/.cache/kafka/libs.tmp" >.cache/kafka/mvn.log 2>&1 ||
    { cat .cache/kafka/mvn.log >&2; die "fetching the Kafka jars failed"; }
  rm -rf .cache/kafka/libs
  mv .cache/kafka/libs.tmp .cache/kafka/libs
}

setup_apicurio() {
  if [ ! -x "$APICURIO_JAVA_HOME/bin/java" ]; then
    die "Apicurio Registry $APICURIO_VERSION needs Java 21+, expected at $APICURIO_JAVA_HOME (Temurin 25).
  Install a Java 21+ JDK and set APICURIO_JAVA_HOME to it."
  fi
  if [ -f .cache/apicurio/app/quarkus-run.jar ]; then
    log "Apicurio Registry $APICURIO_VERSION cached"
    return
  fi
  command -v mvn >/dev/null || apt_install maven
  local tar=$HOME/.m2/repository/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz
  if [ ! -f "$tar" ]; then
    log "fetching Apicurio Registry $APICURIO_VERSION (~160 MB) from Maven Central"
    mkdir -p .cache/apicurio
    mvn -B -q dependency:get -Dartifact=io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all \
      -Dtransitive=false >.cache/apicurio/mvn.log 2>&1 ||
      { cat .cache/apicurio/mvn.log >&2; die "fetching Apicurio Registry failed"; }
  fi
  log "unpacking Apicurio Registry $APICURIO_VERSION"
  rm -rf .cache/apicurio/app.tmp
  mkdir -p .cache/apicurio/app.tmp
  tar -xzf "$tar" -C .cache/apicurio/app.tmp
  [ -f .cache/apicurio/app.tmp/quarkus-run.jar ] || die "no quarkus-run.jar at the top of $tar"
  rm -rf .cache/apicurio/app
  mv .cache/apicurio/app.tmp .cache/apicurio/app
}

setup_prometheus() {
  if [ -x .cache/prometheus/root/usr/bin/prometheus ]; then
    log "Prometheus cached"
    return
  fi
  # Unpacked rather than installed: installing would start a system service on :9090 and pull UI packages.
  mkdir -p .cache/prometheus
  if ! ls .cache/prometheus/prometheus_*.deb >/dev/null 2>&1; then
    log "downloading the Debian prometheus package"
    if ! (cd .cache/prometheus && apt-get download prometheus >/dev/null 2>&1); then
      [ "$APT_UPDATED" -eq 0 ] && apt-get update -qq && APT_UPDATED=1
      (cd .cache/prometheus && apt-get download prometheus >/dev/null 2>&1) || die "apt-get download prometheus failed"
    fi
  fi
  rm -rf .cache/prometheus/root
  dpkg -x .cache/prometheus/prometheus_*.deb .cache/prometheus/root
}

setup_python() {
  command -v python3 >/dev/null || apt_install python3
  # Debian's python3 needs python3-venv for `-m venv`; pyenv/other pythons usually ship it.
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv 2>/dev/null; then
      rm -rf .venv
      apt_install python3-venv
      python3 -m venv .venv
    fi
  fi
  local stamp=.venv/.requirements-test.sha256
  local want
  want=$(sha256sum requirements-test.txt | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "Python venv up to date"
    return
  fi
  log "pip install -r requirements-test.txt"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-test.txt
  echo "$want" >"$stamp"
}

setup_debian() {
  # openssl: test certificates; chromium: the browser test of the web page; curl: readiness checks;
  # docker-compose (v1, no engine needed): validates docker-compose.yml in test/compose.test.ts.
  apt_install openssl curl ca-certificates chromium docker-compose
}

setup_containers() {
  # The container engine (podman + runc + docker-compose, podman's API socket, health-check runner): all in
  # scripts/containers.sh, which explains why each piece is there. The images are built on demand
  # (`scripts/containers.sh images`, cached), not here.
  bash scripts/containers.sh install
}

main() {
  local t0=$SECONDS
  if [ "${1:-}" = "--stack-only" ]; then
    setup_kafka
    setup_apicurio
    setup_prometheus
    setup_python
  else
    setup_node
    setup_debian
    setup_kafka
    setup_apicurio
    setup_prometheus
    setup_python
    setup_containers
  fi
  log "done in $((SECONDS - t0)) s"
}

main "$@"
