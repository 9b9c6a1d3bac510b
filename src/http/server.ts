import cookie from '@fastify/cookie';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { App } from '../app.ts';
import { registerAdminRoutes } from '../admin/admin-routes.ts';
import { isAuthorized } from '../admin/auth.ts';
import { registerConsole } from '../admin/console-routes.ts';
import { AdminSessions } from '../admin/sessions.ts';
import { SubscriberAdmin } from '../admin/subscriber-admin.ts';
import type { Config } from '../platform/config.ts';
import {
  metrics,
  queueJobs,
  setAlertCountSource,
  setFeedbackCountSource,
  setQueueDepthSource,
} from '../platform/metrics.ts';
import { listening } from '../platform/startup.ts';
import { fromThisMachine, registerDevMailboxRoutes } from './dev-mailbox-routes.ts';
import { logRequests, requestLogSerializers } from './request-log.ts';
import { registerPublicRoutes } from './public-routes.ts';
import { registerTrackingRoutes } from './tracking-routes.ts';
import { registerFeedbackRoutes } from './feedback-routes.ts';

/** The API process's HTTP server: reader pages, admin API, dev mailbox, health and metrics. */
export async function buildServer(app: App): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: app.logger.child(
      { component: 'http' },
      { serializers: requestLogSerializers },
    ) as FastifyBaseLogger,
    trustProxy: trustProxy(app.config.TRUST_PROXY),
    bodyLimit: 1024 * 1024,
    // Requests are logged by logRequests, redacted: Fastify's own lines would hold link tokens and readers' IPs.
    logController: new LogController({ disableRequestLogging: true }),
  });
  logRequests(server);
  await server.register(formbody);
  await server.register(cookie);
  await server.register(helmet, securityHeaders(app.config.PUBLIC_URL.startsWith('https://')));

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
    return reply
      .code(workers > 0 ? 200 : 503)
      .send({ status: workers > 0 ? 'ready' : 'no delivery workers seen', redis: 'ok', workers });
  });
  watchQueueDepth(app);
  setAlertCountSource(() => app.alerts.counts());
  setFeedbackCountSource(() => app.feedbackStore.totals());
  server.get('/metrics', async (request, reply) => {
    if (app.config.METRICS_TOKEN && !isAuthorized(request.headers.authorization, app.config.METRICS_TOKEN)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="metrics"')
        .send({ error: 'missing or wrong metrics token (Authorization: Bearer ...)' });
    }
    return reply.type(metrics.contentType).send(await metrics.metrics());
  });

  registerPublicRoutes(server, app);
  registerTrackingRoutes(server, app);
  registerFeedbackRoutes(server, app);
  registerAdminRoutes(server, app);
  registerConsole(
    server,
    app,
    new AdminSessions(app.redis, app.keys, app.config.ADMIN_TOKEN, app.config.ADMIN_USERS, app.adminUsers),
    new SubscriberAdmin(app.subscribers, app.subscriptions, app.ledger, app.editions, app.feedbackStore),
  );
  const { devMailbox } = app;
  if (devMailbox) {
    void server.register(async (local) => {
      local.addHook('onRequest', async (request, reply) => {
        if (!fromThisMachine(request)) {
          return reply
            .code(403)
            .type('text/plain; charset=utf-8')
            .send(
              'The dev mailbox is served only to this machine; elsewhere, log in to the console and open /console/mailbox.',
            );
        }
      });
      registerDevMailboxRoutes(local, devMailbox, app.config.NEWSLETTER_NAME, '/dev/mailbox');
    });
  }
  return server;
}

/**
 * Headers on every response. Scripts only from our own files (no inline script, no event-handler
 * attributes); styles may be inline because the email HTML (browser view, previews) is made of them;
 * images from anywhere because an edition's pictures live on the outlet's servers. Pages may only be
 * framed by our own (the console's preview), and never send a Referer: several carry a link token
 * in their address.
 */
function securityHeaders(https: boolean): FastifyHelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'https:', 'http:', 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'self'"],
        // Bull Board's page sets <base href> to its own path.
        baseUri: ["'self'"],
        objectSrc: ["'none'"],
      },
    },
    frameguard: { action: 'sameorigin' },
    referrerPolicy: { policy: 'no-referrer' },
    // The open pixel is loaded by mail programs from anywhere (the tracking route allows that itself).
    crossOriginResourcePolicy: { policy: 'same-site' },
    crossOriginEmbedderPolicy: false,
    hsts: https ? { maxAge: 15552000 } : false,
  };
}

/** Listens on HOST:PORT; a port in use (or the like) fails the process's start, naming the setting to change. */
export async function listenOnPort(server: FastifyInstance, config: Pick<Config, 'HOST' | 'PORT'>): Promise<void> {
  await listening({ port: { name: 'PORT', value: config.PORT }, host: { name: 'HOST', value: config.HOST } }, () =>
    server.listen({ host: config.HOST, port: config.PORT }),
  );
}

/** TRUST_PROXY as Fastify takes it: a number N believes the last N hops (the proxies in front of us). */
function trustProxy(
  setting: false | number | string[],
): boolean | string[] | ((address: string, hop: number) => boolean) {
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
