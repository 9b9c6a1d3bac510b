import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { App } from '../app.ts';
import { ADMIN_SOURCE } from '../articles/article.ts';
import { describeIssues } from '../articles/intake.ts';
import { checkAddress } from '../subscribers/address.ts';
import { BOUNCE_TYPES } from '../subscribers/bounce-reports.ts';
import { isAuthorized } from './auth.ts';
import { editorActions } from './editor-actions.ts';
import { reportEdition, reportJson } from './edition-report.ts';

const ADMIN_BODY_LIMIT = 1024 * 1024;

const curationSchema = z
  .object({ selected: z.boolean().nullable(), position: z.number().int().min(0).max(10_000).nullable().default(null) })
  .strict();
const resendSchema = z.union([
  z.object({ email: z.string() }).strict(),
  z.object({ failed: z.literal(true) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);
const MAX_BOUNCES_PER_REQUEST = 1000;
const bounceSchema = z
  .object({
    email: z
      .string()
      .max(320)
      .refine((email) => checkAddress(email).ok, 'not a valid email address'),
    type: z.enum(BOUNCE_TYPES),
    // One printable line: it ends up in the subscriber's history and the console.
    reason: z
      .string()
      .max(1000)
      .default('')
      .transform((reason) =>
        reason
          // eslint-disable-next-line no-control-regex -- removing control characters is the point
          .replace(/[\u0000-\u001f\u007f]+/g, ' ')
          .trim()
          .slice(0, 200),
      ),
    at: z.coerce.date().optional(),
  })
  .strict()
  .refine((report) => !report.at || report.at.getTime() <= Date.now() + 5 * 60_000, {
    message: 'at is in the future',
    path: ['at'],
  });
const windowQuery = z.object({ from: z.coerce.date().optional(), to: z.coerce.date().optional() });
const EDITION_ID = /^[\w-]{1,40}$/;

/** Every /admin route: bearer-token authentication first, then JSON in and out. */
export function registerAdminRoutes(server: FastifyInstance, app: App): void {
  void server.register(
    async (admin) => {
      admin.addHook('onRequest', async (request, reply) => {
        if (!isAuthorized(request.headers.authorization, app.config.ADMIN_TOKEN)) {
          reply.header('www-authenticate', 'Bearer realm="admin"');
          return reply.code(401).send({ error: 'missing or wrong admin token (Authorization: Bearer ...)' });
        }
      });

      admin.post('/articles', { bodyLimit: ADMIN_BODY_LIMIT }, async (request, reply) => {
        const items = Array.isArray(request.body) ? request.body : [request.body];
        if (items.length > 500) return reply.code(400).send({ error: 'at most 500 articles per request' });
        const results = [];
        for (const item of items) results.push(await app.intake.ingest(item, ADMIN_SOURCE));
        const failed = results.filter((result) => !result.ok);
        if (!Array.isArray(request.body)) {
          const [result] = results;
          if (!result?.ok) return reply.code(400).send({ error: 'invalid article', issues: result?.issues ?? [] });
          return reply.code(result.created ? 201 : 200).send(result);
        }
        return reply.code(failed.length > 0 ? 207 : 200).send({ results });
      });

      admin.get('/articles', async (request, reply) => {
        const query = windowQuery.safeParse(request.query);
        if (!query.success)
          return reply.code(400).send({ error: 'invalid query', issues: describeIssues(query.error) });
        const window = query.data.from && query.data.to ? null : (await app.desk.preview()).window;
        const from = query.data.from ?? window?.start ?? new Date(0);
        const to = query.data.to ?? window?.end ?? new Date();
        return { from, to, articles: await app.articles.publishedBetween(from, to) };
      });

      admin.patch('/articles/:key', async (request, reply) => {
        const body = curationSchema.safeParse(request.body);
        if (!body.success)
          return reply.code(400).send({ error: 'invalid curation', issues: describeIssues(body.error) });
        const { key } = request.params as { key: string };
        const found = await app.articles.setCuration(key, body.data.selected, body.data.position);
        return found ? app.articles.get(key) : reply.code(404).send({ error: `no article ${key}` });
      });

      admin.post('/editions', async (_request, reply) => {
        const result = await app.desk.sendNow('admin-api');
        if (!result.ok) return reply.code(result.status).send({ error: result.error });
        const { edition, created } = result;
        return reply.code(created ? 201 : 200).send({
          id: edition.id,
          status: edition.status,
          created: created ?? false,
          articles: edition.articleKeys.length,
        });
      });

      admin.get('/editions', async () => {
        const ids = await app.editions.list(60);
        return { editions: await Promise.all(ids.map(async (id) => reportEdition(app, await app.desk.view(id)))) };
      });

      admin.get('/editions/current', async () => reportEdition(app, await app.desk.current()));

      admin.get('/editions/:id', async (request, reply) => {
        const { id } = request.params as { id: string };
        const view = EDITION_ID.test(id) ? await app.desk.view(id) : null;
        if (!view?.edition) return reply.code(404).send({ error: 'no such edition' });
        return reportJson(await reportEdition(app, view));
      });

      // Editors' actions: one desk method each, as the console and the CLI call them.
      admin.post('/editions/:id/:action', async (request, reply) => {
        const { id, action } = request.params as { id: string; action: string };
        const body = (request.body ?? {}) as { reason?: unknown };
        const reason = typeof body.reason === 'string' ? body.reason : '';
        const act = editorActions(app.desk, 'admin-api', reason)[action];
        if (!act)
          return reply
            .code(404)
            .send({ error: `no action ${action}: approve, send, skip (with a reason), reopen or resend` });
        const result = await act(id);
        if (!result.ok) return reply.code(result.status).send({ error: result.error });
        return reportEdition(app, await app.desk.view(id));
      });

      admin.post('/editions/:id/resend', async (request, reply) => {
        const scope = resendSchema.safeParse(request.body);
        if (!scope.success)
          return reply.code(400).send({ error: 'say one of {"email": ...}, {"failed": true} or {"all": true}' });
        const result = await app.deliveries.resend((request.params as { id: string }).id, scope.data, 'admin-api');
        return result.ok
          ? reply.code(202).send(result.resend)
          : reply.code(result.status).send({ error: result.error });
      });

      admin.get('/subscribers/:email', async (request, reply) => {
        const address = checkAddress((request.params as { email: string }).email);
        if (!address.ok) return reply.code(400).send({ error: address.reason });
        const id = await app.subscribers.findIdByEmail(address.lookupKey);
        const subscriber = id ? await app.subscribers.get(id) : null;
        if (!subscriber) return reply.code(404).send({ error: 'no such subscriber' });
        const [history, feedback] = await Promise.all([
          app.subscribers.history(subscriber.id),
          app.feedbackStore.ofSubscriber(subscriber.id),
        ]);
        return { subscriber, history, feedback };
      });

      admin.get('/subscribers', async () => ({ counts: await app.subscribers.countsByState() }));

      // Every report is checked before any is applied, so a bad one in a batch changes nothing.
      admin.post('/bounces', { bodyLimit: ADMIN_BODY_LIMIT }, async (request, reply) => {
        const many = Array.isArray(request.body);
        const parsed = (
          many ? z.array(bounceSchema).max(MAX_BOUNCES_PER_REQUEST) : bounceSchema.transform((report) => [report])
        ).safeParse(request.body);
        if (!parsed.success)
          return reply.code(400).send({ error: 'invalid bounce report', issues: describeIssues(parsed.error) });
        const results = [];
        for (const report of parsed.data) {
          const applied = await app.feedback.report({ ...report, at: report.at ?? new Date() });
          results.push({
            email: applied.email ?? report.email,
            type: applied.type,
            outcome: applied.outcome,
            ...(applied.softBounces === undefined ? {} : { softBounces: applied.softBounces }),
          });
        }
        return many ? { results } : results[0];
      });

      admin.post('/feeds/poll', async () => ({ feeds: await app.feeds.pollAll(app.config.FEEDS) }));
      admin.get('/feeds', async () => ({ feeds: await app.feeds.statuses(app.config.FEEDS) }));
    },
    { prefix: '/admin' },
  );
}
