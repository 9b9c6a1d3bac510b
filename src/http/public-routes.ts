import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.ts';
import { SENT_STATUSES } from '../editions/edition-store.ts';
import { browserView } from '../editions/render.ts';
import { subscriptionEvents } from '../platform/metrics.ts';
import { withinRateLimit } from '../platform/rate-limit.ts';
import type { LinkResult } from '../subscribers/subscriptions.ts';
import { archivePage, confirmPage, messagePage, page, preferencesPage, subscribePage, unsubscribeConfirmPage } from './pages.ts';

const PUBLIC_BODY_LIMIT = 16 * 1024;
const ARCHIVE_LENGTH = 90;

const LINK_ERRORS: Record<Exclude<LinkResult, { ok: true }>['reason'], string> = {
  malformed: 'This link is incomplete. Please copy the whole address from the email.',
  forged: 'This link is not valid.',
  expired: 'This link has expired. Please subscribe again to get a new one.',
  superseded: 'A newer confirmation email replaced this one. Please use the link in the latest email.',
  unknown: 'We could not find this subscription.',
  'not-allowed': 'This subscription cannot be confirmed. Please subscribe again.',
};

function wantsJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  const accept = request.headers.accept ?? '';
  return type.includes('application/json') || (accept.includes('application/json') && !accept.includes('text/html'));
}

function tokenOf(request: FastifyRequest): string {
  const query = request.query as Record<string, unknown>;
  return typeof query.token === 'string' ? query.token : '';
}

function context(request: FastifyRequest) {
  return { ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '') };
}

/** Reader-facing routes: subscribe, confirm, unsubscribe (page and RFC 8058 one-click), read an edition. */
export function registerPublicRoutes(server: FastifyInstance, app: App): void {
  const name = app.config.NEWSLETTER_NAME;
  const sendPage = (reply: FastifyReply, status: number, title: string, body: ReturnType<typeof messagePage>) =>
    reply.code(status).type('text/html; charset=utf-8').send(page(title, body, name));

  const subscribeForm = (error?: string) => subscribePage(name, app.schedule.sendTime(), error);

  server.get('/', async (_request, reply) => sendPage(reply, 200, 'Subscribe', subscribeForm()));

  server.post('/subscribe', { bodyLimit: PUBLIC_BODY_LIMIT }, async (request, reply) => {
    const json = wantsJson(request);
    const ipKey = app.keys.key('ratelimit', 'ip', request.ip);
    if (!(await withinRateLimit(app.redis, ipKey, app.config.SUBSCRIBE_LIMIT_PER_IP, 3600))) {
      reply.header('retry-after', '3600');
      return json
        ? reply.code(429).send({ error: 'too many sign-ups from your address; try again later' })
        : sendPage(reply, 429, 'Slow down', messagePage('Too many attempts', 'Please try again in an hour.'));
    }
    const body = (request.body ?? {}) as Record<string, unknown>;
    const result = await app.subscriptions.subscribe({ email: body.email, name: body.name }, context(request));
    if (!result.ok) {
      return json
        ? reply.code(400).send({ error: `${result.field}: ${result.reason}`, field: result.field })
        : sendPage(reply, 400, 'Subscribe', subscribeForm(`Please check your ${result.field}: ${result.reason}.`));
    }
    subscriptionEvents.inc({ event: 'subscribe' });
    const message = 'Thank you. If this address can receive our newsletter, a confirmation email is on its way: click the link in it to start receiving the digest.';
    return json ? reply.code(202).send({ status: 'check-your-inbox', message }) : sendPage(reply, 202, 'Check your inbox', messagePage('Check your inbox', message));
  });

  const linkProblem = (reply: FastifyReply, result: Extract<LinkResult, { ok: false }>) =>
    sendPage(reply, result.reason === 'expired' ? 410 : 400, 'Link problem', messagePage('This link does not work', LINK_ERRORS[result.reason]));

  // A GET never confirms: mail security scanners open every link. The page's button posts the same URL.
  server.get('/confirm', async (request, reply) => {
    const token = tokenOf(request);
    const result = await app.subscriptions.checkConfirmation(token);
    if (!result.ok) return linkProblem(reply, result);
    if (result.outcome === 'already-confirmed') return sendPage(reply, 200, 'Subscribed', messagePage('You are subscribed', `${result.email} already receives ${name} every evening.`));
    return sendPage(reply, 200, 'Confirm', confirmPage(token, result.email, name));
  });

  server.post('/confirm', { bodyLimit: PUBLIC_BODY_LIMIT }, async (request, reply) => {
    const result = await app.subscriptions.confirm(tokenOf(request), context(request));
    if (!result.ok) return linkProblem(reply, result);
    if (result.outcome === 'confirmed') subscriptionEvents.inc({ event: 'confirm' });
    return sendPage(reply, 200, 'Subscribed', messagePage('You are subscribed', `${result.email} will receive ${name} every evening.`));
  });

  server.get('/unsubscribe', async (request, reply) => {
    const token = tokenOf(request);
    if (!app.subscriptions.checkUnsubscribeToken(token)) return sendPage(reply, 400, 'Link problem', messagePage('This link does not work', LINK_ERRORS.forged));
    // A GET never unsubscribes: mail scanners follow links. The button posts the same URL.
    return sendPage(reply, 200, 'Unsubscribe', unsubscribeConfirmPage(token, name));
  });

  // RFC 8058 one-click comes as a form post, urlencoded (Gmail) or multipart/form-data (allowed, and some clients use it).
  void server.register(async (scope) => {
    await scope.register(multipart, { attachFieldsToBody: 'keyValues', limits: { fields: 10, fieldSize: 1024, files: 0, parts: 10 } });
    scope.post('/unsubscribe', { bodyLimit: PUBLIC_BODY_LIMIT }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const oneClick = body['List-Unsubscribe'] === 'One-Click';
      const result = await app.subscriptions.unsubscribe(tokenOf(request), oneClick ? 'one-click' : 'page');
      if (!result.ok) {
        return oneClick ? reply.code(400).send({ error: LINK_ERRORS[result.reason] }) : sendPage(reply, 400, 'Link problem', messagePage('This link does not work', LINK_ERRORS[result.reason]));
      }
      subscriptionEvents.inc({ event: 'unsubscribe' });
      if (oneClick) return reply.code(200).send({ status: 'unsubscribed' });
      return sendPage(reply, 200, 'Unsubscribed', messagePage('You are unsubscribed', `${result.email} will receive no further editions. You can subscribe again at any time.`));
    });
  });

  server.get('/preferences', async (request, reply) => {
    const token = tokenOf(request);
    const subscriber = await app.subscriptions.fromLink(token);
    if (!subscriber) return sendPage(reply, 400, 'Link problem', messagePage('This link does not work', LINK_ERRORS.forged));
    return sendPage(reply, 200, 'Preferences', preferencesPage(token, subscriber, name));
  });

  server.post('/preferences', { bodyLimit: PUBLIC_BODY_LIMIT }, async (request, reply) => {
    const token = tokenOf(request);
    const result = await app.subscriptions.updatePreferences(token, (request.body ?? {}) as Record<string, unknown>);
    const subscriber = await app.subscriptions.fromLink(token);
    if (!subscriber) return sendPage(reply, 400, 'Link problem', messagePage('This link does not work', LINK_ERRORS.forged));
    const notice = result.ok ? 'Saved.' : `Not saved: ${result.reason}.`;
    return sendPage(reply, result.ok ? 200 : 400, 'Preferences', preferencesPage(token, subscriber, name, notice));
  });

  server.get('/editions', async (_request, reply) => {
    const editions = await app.editions.summaries(await app.editions.list(ARCHIVE_LENGTH));
    return sendPage(reply, 200, 'Past editions', archivePage(editions.filter((edition) => SENT_STATUSES.includes(edition.status)), name));
  });

  server.get('/editions/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const edition = /^[\w-]{1,40}$/.test(id) ? await app.editions.get(id) : null;
    if (!edition || !SENT_STATUSES.includes(edition.status)) return sendPage(reply, 404, 'Not found', messagePage('No such edition', 'There is no edition with this date.'));
    return reply.type('text/html; charset=utf-8').send(browserView(edition.html));
  });
}
