#!/usr/bin/env bash
# `npm run down`: stops what `npm run up` started (services, CT log stand-ins, then the stack) and checks that
# no process is left.
set -uo pipefail
cd "$(dirname "$0")/.."
RUN=$PWD/.cache/run

for name in streamer ingester delta-sink archive-search ct-standin; do
  f=$RUN/$name.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { echo "[down] $name did not stop in 15 s: killing" >&2; kill -KILL -- "-$pid" 2>/dev/null; }
    echo "[down] $name stopped" >&2
  fi
  rm -f "$f"
done
bash scripts/stack.sh down
