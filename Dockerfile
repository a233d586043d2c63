# syntax=docker/dockerfile:1
# One image for every service. Default: the API.
#   docker build -t niyanta .
#   docker run niyanta                                          # api
#   docker run niyanta node services/scheduler/dist/main.js     # any service
#   docker build --build-arg SERVICE=worker -t niyanta-worker . # another default

FROM node:20-bookworm-slim AS build
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
COPY libs/testing/package.json libs/testing/
COPY libs/worker-sdk/package.json libs/worker-sdk/
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
RUN npx tsc -b && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
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
