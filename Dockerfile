# The omnistock service image (docker-compose.yml runs it as migrate, api and reconciler).
FROM node:20-slim

WORKDIR /app
# A 64 MiB young generation: the reconciler allocates a few objects per event, and V8's default
# (16 MiB) spent about a quarter of its CPU collecting them (BENCHMARKS.md, spine).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=64 \
    HOST=0.0.0.0 \
    PORT=3000 \
    npm_config_update_notifier=false

# Dependencies first, so source edits reuse this layer. tsx runs the TypeScript sources directly.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY drizzle ./drizzle
COPY src ./src
# The staff web app's sources: bundled by esbuild when the API starts.
COPY web ./web

# DATA_DIR (embedded PGlite) is only used without DATABASE_URL; keep it writable anyway.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node

EXPOSE 3000
CMD ["npx", "tsx", "src/cli/main.ts", "serve"]
