# syntax=docker/dockerfile:1
# One image for the four services; SERVICE (build arg, or env at run time) picks services/<SERVICE>/src/main.ts.
#   docker build -t certstream .                      (SERVICE defaults to streamer)
#   docker run --rm -e SERVICE=ingester certstream --config /etc/certstream/config.yaml
# TypeScript runs as is: Node 24 strips types natively, there is no build output.
# Where no image registry is reachable, node:24-slim is the local stand-in of infra/images/ (README, Containers).

# Only the package manifests, at their paths, so that the dependency layer below is rebuilt only when one of
# them changes (not on every source edit).
FROM node:24-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests && cp package-lock.json /manifests/ \
 && find . -name package.json -not -path '*/node_modules/*' \
      -exec sh -c 'mkdir -p "/manifests/$(dirname "$1")" && cp "$1" "/manifests/$1"' _ {} \;

FROM node:24-slim AS deps
WORKDIR /app
ENV NODE_ENV=production npm_config_fund=false npm_config_audit=false
# Workspaces are linked from libs/ and services/: their manifests are enough for npm ci.
COPY --from=manifests /manifests/ ./
# --omit=dev also skips the `node` devDependency: the image's own Node 24 runs the services.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim AS runtime
ARG SERVICE=streamer
ENV NODE_ENV=production SERVICE=${SERVICE}
WORKDIR /app
# /data: the delta sink's table lives in a volume mounted here; a new volume takes this directory's owner.
RUN mkdir -p /data /app/.cache/node-compile && chown node:node /data /app/.cache/node-compile
COPY --from=deps /app /app
COPY --chown=node:node . .
USER node
# Node's compile cache, warmed here: a service whose every module is in it never loads the TypeScript stripper
# (15-20 MB of RSS for the process's lifetime) and starts faster. --validate-config loads a service's modules and
# exits. Entries are keyed by the V8 flags too: the streamer is warmed with the NODE_OPTIONS it runs with
# (docker-compose.yml, deploy/k8s/streamer.yaml); a process started with other flags strips types as before.
ENV NODE_COMPILE_CACHE=/app/.cache/node-compile
RUN for s in ingester delta-sink backfill archive-search; do node "services/$s/src/main.ts" --validate-config >/dev/null || exit 1; done \
 && NODE_OPTIONS=--max-semi-space-size=1 node services/streamer/src/main.ts --validate-config >/dev/null
# streamer 8080, ingester 8081, delta-sink 8082, backfill 8083, archive-search 8084 (`port`, `<service>.port`).
EXPOSE 8080 8081 8082 8083 8084
# exec: node is PID 1's only child-free process and receives SIGTERM for a graceful shutdown.
ENTRYPOINT ["sh", "-c", "exec node \"services/${SERVICE}/src/main.ts\" \"$@\"", "--"]
CMD []
