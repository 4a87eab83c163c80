# syntax=docker/dockerfile:1
# One image for both sample apps; the command chooses the app:
#   docker run IMAGE                                  -> producer (HTTP on PRODUCER_PORT)
#   docker run IMAGE dist/apps/worker/src/main.js     -> worker
# Configuration is the apps' environment (README, docs/kubernetes.md).

ARG NODE_VERSION=22

# --- build: every dependency, compile the library and the apps, then drop the dev dependencies
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/nestjs-zeromq/package.json libs/nestjs-zeromq/
# zeromq ships prebuilt binaries in its npm package and loads them without its install script;
# --ignore-scripts keeps dev-only native builds (jest's file watcher) from needing a compiler.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json ./
COPY libs/nestjs-zeromq/tsconfig.lib.json libs/nestjs-zeromq/
COPY libs/nestjs-zeromq/src libs/nestjs-zeromq/src
COPY apps apps
# Only the apps (and what they reference: the library, apps/common), not the tests or scripts.
# --omit=optional too: the bench's Redis and NATS clients are dev dependencies, but also optional
# peers of @nestjs/microservices, which --omit=dev alone keeps ("devOptional").
RUN npx tsc -b apps/worker/tsconfig.app.json apps/producer/tsconfig.app.json \
 && npm prune --omit=dev --omit=optional --no-audit --no-fund

# --- runtime: production dependencies and compiled JavaScript only, run as the unprivileged "node" user
FROM node:${NODE_VERSION}-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the app reads them and never writes (readOnlyRootFilesystem works).
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/libs/nestjs-zeromq/package.json libs/nestjs-zeromq/
COPY --from=build /app/libs/nestjs-zeromq/dist libs/nestjs-zeromq/dist
COPY --from=build /app/dist/apps dist/apps
USER node
# 3000: producer HTTP (PRODUCER_PORT); 5557: worker orders socket (WORKER_ENDPOINTS);
# 8080: worker HTTP health (WORKER_HTTP_PORT=8080: a worker serves no HTTP without it).
EXPOSE 3000 5557 8080
# GET /health on HEALTHCHECK_PORT; else a worker's WORKER_HTTP_PORT (none set: unhealthy, saying
# so); else PRODUCER_PORT (3000). The app's host is asked, loopback for 0.0.0.0 (healthcheck.ts).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "dist/apps/common/src/healthcheck.js"]
# Node runs as PID 1 in exec form and receives SIGTERM itself: the apps drain and exit 0.
ENTRYPOINT ["node"]
CMD ["dist/apps/producer/src/main.js"]
