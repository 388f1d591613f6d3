# The hub's image: `docker build -t ai-hub .`, then the same image runs every role (ROLE=gateway, ROLE=worker,
# or both) and `npm run migrate` (see docker-compose.yml and deploy/kubernetes/).
# test/deploy/dockerfile.test.ts runs these steps in a clean copy of the repository: keep them plain commands.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, in a layer of their own that a change of the code does not rebuild. Production ones
# only: the hub runs its TypeScript with tsx (a dependency), and Prisma's CLI generates the client. No
# install scripts: Prisma's would download engines the hub does not use (it talks to Postgres through a
# driver adapter, see DESIGN.md).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY prisma.config.ts tsconfig.json ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
COPY adapters ./adapters
COPY workers ./workers
COPY public ./public
# The Prisma client, into src/generated/prisma (no engine needed: scripts/prisma-generate.js says why).
RUN npm run generate

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app /app
# The embedded database's directory, for a run without DATABASE_URL (mount a volume there to keep it).
RUN mkdir /app/.data && chown node:node /app/.data
# Not root: the image's own `node` user. It can write only to /app/.data.
USER node
EXPOSE 3000
# node itself, not npm, as PID 1: the hub handles SIGTERM (drains, hands back turns in flight, exits 0
# within SHUTDOWN_TIMEOUT_MS), and it starts no child processes that a PID 1 would have to reap.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/healthcheck.js"]
CMD ["node", "--import", "tsx", "src/main.ts"]
