# One image for every app: `node dist/apps/<app>/main.js` picks which one runs (docker-compose.yml
# runs the gateway, both workers, the migrations and the CLI from it). Node 24, the current LTS.
FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN NX_DAEMON=false npx nx run-many -t build -p gateway events-worker internal-worker cli runner --output-style=static

FROM node:24-trixie-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
# The gateway's port (PORT); a worker serves /metrics on METRICS_PORT when it is set.
EXPOSE 8080
# The gateway's readiness (the default command). Compose gives each worker its own check and turns
# it off for the one-off migrate and cli; node's fetch, as the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/apps/gateway/main.js"]
