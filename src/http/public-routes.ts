import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.ts';
import { SENT_STATUSES } from '../editions/edition-store.ts';
import { browserView } from '../editions/render.ts';
import { type Locale, localeFor } from '../platform/locale.ts';
import { MANAGE_SUBSCRIPTION_PATH } from '../platform/personal-fields.ts';
import type { MessageKey } from '../platform/locales/en.ts';
import { subscriptionEvents } from '../platform/metrics.ts';
import { withinRateLimit } from '../platform/rate-limit.ts';
import type { LinkResult, PreferencesProblem, SubscribeResult } from '../subscribers/subscriptions.ts';
import { noStore } from './no-store.ts';
import {
  archivePage,
  confirmPage,
  manageSubscriptionPage,
  messagePage,
  page,
  type PageContext,
  preferencesPage,
  subscribePage,
  unsubscribeConfirmPage,
} from './pages.ts';

const PUBLIC_BODY_LIMIT = 16 * 1024;
const ARCHIVE_LENGTH = 90;

const LINK_ERRORS: Record<Exclude<LinkResult, { ok: true }>['reason'], MessageKey> = {
  malformed: 'page.link.malformed',
  forged: 'page.link.forged',
  expired: 'page.link.expired',
  superseded: 'page.link.superseded',
  unknown: 'page.link.unknown',
  'not-allowed': 'page.link.notAllowed',
};

/** What was wrong with a sign-up, in the readers' language ("Please check your email: …"). */
function signupProblem(locale: Locale, result: Extract<SubscribeResult, { ok: false }>): string {
  const reason =
    result.field === 'email' ? locale.t(`problem.email.${result.problem}`) : locale.t(`problem.name.${result.problem}`);
  return locale.t('page.subscribe.problem', { field: locale.t(`field.${result.field}`), reason });
}

function preferencesProblem(locale: Locale, problem: PreferencesProblem): string {
  if (problem.field === 'name') return locale.t(`problem.name.${problem.problem}`);
  return locale.t(problem.field === 'format' ? 'problem.format' : 'page.link.forged');
}

function wantsJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  const accept = request.headers.accept ?? '';
  return type.includes('application/json') || (accept.includes('application/json') && !accept.includes('text/html'));
}

function tokenOf(request: FastifyRequest): string {
  const query = request.query as Record<string, unknown>;
  return typeof query.token === 'string' ? query.token : '';
}

function requestContext(request: FastifyRequest) {
  return { ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '') };
}

/** Reader-facing routes: subscribe, confirm, unsubscribe (page and RFC 8058 one-click), read an edition. */
export function registerPublicRoutes(server: FastifyInstance, app: App): void {
  const name = app.config.NEWSLETTER_NAME;
  // Reader pages speak DIGEST_LOCALE, like the emails (the console stays English).
  const locale = localeFor(app.config.DIGEST_LOCALE);
  const t = locale.t.bind(locale);
  const context: PageContext = { newsletterName: name, locale };
  const sendPage = (reply: FastifyReply, status: number, title: string, body: ReturnType<typeof messagePage>) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(page(title, body, context));

  const subscribeForm = (error?: string) =>
    subscribePage(context, app.schedule.sendTime(undefined, locale.intl), error);
  const linkProblemPage = (reply: FastifyReply, status: number, reason: keyof typeof LINK_ERRORS) =>
    sendPage(reply, status, t('page.link.title'), messagePage(t('page.link.heading'), t(LINK_ERRORS[reason])));

  server.get('/', async (_request, reply) => sendPage(reply, 200, t('page.subscribe.title'), subscribeForm()));

  server.post('/subscribe', { bodyLimit: PUBLIC_BODY_LIMIT }, async (request, reply) => {
    const json = wantsJson(request);
    const ipKey = app.keys.signupsByIp(request.ip);
    if (!(await withinRateLimit(app.redis, ipKey, app.config.SUBSCRIBE_LIMIT_PER_IP, 3600))) {
      reply.header('retry-after', '3600');
      return json
        ? reply.code(429).send({ error: 'too many sign-ups from your address; try again later' })
        : sendPage(
            reply,
            429,
            t('page.slowDown.title'),
            messagePage(t('page.slowDown.heading'), t('page.slowDown.text')),
          );
    }
    const body = (request.body ?? {}) as Record<string, unknown>;
    const result = await app.subscriptions.subscribe({ email: body.email, name: body.name }, requestContext(request));
    if (!result.ok) {
      return json
        ? reply.code(400).send({ error: `${result.field}: ${result.reason}`, field: result.field })
        : sendPage(reply, 400, t('page.subscribe.title'), subscribeForm(signupProblem(locale, result)));
    }
    subscriptionEvents.inc({ event: 'subscribe' });
    const message = t('page.checkInbox.text');
    return json
      ? reply.code(202).send({ status: 'check-your-inbox', message })
      : sendPage(reply, 202, t('page.checkInbox.title'), messagePage(t('page.checkInbox.title'), message));
  });

  const linkProblem = (reply: FastifyReply, result: Extract<LinkResult, { ok: false }>) =>
    linkProblemPage(reply, result.reason === 'expired' ? 410 : 400, result.reason);
  const subscribed = (text: string) => messagePage(t('page.subscribed.heading'), text);

  // A GET never confirms: mail security scanners open every link. The page's button posts the same URL.
  server.get('/confirm', { onRequest: noStore }, async (request, reply) => {
    const token = tokenOf(request);
    const result = await app.subscriptions.checkConfirmation(token);
    if (!result.ok) return linkProblem(reply, result);
    if (result.outcome === 'already-confirmed')
      return sendPage(
        reply,
        200,
        t('page.subscribed.title'),
        subscribed(t('page.subscribed.already', { email: result.email, newsletter: name })),
      );
    return sendPage(reply, 200, t('page.confirm.title'), confirmPage(token, result.email, context));
  });

  server.post('/confirm', { bodyLimit: PUBLIC_BODY_LIMIT, onRequest: noStore }, async (request, reply) => {
    const result = await app.subscriptions.confirm(tokenOf(request), requestContext(request));
    if (!result.ok) return linkProblem(reply, result);
    if (result.outcome === 'confirmed') subscriptionEvents.inc({ event: 'confirm' });
    return sendPage(
      reply,
      200,
      t('page.subscribed.title'),
      subscribed(t('page.subscribed.now', { email: result.email, newsletter: name })),
    );
  });

  server.get('/unsubscribe', { onRequest: noStore }, async (request, reply) => {
    const token = tokenOf(request);
    if (!app.subscriptions.checkUnsubscribeToken(token)) return linkProblemPage(reply, 400, 'forged');
    // A GET never unsubscribes: mail scanners follow links. The button posts the same URL.
    return sendPage(reply, 200, t('page.unsubscribe.title'), unsubscribeConfirmPage(token, context));
  });

  // RFC 8058 one-click comes as a form post, urlencoded (Gmail) or multipart/form-data (allowed, and some clients use it).
  void server.register(async (scope) => {
    await scope.register(multipart, {
      attachFieldsToBody: 'keyValues',
      limits: { fields: 10, fieldSize: 1024, files: 0, parts: 10 },
    });
    scope.post('/unsubscribe', { bodyLimit: PUBLIC_BODY_LIMIT, onRequest: noStore }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const oneClick = body['List-Unsubscribe'] === 'One-Click';
      const result = await app.subscriptions.unsubscribe(tokenOf(request), oneClick ? 'one-click' : 'page');
      if (!result.ok) {
        return oneClick
          ? reply.code(400).send({ error: t(LINK_ERRORS[result.reason]) })
          : linkProblemPage(reply, 400, result.reason);
      }
      subscriptionEvents.inc({ event: 'unsubscribe' });
      if (oneClick) return reply.code(200).send({ status: 'unsubscribed' });
      return sendPage(
        reply,
        200,
        t('page.unsubscribed.title'),
        messagePage(t('page.unsubscribed.heading'), t('page.unsubscribed.text', { email: result.email })),
      );
    });
  });

  server.get('/preferences', { onRequest: noStore }, async (request, reply) => {
    const token = tokenOf(request);
    const subscriber = await app.subscriptions.fromLink(token);
    if (!subscriber) return linkProblemPage(reply, 400, 'forged');
    return sendPage(reply, 200, t('page.preferences.title'), preferencesPage(token, subscriber, context));
  });

  server.post('/preferences', { bodyLimit: PUBLIC_BODY_LIMIT, onRequest: noStore }, async (request, reply) => {
    const token = tokenOf(request);
    const result = await app.subscriptions.updatePreferences(token, (request.body ?? {}) as Record<string, unknown>);
    const subscriber = await app.subscriptions.fromLink(token);
    if (!subscriber) return linkProblemPage(reply, 400, 'forged');
    const notice = result.ok
      ? t('page.preferences.saved')
      : t('page.preferences.notSaved', { reason: preferencesProblem(locale, result) });
    return sendPage(
      reply,
      result.ok ? 200 : 400,
      t('page.preferences.title'),
      preferencesPage(token, subscriber, context, notice),
    );
  });

  // The browser version's Unsubscribe and Preferences lead here: it is the same page for everyone, so it has nobody's links.
  server.get(MANAGE_SUBSCRIPTION_PATH, async (_request, reply) =>
    sendPage(reply, 200, t('page.manage.title'), manageSubscriptionPage(context)),
  );

  server.get('/editions', async (_request, reply) => {
    const editions = await app.editions.summaries(await app.editions.list(ARCHIVE_LENGTH));
    return sendPage(
      reply,
      200,
      t('page.archive.title'),
      archivePage(
        editions.filter((edition) => SENT_STATUSES.includes(edition.status)),
        context,
        app.config.DIGEST_TZ,
      ),
    );
  });

  server.get('/editions/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const edition = /^[\w-]{1,40}$/.test(id) ? await app.editions.get(id) : null;
    if (!edition || !SENT_STATUSES.includes(edition.status))
      return sendPage(
        reply,
        404,
        t('page.notFound.title'),
        messagePage(t('page.notFound.heading'), t('page.notFound.text')),
      );
    // The browser version has every article, also those the email left to it ("N more stories").
    return reply.type('text/html; charset=utf-8').send(browserView(edition.web, locale));
  });
}
