# Evening Digest: one image for every process (api, scheduler, worker); the command picks which.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY workers ./workers
COPY templates ./templates
COPY bin ./bin
USER node
EXPOSE 3000
CMD ["npx", "tsx", "workers/all.ts"]
