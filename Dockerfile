# syntax=docker/dockerfile:1
#
# One image recipe for all five services; pick one with the APP build argument:
#
#   docker build --build-arg APP=serving -t lambdarec-serving .
#   (APP = ingest | speed | batch | serving | storefront; docker-compose.yml builds all five)
#
# Stages:
#   manifests  package.json of the root and of every workspace + package-lock.json
#   deps       `npm ci` of the whole workspace (dev tools included), shared by every APP
#   build      sources + `nx run $APP:build` -> apps/$APP/dist/{main.js,migrations/}
#   prod-deps  `npm ci --omit=dev --workspace apps/$APP`: only what this app needs at run time
#   runtime    node:22-bookworm-slim, non-root, prod node_modules + dist
#   app-*      per-app port (ENV PORT, EXPOSE); the last stage picks app-$APP
#
# The bundle (tools/build-app.ts) inlines the workspace libraries but leaves every npm package
# external, so the runtime image needs node_modules; see docs/decisions/004-containers.md.

ARG NODE_IMAGE=node:22-bookworm-slim
# Required: ingest | speed | batch | serving | storefront. The placeholder default selects the `app-none`
# stage below, which fails with a clear message instead of an image-pull error.
ARG APP=none

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS base
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app

# ---------------------------------------------------------------------------------------------
# Only the manifests, so the dependency layers stay cached until a package.json or the lockfile
# changes. A new workspace (apps/x, libs/x) needs its line here: `npm ci` cannot install a
# workspace whose package.json is missing.
FROM base AS manifests
COPY package.json package-lock.json ./
COPY apps/ingest/package.json    apps/ingest/
COPY apps/speed/package.json     apps/speed/
COPY apps/batch/package.json     apps/batch/
COPY apps/serving/package.json   apps/serving/
COPY apps/storefront/package.json apps/storefront/
COPY libs/client/package.json    libs/client/
COPY libs/clients/package.json   libs/clients/
COPY libs/config/package.json    libs/config/
COPY libs/contracts/package.json libs/contracts/
COPY libs/domain/package.json    libs/domain/
COPY libs/http/package.json      libs/http/
COPY libs/lifecycle/package.json libs/lifecycle/
COPY libs/local-stack/package.json libs/local-stack/
COPY libs/metrics/package.json   libs/metrics/
COPY libs/stores/package.json    libs/stores/
COPY libs/testing/package.json   libs/testing/
COPY e2e/package.json            e2e/
COPY tools/eval/package.json     tools/eval/
COPY tools/load/package.json     tools/load/
COPY tools/simulate/package.json tools/simulate/
COPY bench/package.json          bench/

# ---------------------------------------------------------------------------------------------
# Everything needed to build (nx, esbuild, tsx, typescript ...). Install scripts are skipped:
# nothing here needs one (esbuild and nx take their native binaries from optional per-platform
# packages), and the lockfile was made with npm 11, which does not run them by default either.
FROM manifests AS deps
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts

# ---------------------------------------------------------------------------------------------
FROM deps AS build
ARG APP
ENV NX_DAEMON=false \
    NX_NO_CLOUD=true \
    NX_SKIP_NX_CACHE=true
COPY . .
RUN test -f "apps/${APP}/src/main.ts" \
      || { echo "build argument APP must name an app: ingest | speed | batch | serving | storefront (got '${APP}')" >&2; exit 1; }
RUN npx nx run "${APP}:build" --outputStyle=static \
    && test -f "apps/${APP}/dist/main.js" \
    && ls "apps/${APP}/dist/migrations"/*.sql > /dev/null

# ---------------------------------------------------------------------------------------------
# Production dependencies of one app. `--omit=dev` alone is not enough in a workspace: npm
# treats every workspace as a top-level project, so the apps' and libs' devDependencies
# (@lambdarec/testing -> testcontainers, vitest ...) would be installed as well. Removing the
# devDependencies from the (throw-away) manifests first leaves exactly the app's runtime closure.
# `npm ci` still installs the lockfile's exact versions: it only checks that every package it
# installs is in the lockfile at the same version, and this removes packages, never adds any.
FROM manifests AS prod-deps
ARG APP
RUN node -e ' \
      const fs = require("node:fs"); \
      const files = ["package.json", "e2e/package.json", \
        ...["apps", "libs"].flatMap((d) => fs.readdirSync(d).map((n) => `${d}/${n}/package.json`))]; \
      for (const file of files) { \
        const manifest = JSON.parse(fs.readFileSync(file, "utf8")); \
        delete manifest.devDependencies; \
        fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n"); \
      }'
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --ignore-scripts --workspace "apps/${APP}" --include-workspace-root=false

# ---------------------------------------------------------------------------------------------
FROM base AS runtime
ARG APP
ENV NODE_ENV=production \
    HOST=0.0.0.0
# node_modules (with the workspace symlinks) and the package.json files: apps/$APP/package.json
# carries "type": "module", which makes dist/main.js an ES module. Files stay owned by root and
# read-only for the `node` user that runs the service.
COPY --from=prod-deps /app ./
COPY --from=build /app/apps/${APP}/dist ./apps/${APP}/dist
WORKDIR /app/apps/${APP}
USER node
# Liveness: the process answers /healthz (readiness, /readyz, is for orchestrators that route
# traffic; compose uses it). No curl in slim images, so node's fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 here; the services handle SIGTERM/SIGINT themselves (close-with-grace).
# Use `docker run --init` / compose `init: true` if you also want zombie reaping.
CMD ["node", "dist/main.js"]

# ---------------------------------------------------------------------------------------------
FROM base AS app-none
RUN echo "choose the service: docker build --build-arg APP=ingest|speed|batch|serving|storefront ." >&2 && exit 1

# Per-app port (DESIGN.md). PORT is set explicitly so the HEALTHCHECK knows it; overriding
# PORT at run time moves both.
FROM runtime AS app-serving
ENV PORT=3000
EXPOSE 3000

FROM runtime AS app-ingest
ENV PORT=3001
EXPOSE 3001

FROM runtime AS app-batch
ENV PORT=3002
EXPOSE 3002

FROM runtime AS app-speed
ENV PORT=3004
EXPOSE 3004

FROM runtime AS app-storefront
ENV PORT=3003
EXPOSE 3003

# Default target: the app chosen by --build-arg APP.
FROM app-${APP} AS final
