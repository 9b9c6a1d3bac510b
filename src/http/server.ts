import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { App } from '../app.ts';
import { registerAdminRoutes } from '../admin/admin-routes.ts';
import { metrics } from '../platform/metrics.ts';
import { registerDevMailboxRoutes } from './dev-mailbox-routes.ts';
import { registerPublicRoutes } from './public-routes.ts';

/** The API process's HTTP server: reader pages, admin API, dev mailbox, health and metrics. */
export async function buildServer(app: App): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: app.logger.child({ component: 'http' }) as FastifyBaseLogger,
    trustProxy: app.config.TRUST_PROXY,
    bodyLimit: 1024 * 1024,
  });
  await server.register(formbody);

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
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'redis unreachable' });
    }
  });
  server.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));

  registerPublicRoutes(server, app);
  registerAdminRoutes(server, app);
  if (app.devMailbox) registerDevMailboxRoutes(server, app.devMailbox, app.config.NEWSLETTER_NAME);
  return server;
}
