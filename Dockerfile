# Evening Digest: one image for every process (api, scheduler, worker, bounces); the command picks which.
# Node 24 LTS: Node 20 is past end of life, and some dependencies (cookie 2, content-disposition 3) declare
# Node 22+. The service also runs on Node 20.19+, which is what the test machine has.

# The build: TypeScript compiled to dist/ (npm run build) with the SQL, Lua and templates beside it.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers
COPY templates ./templates
RUN npm run build

# What runs: the compiled service and its production dependencies. No TypeScript loader in the
# processes (about 35 MB less memory each); `npx digest` still runs the CLI from src/ through tsx.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY src ./src
COPY templates ./templates
COPY bin ./bin
USER node
# 3000: the API; 2525: the bounce listener (workers/bounces.ts), unprivileged (map port 25 to it).
EXPOSE 3000 2525
# node itself is PID 1 (no npx in between), so SIGTERM from `docker stop` reaches the graceful shutdown.
CMD ["node", "dist/workers/all.js"]
