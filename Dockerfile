# syntax=docker/dockerfile:1
# One image for every service. Default: the API.
#   docker build -t niyanta .
#   docker run niyanta                                          # api
#   docker run niyanta node services/scheduler/dist/main.js     # any service (services/all: the
#                                                               # single-process layout)
#   docker build --build-arg SERVICE=worker -t niyanta-worker . # another default

# A supported Node LTS, pinned to a release: a rebuild gets the same runtime until this line moves.
ARG NODE_IMAGE=node:22.23.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is rebuilt only when they change. Every workspace's
# package.json must be here for `npm ci` to install (and link) it.
COPY package.json package-lock.json .npmrc ./
COPY libs/blob-store/package.json libs/blob-store/
COPY libs/cli/package.json libs/cli/
COPY libs/client/package.json libs/client/
COPY libs/db/package.json libs/db/
COPY libs/messages/package.json libs/messages/
COPY libs/runtime/package.json libs/runtime/
COPY libs/telemetry/package.json libs/telemetry/
COPY libs/schedules/package.json libs/schedules/
COPY libs/testing/package.json libs/testing/
COPY libs/worker-sdk/package.json libs/worker-sdk/
COPY services/all/package.json services/all/
COPY services/api/package.json services/api/
COPY services/checkpoint/package.json services/checkpoint/
COPY services/health-monitor/package.json services/health-monitor/
COPY services/scheduler/package.json services/scheduler/
COPY services/worker/package.json services/worker/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
RUN npm ci
COPY tsconfig.base.json tsconfig.json ./
COPY schemas schemas
COPY libs libs
COPY services services
COPY bench bench
COPY scripts/build-ui.mjs scripts/
# Test-only packages (testcontainers, embedded-postgres, s3rver) are devDependencies of
# libs/testing: the prune drops them, and the test workspaces' links go too.
RUN npx tsc -b \
  && node scripts/build-ui.mjs \
  && npm prune --omit=dev \
  && rm -rf node_modules/@niyanta/testing node_modules/@niyanta/e2e node_modules/@niyanta/bench libs/testing

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/schemas schemas
COPY --from=build /app/libs libs
COPY --from=build /app/services services
# The filesystem blob store (BLOB_STORE=fs) writes under .data/; everything else is read-only.
RUN mkdir -p .data && chown node:node .data
USER node
ARG SERVICE=api
ENV NIYANTA_SERVICE=${SERVICE}
EXPOSE 8080
# `exec` replaces the shell, so node receives `docker stop`'s SIGTERM itself and drains.
CMD ["sh", "-c", "exec node services/${NIYANTA_SERVICE}/dist/main.js"]
