# syntax=docker/dockerfile:1
# SQL Studio Server: multi-stage image.
#   build:   all dependencies, TypeScript → dist/ (tsconfig.build.json)
#   runtime: node:20 slim (Debian bookworm), production dependencies only, non-root.
# Layout in the image (/app):
#   dist/src/main.js   entry          dist/gen/   generated code
#   migrations/        SQL files      openapi/openapi.json   the served contract
#   web/dist/          the web console (committed build output, like gen/)
# src/db/migrator.ts and src/server/docs.ts look for migrations/ and openapi/ both beside dist/
# (here) and inside it, so `node dist/src/main.js` finds them.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gen ./gen
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    ENVIRONMENT=production \
    PORT=8080 \
    WS_PORT=8081 \
    METRICS_PORT=9090
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && mkdir -p /app/data \
 && chown node:node /app/data
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY openapi/openapi.json ./openapi/openapi.json
# The web console, built and committed (npm run web:build); served at / by src/server/console.ts.
COPY web/dist ./web/dist

# The image's own user (uid 1000); /app is read-only to it except data/ (a file: database, only
# when ALLOW_FILE_DATABASE_IN_PRODUCTION=true).
USER node

# 8080 API (gRPC, gRPC-Web, Connect on HTTP/1.1 and h2c; /health, /ready, /v1/stream),
# 8081 WebSocket, 9090 Prometheus metrics (never public).
EXPOSE 8080 8081 9090

# Docker / Compose only; Cloud Run uses the probes in configs/cloudrun.service.yaml.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# node is PID 1 and handles SIGTERM itself (graceful shutdown within SHUTDOWN_TIMEOUT_MS).
CMD ["node", "dist/src/main.js"]
