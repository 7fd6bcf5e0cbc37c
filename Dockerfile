# syntax=docker/dockerfile:1
# raftq: one image, two main commands.
#   docker run IMAGE node ...       a Raft member (gRPC 7700, HTTP 9100, data in /var/lib/raftq)
#   docker run IMAGE operator ...   the Kubernetes operator
#
# linux/amd64 only: @nxtedition/rocksdb ships prebuilt binaries for linux-x64 (glibc >= 2.34) and
# darwin-arm64, and cannot be built from source in this image. Bookworm has glibc 2.36.
# test/k8s/image.test.ts runs the same build steps outside Docker.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript with the dev dependencies --------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# .npmrc carries legacy-peer-deps, without which `npm ci` rejects the lock file's peer set.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY src ./src
COPY operator ./operator
RUN npx tsc -p tsconfig.build.json

# ---- prod-deps: runtime dependencies only ------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No install scripts: the RocksDB binding loads its prebuilt binary at require time (node-gyp-build),
# so nothing needs a compiler, and the runtime stage stays free of build tools.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && node -e "require('@nxtedition/rocksdb')" \
 && npm cache clean --force

# ---- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# npm is not needed at run time; removing it shrinks the image and its attack surface.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && groupadd --system --gid 10001 raftq \
 && useradd --system --uid 10001 --gid raftq --home-dir /var/lib/raftq --no-create-home \
      --shell /usr/sbin/nologin raftq \
 && mkdir -p /var/lib/raftq \
 && chown raftq:raftq /var/lib/raftq \
 && printf '#!/bin/sh\nexec node /app/dist/src/cli/main.js "$@"\n' > /usr/local/bin/raftq \
 && chmod 0755 /usr/local/bin/raftq
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Loaded at run time by @grpc/proto-loader; same layout as the repository (dist/ next to proto/).
COPY proto ./proto
COPY package.json ./
# Fail the build, not the first pod, if the prebuilt RocksDB binary does not load here.
RUN node -e "require('@nxtedition/rocksdb')" && raftq --help > /dev/null
# Numeric uid so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
VOLUME ["/var/lib/raftq"]
EXPOSE 7700 9100
# `exec` in the wrapper makes node PID 1: `raftq node` handles SIGTERM itself (after the preStop
# leadership transfer) and starts no child processes that would need reaping.
ENTRYPOINT ["raftq"]
CMD ["node"]
