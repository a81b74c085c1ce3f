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
RUN mkdir -p /data && chown node:node /data
COPY --from=deps /app /app
COPY --chown=node:node . .
USER node
# streamer 8080, ingester 8081, delta-sink 8082, backfill 8083 (config keys `port`, `<service>.port`).
EXPOSE 8080 8081 8082 8083
# exec: node is PID 1's only child-free process and receives SIGTERM for a graceful shutdown.
ENTRYPOINT ["sh", "-c", "exec node \"services/${SERVICE}/src/main.ts\" \"$@\"", "--"]
CMD []
