import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type {} from '@fastify/cookie';
import { Readable } from 'node:stream';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.ts';
import type { Article } from '../articles/article.ts';
import type { ResendScope } from '../delivery/deliveries.ts';
import { browserView, textView } from '../editions/render.ts';
import { localeFor } from '../platform/locale.ts';
import { registerDevMailboxRoutes } from '../http/dev-mailbox-routes.ts';
import { checkAddress } from '../subscribers/address.ts';
import { SUBSCRIBER_STATES, type SubscriberState } from '../subscribers/subscriber-store.ts';
import {
  consolePage,
  editionsPage,
  feedsPage,
  importPage,
  loginPage,
  progressPage,
  subscriberPage,
  subscribersPage,
  todayPage,
} from './console-pages.ts';
import { DEVICE_COOKIE_DAYS, DeviceCookies } from './device-cookies.ts';
import { LoginThrottle } from './login-throttle.ts';
import { type AdminSession, type AdminSessions, sameToken } from './sessions.ts';
import { describeStatus, reportEdition } from './edition-report.ts';
import { editorActions } from './editor-actions.ts';
import { html } from '../platform/html.ts';
import type { SubscriberAdmin } from './subscriber-admin.ts';
import { parseImportedState } from '../subscribers/import-rows.ts';
import { IMPORT_MAX_BYTES } from '../subscribers/imports.ts';

const SESSION_COOKIE = 'digest_session';
const LOGIN_COOKIE = 'digest_login';
const DEVICE_COOKIE = 'digest_device';

declare module 'fastify' {
  interface FastifyRequest {
    adminSession?: AdminSession;
  }
}

type Form = Record<string, string | undefined>;

/**
 * The admin console: server-rendered pages behind a login (admin token or ADMIN_USERS password),
 * an HttpOnly SameSite=Strict session cookie, and a CSRF token on every form.
 */
export function registerConsole(
  server: FastifyInstance,
  app: App,
  sessions: AdminSessions,
  admin: SubscriberAdmin,
): void {
  const secure = app.config.PUBLIC_URL.startsWith('https://');
  const cookie = { path: '/console', httpOnly: true, sameSite: 'strict' as const, secure };
  const render = (
    reply: FastifyReply,
    status: number,
    title: string,
    session: AdminSession | null,
    body: Parameters<typeof consolePage>[2],
    active = '',
  ) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(consolePage(title, session, body, active));
  const form = (request: FastifyRequest): Form => (request.body ?? {}) as Form;
  const by = (request: FastifyRequest) => `console:${request.adminSession?.admin ?? '?'}`;
  const logins = new LoginThrottle(app.redis, app.keys);
  const devices = new DeviceCookies(app.config.APP_SECRET, app.clock);

  // The console's one script (a file, so that the Content-Security-Policy needs no inline script).
  const script = readFileSync(new URL('./assets/console.js', import.meta.url), 'utf8');
  server.get('/console/assets/console.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(script),
  );

  server.get('/console/login', async (_request, reply) => {
    const token = randomBytes(24).toString('base64url');
    reply.setCookie(LOGIN_COOKIE, token, { ...cookie, maxAge: 600 });
    return render(reply, 200, 'Log in', null, loginPage(token));
  });

  server.post('/console/login', { bodyLimit: 8 * 1024 }, async (request, reply) => {
    const body = form(request);
    const fresh = randomBytes(24).toString('base64url');
    reply.setCookie(LOGIN_COOKIE, fresh, { ...cookie, maxAge: 600 });
    if (!sameToken(body._csrf, request.cookies[LOGIN_COOKIE] ?? ''))
      return render(reply, 403, 'Log in', null, loginPage(fresh, 'The form expired. Please try again.'));
    const typedName = (body.name ?? '').trim();
    const attempt = {
      ip: request.ip,
      name: typedName,
      device: devices.deviceFor(request.cookies[DEVICE_COOKIE], typedName),
    };
    const wait = await logins.attempt(attempt);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return render(
        reply,
        429,
        'Log in',
        null,
        loginPage(fresh, `Too many failed attempts. Try again in ${Math.ceil(wait / 60)} minute(s).`),
      );
    }
    const name = await sessions.check(typedName, body.password ?? '');
    if (!name) return render(reply, 401, 'Log in', null, loginPage(fresh, 'Wrong name or password.'));
    await logins.succeeded(attempt);
    reply.setCookie(DEVICE_COOKIE, devices.issue(typedName), { ...cookie, maxAge: DEVICE_COOKIE_DAYS * 24 * 3600 });
    const session = await sessions.create(name);
    reply.setCookie(SESSION_COOKIE, session.id, { ...cookie, maxAge: 12 * 3600 });
    return reply.redirect('/console', 303);
  });

  void server.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      if (request.url === '/console/login' || request.url.startsWith('/console/login?')) return;
      const session = await sessions.get(request.cookies[SESSION_COOKIE]);
      if (!session) {
        if (isSafeMethod(request) && !request.url.endsWith('.json')) return reply.redirect('/console/login', 303);
        return reply.code(401).send({ error: 'log in first' });
      }
      request.adminSession = session;
    });
    scope.addHook('preHandler', async (request, reply) => {
      if (isSafeMethod(request)) return;
      if (request.url.startsWith('/console/queues')) {
        // Bull Board's own API calls carry no form token: accept them only from our own pages.
        if (request.headers['sec-fetch-site'] === 'same-origin' || sameOrigin(request)) return;
        return reply.code(403).send({ error: 'cross-site request refused' });
      }
      // File uploads (multipart, read as a stream by their route) carry the token in the form's address.
      const token = form(request)._csrf ?? request.headers['x-csrf-token'] ?? (request.query as Form)._csrf;
      if (!sameToken(token, request.adminSession?.csrf ?? '')) {
        return reply.code(403).send({ error: 'missing or wrong CSRF token; reload the page' });
      }
    });

    // The queue dashboard (Bull Board), behind the same login.
    const board = new FastifyAdapter();
    createBullBoard({
      queues: [new BullMQAdapter(app.deliveryQueue), new BullMQAdapter(app.transactionalQueue)],
      serverAdapter: board,
    });
    board.setBasePath('/console/queues');
    await scope.register(board.registerPlugin(), { prefix: '/console/queues' });

    scope.post('/console/logout', async (request, reply) => {
      if (request.adminSession) await sessions.destroy(request.adminSession.id);
      reply.clearCookie(SESSION_COOKIE, { path: '/console' });
      return reply.redirect('/console/login', 303);
    });

    const today = async (request: FastifyRequest, reply: FastifyReply, notice = '') => {
      const report = await reportEdition(app, await app.desk.current());
      const draft = await app.desk.preview();
      const articles = [...draft.candidates].sort((a, b) => b.publishedAt.getTime() - a.publishedAt.getTime());
      return render(
        reply,
        200,
        "Today's edition",
        request.adminSession ?? null,
        todayPage(request.adminSession!, report, draft, articles, await app.editions.draft(), notice),
        '/console',
      );
    };
    scope.get('/console', (request, reply) => today(request, reply, String((request.query as Form).notice ?? '')));

    // The preview shows the email as readers get it: in their language (the console itself stays English).
    const readers = localeFor(app.config.DIGEST_LOCALE);
    scope.get('/console/preview.html', async (_request, reply) => {
      const draft = await app.desk.preview();
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(draft.articleKeys.length > 0 ? browserView(draft.rendered.html, readers) : '<p>No articles yet.</p>');
    });
    scope.get('/console/preview.txt', async (_request, reply) => {
      const draft = await app.desk.preview();
      return reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(draft.articleKeys.length > 0 ? textView(draft.rendered.text, readers) : 'No articles yet.');
    });

    scope.post('/console/articles/:key/curate', async (request, reply) => {
      const { key } = request.params as { key: string };
      const article = await app.articles.get(key);
      if (!article) return reply.code(404).send({ error: 'no such article' });
      await curate(app, article, form(request).action ?? '');
      return reply.redirect('/console', 303);
    });

    scope.post('/console/draft', async (request, reply) => {
      const body = form(request);
      await app.editions.setDraft({ subject: body.subject ?? '', preheader: body.preheader ?? '' });
      return reply.redirect(`/console?notice=${encodeURIComponent('Subject and preheader saved.')}`, 303);
    });

    scope.post('/console/test-send', async (request, reply) => {
      const address = checkAddress(form(request).to);
      if (!address.ok) return today(request, reply, `Test not sent: ${address.reason}.`);
      const draft = await app.desk.preview();
      if (draft.articleKeys.length === 0)
        return today(request, reply, 'Test not sent: the edition has no articles yet.');
      const result = await app.testSends.send(address.address, { id: draft.id, ...draft.rendered });
      const notice = result.ok
        ? `Test sent to ${address.address} (${result.reply}).`
        : `Test not sent to ${address.address}: ${result.reason}`;
      return reply.redirect(`/console?notice=${encodeURIComponent(notice)}`, 303);
    });

    scope.post('/console/send-now', async (request, reply) => {
      const result = await app.desk.sendNow(by(request));
      if (result.ok) return reply.redirect(`/console/editions/${result.edition.id}`, 303);
      return reply.redirect(`/console?notice=${encodeURIComponent(`Not sent: ${result.error}.`)}`, 303);
    });

    scope.post('/console/editions/:id/action', async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = form(request);
      const act = editorActions(app.desk, by(request), body.reason ?? '')[body.action ?? ''];
      if (!act) return reply.code(400).send({ error: 'unknown action' });
      const result = await act(id);
      // Done shows in the edition's status; only a refusal needs words.
      return reply.redirect(
        `/console/editions/${id}${result.ok ? '' : `?notice=${encodeURIComponent(`Not done: ${result.error}.`)}`}`,
        303,
      );
    });

    scope.get('/console/editions', async (request, reply) => {
      const ids = await app.editions.list(60);
      const list = await Promise.all(ids.map(async (id) => reportEdition(app, await app.desk.view(id))));
      return render(reply, 200, 'Editions', request.adminSession!, editionsPage(list), '/console/editions');
    });

    const editionReport = async (id: string) => {
      if (!/^[\w-]{1,40}$/.test(id)) return null;
      const view = await app.desk.view(id);
      // A stored edition, or the next one while it still collects articles.
      const current = await app.desk.current();
      return view.edition || view.id === current.id ? reportEdition(app, view) : null;
    };

    scope.get('/console/editions/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      const report = await editionReport(id);
      if (!report)
        return render(reply, 404, 'No such edition', request.adminSession!, html`<p>There is no edition ${id}.</p>`);
      return render(
        reply,
        200,
        `Edition ${report.id}`,
        request.adminSession!,
        progressPage(request.adminSession!, report, String((request.query as Form).notice ?? '')),
        '/console/editions',
      );
    });

    scope.get('/console/editions/:id/progress.json', async (request, reply) => {
      const report = await editionReport((request.params as { id: string }).id);
      if (!report) return reply.code(404).send({ error: 'no such edition' });
      return {
        ...report.progress,
        status: report.status,
        finished: report.progress?.finished ?? true,
        statusText: describeStatus(report),
      };
    });

    scope.post('/console/editions/:id/resend', async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = form(request);
      const scopeOf: Record<string, ResendScope | undefined> = {
        failed: { failed: true },
        all: body.confirm === 'yes' ? { all: true } : undefined,
        email: { email: body.email ?? '' },
      };
      const resendScope = scopeOf[body.scope ?? ''];
      const result = resendScope
        ? await app.deliveries.resend(id, resendScope, by(request))
        : { ok: false as const, error: 'tick the confirmation to resend to everyone' };
      const notice = result.ok
        ? `Resend ${result.resend.run} queued for ${result.resend.recipients} recipient(s).`
        : `Not resent: ${result.error}.`;
      return reply.redirect(`/console/editions/${id}?notice=${encodeURIComponent(notice)}`, 303);
    });

    scope.get('/console/subscribers', async (request, reply) => {
      const query = request.query as Form;
      const q = (query.q ?? '').slice(0, 254);
      const after = /^\d{1,15}$/.test(query.after ?? '') ? query.after : undefined;
      const state = SUBSCRIBER_STATES.includes(query.state as SubscriberState) ? (query.state as SubscriberState) : '';
      const page = q
        ? { subscribers: (await app.subscribers.search(q, 50)).filter((s) => !state || s.state === state), next: null }
        : await app.subscribers.page({ limit: 50, ...(state ? { state } : {}), ...(after ? { after } : {}) });
      const body = subscribersPage(
        request.adminSession!,
        { q, state },
        page.subscribers,
        page.next,
        await app.subscribers.countsByState(),
        await app.imports.list(5),
      );
      return render(reply, 200, 'Subscribers', request.adminSession!, body, '/console/subscribers');
    });

    // A list of any size: the file is read as it arrives (never held whole), then a worker merges it.
    await scope.register(async (uploads) => {
      await uploads.register(multipart, {
        limits: { files: 1, fields: 5, fieldSize: 100, parts: 6, fileSize: IMPORT_MAX_BYTES },
      });
      uploads.post('/console/subscribers/import', async (request, reply) => {
        const file = await request.file();
        if (!file) return reply.code(400).send({ error: 'choose a CSV file to import' });
        const chosen =
          parseImportedState(String((file.fields.state as { value?: unknown } | undefined)?.value ?? 'confirmed')) ??
          'confirmed';
        const id = await app.imports.receive(file.file, { fileName: file.filename, by: by(request), state: chosen });
        if ((await app.imports.get(id))?.status === 'received')
          await app.transactionalQueue.add('import', { importId: id });
        return reply.redirect(`/console/subscribers/imports/${id}`, 303);
      });
    });

    scope.get('/console/subscribers/imports/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      const summary = await app.imports.get(id);
      if (!summary) return reply.redirect('/console/subscribers', 303);
      return render(
        reply,
        200,
        `Import #${summary.id}`,
        request.adminSession!,
        importPage(summary, await app.imports.rejected(id, 50)),
        '/console/subscribers',
      );
    });

    scope.get('/console/subscribers/imports/:id/rejected.csv', async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!(await app.imports.get(id))) return reply.code(404).send({ error: 'no such import' });
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${id}-rejected.csv"`)
        .send(Readable.from(app.imports.rejectedCsv(id)));
    });

    scope.get('/console/subscribers/export.csv', async (_request, reply) => {
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="subscribers.csv"')
        .send(Readable.from(admin.exportCsv()));
    });

    scope.get('/console/subscribers/:id', async (request, reply) => {
      const record = await admin.record((request.params as { id: string }).id);
      if (!record) return reply.redirect('/console/subscribers', 303);
      return render(
        reply,
        200,
        record.subscriber.email,
        request.adminSession!,
        subscriberPage(request.adminSession!, record, String((request.query as Form).notice ?? '')),
        '/console/subscribers',
      );
    });

    scope.get('/console/subscribers/:id/export.json', async (request, reply) => {
      const record = await admin.record((request.params as { id: string }).id);
      if (!record) return reply.code(404).send({ error: 'no such subscriber' });
      return reply
        .header('content-disposition', `attachment; filename="subscriber-${record.subscriber.id}.json"`)
        .send(record);
    });

    scope.post('/console/subscribers/:id/action', async (request, reply) => {
      const { id } = request.params as { id: string };
      const action = form(request).action;
      if (action !== 'unsubscribe' && action !== 'suppress' && action !== 'lift')
        return reply.code(400).send({ error: 'unknown action' });
      const done = await admin.act(id, action, by(request));
      return reply.redirect(
        `/console/subscribers/${id}?notice=${encodeURIComponent(done ? `Done: ${action}.` : `Not possible in this state: ${action}.`)}`,
        303,
      );
    });

    scope.post('/console/subscribers/:id/erase', async (request, reply) => {
      await admin.erase((request.params as { id: string }).id);
      return reply.redirect('/console/subscribers', 303);
    });

    if (app.devMailbox) registerDevMailboxRoutes(scope, app.devMailbox, app.config.NEWSLETTER_NAME, '/console/mailbox');

    scope.get('/console/feeds', async (request, reply) =>
      render(
        reply,
        200,
        'Feeds',
        request.adminSession!,
        feedsPage(request.adminSession!, await app.feeds.statuses(app.config.FEEDS)),
        '/console/feeds',
      ),
    );
    scope.post('/console/feeds/poll', async (_request, reply) => {
      await app.feeds.pollAll(app.config.FEEDS);
      return reply.redirect('/console/feeds', 303);
    });
  });
}

function isSafeMethod(request: FastifyRequest): boolean {
  return request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS';
}

function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  return typeof origin === 'string' && origin === `${request.protocol}://${request.headers.host ?? ''}`;
}

/** Editors' curation: choose (appended after the chosen ones), leave out, back to automatic, or move among the chosen. */
async function curate(app: App, article: Article, action: string): Promise<void> {
  const draft = await app.desk.preview();
  const chosen = (await app.articles.publishedBetween(draft.window.start, draft.window.end))
    .filter((candidate) => candidate.selected === true)
    .sort((a, b) => (a.position ?? 1e9) - (b.position ?? 1e9) || b.publishedAt.getTime() - a.publishedAt.getTime());
  if (action === 'leave-out' || action === 'reset') {
    await app.articles.setCuration(article.key, action === 'leave-out' ? false : null, null);
    return;
  }
  const order = chosen.filter((candidate) => candidate.key !== article.key);
  const index = chosen.findIndex((candidate) => candidate.key === article.key);
  if (action === 'choose') order.push(article);
  else if (action === 'up' || action === 'down')
    order.splice(Math.max(0, Math.min(order.length, index + (action === 'up' ? -1 : 1))), 0, article);
  else return;
  for (const [position, candidate] of order.entries())
    await app.articles.setCuration(candidate.key, true, position + 1);
}
