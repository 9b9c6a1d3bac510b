# Evening Digest: one image for every process (api, scheduler, worker, bounces); the command picks which.
# Node 24 LTS: Node 20 is past end of life, and some dependencies (cookie 2, content-disposition 3) declare
# Node 22+. The service also runs on Node 20.19+, which is what the test machine has.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY workers ./workers
COPY templates ./templates
COPY bin ./bin
USER node
# 3000: the API; 2525: the bounce listener (workers/bounces.ts), unprivileged (map port 25 to it).
EXPOSE 3000 2525
# node itself is PID 1 (no npx in between), so SIGTERM from `docker stop` reaches the graceful shutdown.
CMD ["node", "--import", "tsx", "workers/all.ts"]
