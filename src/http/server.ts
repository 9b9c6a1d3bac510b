import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { App } from '../app.ts';
import { registerAdminRoutes } from '../admin/admin-routes.ts';
import { registerConsole } from '../admin/console-routes.ts';
import { AdminSessions } from '../admin/sessions.ts';
import { SubscriberAdmin } from '../admin/subscriber-admin.ts';
import { metrics, queueJobs, setQueueDepthSource } from '../platform/metrics.ts';
import { registerDevMailboxRoutes } from './dev-mailbox-routes.ts';
import { logRequests } from './request-log.ts';
import { registerPublicRoutes } from './public-routes.ts';
import { registerTrackingRoutes } from './tracking-routes.ts';

/** The API process's HTTP server: reader pages, admin API, dev mailbox, health and metrics. */
export async function buildServer(app: App): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: app.logger.child({ component: 'http' }) as FastifyBaseLogger,
    trustProxy: trustProxy(app.config.TRUST_PROXY),
    bodyLimit: 1024 * 1024,
    // Requests are logged by logRequests, redacted: Fastify's own lines would hold link tokens and readers' IPs.
    disableRequestLogging: true,
  });
  logRequests(server);
  await server.register(formbody);
  await server.register(cookie);

  server.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const message = status === 413 ? 'request body too large' : status >= 500 ? 'internal error' : error.message;
    return reply.code(status).send({ error: message });
  });

  server.get('/healthz', async () => ({ status: 'ok' }));
  server.get('/readyz', async (_request, reply) => {
    try {
      await app.redis.ping();
    } catch {
      return reply.code(503).send({ status: 'not ready', redis: 'unreachable' });
    }
    const workers = await app.deliveryQueue.getWorkersCount();
    return reply.code(workers > 0 ? 200 : 503).send({ status: workers > 0 ? 'ready' : 'no delivery workers seen', redis: 'ok', workers });
  });
  watchQueueDepth(app);
  server.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));

  registerPublicRoutes(server, app);
  registerTrackingRoutes(server, app);
  registerAdminRoutes(server, app);
  registerConsole(
    server,
    app,
    new AdminSessions(app.redis, app.keys, app.config.ADMIN_TOKEN, app.config.ADMIN_USERS),
    new SubscriberAdmin(app.subscribers, app.subscriptions, app.ledger, app.editions),
  );
  if (app.devMailbox) registerDevMailboxRoutes(server, app.devMailbox, app.config.NEWSLETTER_NAME);
  return server;
}

/** TRUST_PROXY as Fastify takes it: a number N believes the last N hops (the proxies in front of us). */
function trustProxy(setting: false | number | string[]): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

/** Queue depth for /metrics, read from BullMQ when Prometheus scrapes. */
function watchQueueDepth(app: App): void {
  setQueueDepthSource(async () => {
    for (const queue of [app.deliveryQueue, app.transactionalQueue]) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const [state, count] of Object.entries(counts)) queueJobs.set({ queue: queue.name, state }, count);
    }
  });
}
