import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/admin/sessions.ts';
import { parse as parseCsv } from 'csv-parse/sync';
import type { SubscriberState } from '../../src/subscribers/subscriber-store.ts';
import { ADMIN_TOKEN, type Harness, linkIn, publishedForToday, startHarness, waitFor } from '../support/harness.ts';

/**
 * The admin console over plain HTTP (fetch, no redirects followed, a small cookie jar) against the
 * service with a real Redis and SMTP server: login and sessions, CSRF on every form post, the
 * subscriber tools (import, export, paging, search, actions, erasure), sending and resending
 * editions, and escaping of stored text in the pages.
 */

type Fields = Record<string, string>;

interface Reply {
  status: number;
  location: string | null;
  text: string;
  headers: Headers;
  setCookies: string[];
}

/** Cookies by name, kept the way a browser on this one origin would (expired ones dropped). */
class CookieJar {
  private readonly values = new Map<string, string>();

  take(response: Response): string[] {
    const lines = response.headers.getSetCookie();
    for (const line of lines) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = /;\s*max-age=0(;|$)/i.test(line) || /;\s*expires=[^;]*1970/i.test(line);
      if (expired || !value) this.values.delete(name);
      else this.values.set(name, value);
    }
    return lines;
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  set(name: string, value: string): void {
    this.values.set(name, value);
  }

  header(): string {
    return [...this.values].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** One browser's worth of console requests: its cookies and the page CSRF token of its session. */
class ConsoleClient {
  readonly jar = new CookieJar();
  csrf = '';

  constructor(readonly base: string) {}

  get session(): string | undefined {
    return this.jar.get('digest_session');
  }

  async send(method: string, path: string, options: { form?: Fields; headers?: Fields } = {}): Promise<Reply> {
    const headers: Fields = { ...options.headers };
    const cookie = this.jar.header();
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    }
    const response = await fetch(`${this.base}${path}`, { method, headers, body, redirect: 'manual' });
    const setCookies = this.jar.take(response);
    return {
      status: response.status,
      location: response.headers.get('location'),
      text: await response.text(),
      headers: response.headers,
      setCookies,
    };
  }

  get(path: string): Promise<Reply> {
    return this.send('GET', path);
  }

  /** A file upload (multipart) with this session's CSRF token in the address, as the import form sends it. */
  async upload(
    path: string,
    fields: Fields,
    file: { field: string; name: string; content: string | Buffer },
  ): Promise<Reply> {
    const body = new FormData();
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    body.append(file.field, new Blob([file.content], { type: 'text/csv' }), file.name);
    const response = await fetch(
      `${this.base}${path}${path.includes('?') ? '&' : '?'}_csrf=${encodeURIComponent(this.csrf)}`,
      {
        method: 'POST',
        headers: { cookie: this.jar.header() },
        body,
        redirect: 'manual',
      },
    );
    return {
      status: response.status,
      location: response.headers.get('location'),
      text: await response.text(),
      headers: response.headers,
      setCookies: this.jar.take(response),
    };
  }

  /** A form post carrying this session's CSRF token (a `_csrf` in `form` wins). */
  post(path: string, form: Fields = {}): Promise<Reply> {
    return this.send('POST', path, { form: { _csrf: this.csrf, ...form } });
  }
}

const HIDDEN_CSRF = /<input type="hidden" name="_csrf" value="([^"]+)">/;

function hiddenCsrf(page: string): string {
  const match = HIDDEN_CSRF.exec(page);
  if (!match?.[1]) throw new Error(`no _csrf field in:\n${page.slice(0, 500)}`);
  return match[1];
}

/** GET the login form, post it back with its login CSRF token; on success, read the session's CSRF token from /console. */
async function login(base: string, name: string, password: string): Promise<{ client: ConsoleClient; reply: Reply }> {
  const client = new ConsoleClient(base);
  const form = await client.get('/console/login');
  expect(form.status).toBe(200);
  const loginCsrf = hiddenCsrf(form.text);
  expect(client.jar.get('digest_login')).toBe(loginCsrf);
  const reply = await client.send('POST', '/console/login', { form: { _csrf: loginCsrf, name, password } });
  if (reply.status === 303) {
    const page = await client.get('/console');
    expect(page.status).toBe(200);
    client.csrf = hiddenCsrf(page.text);
  }
  return { client, reply };
}

async function loggedIn(base: string, name: string, password = ADMIN_TOKEN): Promise<ConsoleClient> {
  const { client, reply } = await login(base, name, password);
  expect(reply.status).toBe(303);
  expect(client.session).toMatch(/^[\w-]{43}$/);
  return client;
}

/** Rows of the subscribers table: id, address, name (as HTML) and state. */
function subscriberRows(page: string): Array<{ id: string; email: string; name: string; state: string }> {
  const rows = page.matchAll(
    /<tr><td><a href="\/console\/subscribers\/(\d+)">([^<]*)<\/a><\/td><td>([^<]*)<\/td><td>(\w+)<\/td>/g,
  );
  return [...rows].map(([, id = '', email = '', name = '', state = '']) => ({ id, email, name, state }));
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

async function addSubscriber(h: Harness, email: string, state: SubscriberState, fields: Fields = {}): Promise<string> {
  const { id, created } = await h.app.subscribers.create(email.toLowerCase(), { email, name: '', ...fields });
  expect(created).toBe(true);
  if (state !== 'pending') {
    const moved = await h.app.subscribers.transition({ id, from: ['pending'], to: state, reason: `test: ${state}` });
    expect(moved.ok).toBe(true);
  }
  return id;
}

async function idOf(h: Harness, email: string): Promise<string | null> {
  return h.app.subscribers.findIdByEmail(email.toLowerCase());
}

describe('console login and sessions', () => {
  let h: Harness;
  let base: string;
  const MARIA_PASSWORD = 'correct horse battery';

  beforeAll(async () => {
    h = await startHarness({ workers: false, env: { ADMIN_USERS: hashPassword('maria', MARIA_PASSWORD) } });
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => h?.close());

  it('answers a wrong password with a 401 login page and the error, and sets no session cookie', async () => {
    const { client, reply } = await login(base, '', 'wrong-password-123456');
    expect(reply.status).toBe(401);
    expect(reply.text).toContain('<p class="error" role="alert">Wrong name or password.</p>');
    expect(reply.setCookies.some((line) => line.startsWith('digest_session='))).toBe(false);
    expect(client.session).toBeUndefined();
    // The refused form comes back with a fresh login token, in the page and in the cookie.
    expect(hiddenCsrf(reply.text)).toBe(client.jar.get('digest_login'));
  });

  it('refuses a login with an empty _csrf and no login cookie', async () => {
    const client = new ConsoleClient(base);
    const reply = await client.send('POST', '/console/login', { form: { _csrf: '', password: ADMIN_TOKEN } });
    expect(reply.status).toBe(403);
    expect(client.session).toBeUndefined();
  });

  it('answers HEAD like GET: the page with a session, the login redirect without', async () => {
    expect((await new ConsoleClient(base).send('HEAD', '/console')).status).toBe(303);
    const { client } = await login(base, '', ADMIN_TOKEN);
    expect((await client.send('HEAD', '/console')).status).toBe(200);
  });

  it('refuses cross-site writes to the queue dashboard even with a session', async () => {
    const { client } = await login(base, '', ADMIN_TOKEN);
    const crossSite = await client.send('PUT', '/console/queues/api/queues/pause', {
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    expect(await h.app.deliveryQueue.isPaused()).toBe(false);
  });

  it('refuses a login post with a missing or forged login CSRF token (403), even with the right password', async () => {
    const client = new ConsoleClient(base);
    const form = await client.get('/console/login');
    const loginCsrf = hiddenCsrf(form.text);

    const missingField = await client.send('POST', '/console/login', { form: { password: ADMIN_TOKEN } });
    expect(missingField.status).toBe(403);
    expect(missingField.text).toContain('The form expired. Please try again.');

    client.jar.set('digest_login', loginCsrf);
    const forgedField = await client.send('POST', '/console/login', {
      form: { _csrf: 'forged-token-forged-token-forged1', password: ADMIN_TOKEN },
    });
    expect(forgedField.status).toBe(403);

    const noCookie = new ConsoleClient(base);
    const fieldWithoutCookie = await noCookie.send('POST', '/console/login', {
      form: { _csrf: loginCsrf, password: ADMIN_TOKEN },
    });
    expect(fieldWithoutCookie.status).toBe(403);

    for (const reply of [missingField, forgedField, fieldWithoutCookie]) {
      expect(reply.setCookies.some((line) => line.startsWith('digest_session='))).toBe(false);
    }
    expect(client.session).toBeUndefined();
    expect(noCookie.session).toBeUndefined();
  });

  it('logs in with the admin token and sets an HttpOnly, SameSite=Strict session cookie for /console', async () => {
    const { client, reply } = await login(base, '', ADMIN_TOKEN);
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/console');
    const cookie = reply.setCookies.find((line) => line.startsWith('digest_session='));
    expect(cookie).toBeDefined();
    const attributes = cookie!.split(';').map((part) => part.trim().toLowerCase());
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=strict');
    expect(attributes).toContain('path=/console');
    expect(attributes).toContain('secure'); // PUBLIC_URL is https
    expect(attributes).toContain(`max-age=${12 * 3600}`);
    const page = await client.get('/console');
    expect(page.text).toContain('<span class="who">admin</span>');
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('logs in an ADMIN_USERS admin with their own password and shows their name', async () => {
    const maria = await loggedIn(base, 'maria', MARIA_PASSWORD);
    const page = await maria.get('/console');
    expect(page.text).toContain('<span class="who">maria</span>');
  });

  it('refuses a known ADMIN_USERS name with the admin token as password: a listed admin must use their own password', async () => {
    const { client, reply } = await login(base, 'maria', ADMIN_TOKEN);
    expect(reply.status).toBe(401);
    expect(reply.text).toContain('Wrong name or password.');
    expect(client.session).toBeUndefined();
  });

  it('refuses a name with control characters, even with the admin token, as a wrong login', async () => {
    for (const name of ['eve\u0000', 'eve\r\nadmin']) {
      const { reply } = await login(base, name, ADMIN_TOKEN);
      expect(reply.status).toBe(401);
    }
  });

  it("refuses an unlisted name with a listed admin's password, and lets the admin token log in under any unlisted name", async () => {
    const { reply } = await login(base, 'mario', MARIA_PASSWORD);
    expect(reply.status).toBe(401);
    const eve = await loggedIn(base, 'editor-eve', ADMIN_TOKEN);
    expect((await eve.get('/console')).text).toContain('<span class="who">editor-eve</span>');
  });

  it('logs out only with the CSRF token, and the old session cookie is then worthless', async () => {
    const client = await loggedIn(base, '', ADMIN_TOKEN);
    const oldSession = client.session!;

    const forged = await client.send('POST', '/console/logout', { form: { _csrf: 'not-the-token' } });
    expect(forged.status).toBe(403);
    expect((await client.get('/console')).status).toBe(200);

    const out = await client.post('/console/logout');
    expect(out.status).toBe(303);
    expect(out.location).toBe('/console/login');
    const cleared = out.setCookies.find((line) => line.startsWith('digest_session='));
    expect(cleared).toMatch(/path=\/console/i);
    expect(cleared).toMatch(/expires=thu, 01 jan 1970|max-age=0/i);
    expect(client.session).toBeUndefined();

    // A copy of the old cookie (say, kept by an attacker) no longer opens anything.
    const replay = new ConsoleClient(base);
    replay.jar.set('digest_session', oldSession);
    const page = await replay.get('/console');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/console/login');
    replay.csrf = client.csrf;
    expect((await replay.post('/console/send-now')).status).toBe(401);
    expect(await h.app.editions.list()).toEqual([]);
  });
});

describe('console login rate limit', () => {
  let h: Harness;
  let base: string;

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => h?.close());

  it('answers 429 after 5 failed login attempts for one name from one address, even with the right password', async () => {
    const client = new ConsoleClient(base);
    let loginCsrf = hiddenCsrf((await client.get('/console/login')).text);
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const reply = await client.send('POST', '/console/login', {
        form: { _csrf: loginCsrf, password: `wrong-password-${attempt}` },
      });
      expect(reply.status).toBe(401);
      loginCsrf = hiddenCsrf(reply.text);
    }
    const blocked = await client.send('POST', '/console/login', { form: { _csrf: loginCsrf, password: ADMIN_TOKEN } });
    expect(blocked.status).toBe(429);
    expect(blocked.text).toContain('Too many failed attempts. Try again in 15 minute(s).');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
    expect(blocked.setCookies.some((line) => line.startsWith('digest_session='))).toBe(false);
    expect(client.session).toBeUndefined();
  });
});

describe('console CSRF protection', () => {
  let h: Harness;
  let base: string;
  let client: ConsoleClient;
  let other: ConsoleClient;
  let subscriberId: string;
  let articleKey: string;

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
    subscriberId = await addSubscriber(h, 'reader@example.test', 'confirmed');
    const ingested = await h.app.intake.ingest(
      {
        url: 'https://news.example.org/csrf',
        title: 'A story to curate',
        section: 'Top stories',
        publishedAt: await publishedForToday(h),
      },
      'admin',
    );
    if (!ingested.ok) throw new Error(ingested.issues.join('; '));
    articleKey = ingested.key;
    client = await loggedIn(base, 'admin');
    other = await loggedIn(base, 'other');
    expect(other.csrf).not.toBe(client.csrf);
  });
  afterAll(async () => h?.close());

  const routes = (): Array<[string, Fields]> => [
    ['/console/logout', {}],
    [`/console/articles/${articleKey}/curate`, { action: 'leave-out' }],
    ['/console/draft', { subject: 'Forged subject', preheader: 'Forged preheader' }],
    ['/console/test-send', { to: 'attacker@example.test' }],
    ['/console/send-now', {}],
    ['/console/editions/2020-01-01/resend', { scope: 'all', confirm: 'yes' }],
    ['/console/subscribers/import', { csv: 'attacker@example.test,Attacker' }],
    [`/console/subscribers/${subscriberId}/action`, { action: 'unsubscribe' }],
    [`/console/subscribers/${subscriberId}/erase`, {}],
    ['/console/feeds/poll', {}],
  ];

  it('answers 401 to every console form post without a session', async () => {
    const stranger = new ConsoleClient(base);
    for (const [path, form] of routes()) {
      const reply = await stranger.send('POST', path, { form: { _csrf: client.csrf, ...form } });
      expect(reply.status, path).toBe(401);
      expect(JSON.parse(reply.text), path).toEqual({ error: 'log in first' });
    }
  });

  it('answers 403 to every console form post with a session but a missing, wrong or foreign CSRF token', async () => {
    for (const [path, form] of routes()) {
      const attempts: Array<[string, { form?: Fields; headers?: Fields }]> = [
        ['no token', { form }],
        ['no body at all', {}],
        ['wrong token', { form: { ...form, _csrf: 'wrong-token-wrong-token-wrong-tok' } }],
        ['empty token', { form: { ...form, _csrf: '' } }],
        ["another session's token", { form: { ...form, _csrf: other.csrf } }],
        ['wrong header', { form, headers: { 'x-csrf-token': 'wrong-token-wrong-token-wrong-tok' } }],
      ];
      for (const [what, options] of attempts) {
        const reply = await client.send('POST', path, options);
        expect(reply.status, `${path}: ${what}`).toBe(403);
        expect(reply.text, `${path}: ${what}`).toContain('missing or wrong CSRF token');
      }
    }
  });

  it('changed nothing on those refused posts', async () => {
    expect(await h.app.editions.list()).toEqual([]);
    expect(await h.app.editions.draft()).toEqual({ subject: '', preheader: '' });
    expect((await h.app.articles.get(articleKey))?.selected ?? null).toBeNull();
    expect(await h.app.subscribers.get(subscriberId)).toMatchObject({
      email: 'reader@example.test',
      state: 'confirmed',
    });
    expect(await idOf(h, 'attacker@example.test')).toBeNull();
    expect(await h.app.subscribers.countsByState()).toMatchObject({ confirmed: 1, pending: 0, unsubscribed: 0 });
    const jobs = await h.app.transactionalQueue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    expect(Object.values(jobs).reduce((sum, count) => sum + count, 0)).toBe(0);
    expect(h.sink.messages).toEqual([]);
    // The session survived the refused logouts.
    expect((await client.get('/console')).status).toBe(200);
  });

  it('saves a subject and preheader as one line of text: a NUL byte or a line break becomes a space', async () => {
    const saved = await client.post('/console/draft', {
      subject: 'Storm\u0000warning\r\nBcc: victim@example.test',
      preheader: 'Read\u0000on',
    });
    expect(saved.status).toBe(303);
    expect(await h.app.editions.draft()).toEqual({
      subject: 'Storm warning Bcc: victim@example.test',
      preheader: 'Read on',
    });
  });

  it('accepts the token as the _csrf form field or as the x-csrf-token header', async () => {
    const byField = await client.post('/console/draft', { subject: 'By field', preheader: '' });
    expect(byField.status).toBe(303);
    expect(await h.app.editions.draft()).toMatchObject({ subject: 'By field' });
    const byHeader = await client.send('POST', '/console/draft', {
      form: { subject: 'By header', preheader: '' },
      headers: { 'x-csrf-token': client.csrf },
    });
    expect(byHeader.status).toBe(303);
    expect(await h.app.editions.draft()).toMatchObject({ subject: 'By header' });
    const curated = await client.post(`/console/articles/${articleKey}/curate`, { action: 'choose' });
    expect(curated.status).toBe(303);
    expect(await h.app.articles.get(articleKey)).toMatchObject({ selected: true, position: 1 });
  });
});

describe('console subscribers: import, export and search', () => {
  let h: Harness;
  let base: string;
  let client: ConsoleClient;

  beforeAll(async () => {
    // With a delivery worker: it merges the imports.
    h = await startHarness();
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
    await addSubscriber(h, 'pending@example.test', 'pending', { name: 'Pat' });
    await addSubscriber(h, 'gone@example.test', 'unsubscribed', { name: 'Gone' });
    client = await loggedIn(base, 'admin');
  });
  afterAll(async () => h?.close());

  const CSV = [
    'Email,Name',
    'alice@example.test,Alice Archer',
    '"bob@example.test","Builder, Bob"',
    'not-an-address,Nobody',
    'eve@example.test,"Eve\rBcc: victim@example.test"',
    'PENDING@Example.test,Someone Else',
    'gone@example.test,Gone Again',
    '',
    'Zed.Zulu@Example.TEST,Zed',
    '',
  ].join('\r\n');

  /** Uploads a list and waits for the worker to merge it; answers the import's page. */
  const importFile = async (content: string | Buffer, fields: Fields = {}, name = 'list.csv') => {
    const upload = await client.upload('/console/subscribers/import', fields, { field: 'csv', name, content });
    expect(upload.status).toBe(303);
    const path = upload.location ?? '';
    expect(path).toMatch(/^\/console\/subscribers\/imports\/\d+$/);
    return waitFor(async () => {
      const page = await client.get(path);
      return /id="import-status"[^>]*>(Done|Failed)/.test(page.text) ? { ...page, path } : null;
    }, 'the import to finish');
  };
  const statusLine = (page: Reply) => unescapeHtml(/id="import-status"[^>]*>([^<]*)</.exec(page.text)?.[1] ?? '');

  it('imports a CSV file and reports imported, confirmed, skipped and rejected rows with line numbers', async () => {
    const page = await importFile(CSV);
    expect(statusLine(page)).toBe(
      'Done: 3 new (3 confirmed); already here: 1 pending now confirmed, 0 now left, 1 skipped; 0 duplicates merged, 2 rejected of 7 rows.',
    );
    expect(page.text).toContain('<tr><td>4</td><td>not-an-address,Nobody</td><td>email must have one @</td></tr>');
    // A carriage return inside quotes counts as a line break, as most editors show it; the page shows it escaped.
    expect(page.text).toContain(
      String.raw`<tr><td>6</td><td>eve@example.test,&quot;Eve\rBcc: victim@example.test&quot;</td><td>name contains control characters</td></tr>`,
    );
    expect(page.text).toContain('<tr><td>already unsubscribed</td><td>1</td></tr>');

    const alice = await h.app.subscribers.get((await idOf(h, 'alice@example.test'))!);
    expect(alice).toMatchObject({
      email: 'alice@example.test',
      name: 'Alice Archer',
      state: 'confirmed',
      consentIp: 'import by console:admin',
    });
    expect(alice?.confirmedAt).toBe(alice?.consentAt);
    expect((await h.app.subscribers.history(alice!.id))[0]).toMatchObject({
      from: null,
      to: 'confirmed',
      reason: 'imported with consent',
      by: 'console:admin',
    });
    expect(await h.app.subscribers.get((await idOf(h, 'bob@example.test'))!)).toMatchObject({
      name: 'Builder, Bob',
      state: 'confirmed',
    });
    expect(await h.app.subscribers.get((await idOf(h, 'zed.zulu@example.test'))!)).toMatchObject({
      email: 'Zed.Zulu@example.test',
      name: 'Zed',
      state: 'confirmed',
    });
    expect(await idOf(h, 'eve@example.test')).toBeNull();
    // The pending address (given in another case) is confirmed, keeping its own name and consent.
    expect(await h.app.subscribers.get((await idOf(h, 'pending@example.test'))!)).toMatchObject({
      email: 'pending@example.test',
      name: 'Pat',
      state: 'confirmed',
    });
    // Whoever left is not re-subscribed by an import.
    expect(await h.app.subscribers.get((await idOf(h, 'gone@example.test'))!)).toMatchObject({
      name: 'Gone',
      state: 'unsubscribed',
    });
    expect(await h.app.subscribers.countsByState()).toEqual({
      pending: 0,
      confirmed: 4,
      unsubscribed: 1,
      bounced: 0,
      complained: 0,
    });

    // Every rejected row, downloadable.
    const rejected = await client.get(`${page.path}/rejected.csv`);
    expect(rejected.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(parseCsv(rejected.text, { columns: true })).toEqual([
      { line: '4', row: 'not-an-address,Nobody', reason: 'email must have one @' },
      {
        line: '6',
        row: 'eve@example.test,"Eve\rBcc: victim@example.test"',
        reason: 'name contains control characters',
      },
    ]);
  });

  it('imports the same CSV again without creating or changing anyone', async () => {
    const page = await importFile(CSV);
    expect(statusLine(page)).toBe(
      'Done: 0 new; already here: 0 pending now confirmed, 0 now left, 5 skipped; 0 duplicates merged, 2 rejected of 7 rows.',
    );
    expect(page.text).toContain('<tr><td>already confirmed</td><td>4</td></tr>');
    expect(await h.app.subscribers.countsByState()).toEqual({
      pending: 0,
      confirmed: 4,
      unsubscribed: 1,
      bounced: 0,
      complained: 0,
    });
  });

  it('maps Mailchimp exports: subscribed with opt-in time and IP, unsubscribed and cleaned files imported as such, never confirmed', async () => {
    const header =
      '"Email Address","First Name","Last Name",MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS';
    const subscribed = [
      header,
      '"mc.sub@example.test",Mia,Chimp,2,"2024-05-01 10:11:12",203.0.113.9,"2024-05-01 10:12:00",203.0.113.9,,,,,,,,"2024-05-01 10:12:00",1,abc,,',
    ].join('\n');
    expect(statusLine(await importFile(subscribed, {}, 'subscribed_members_export_1.csv'))).toMatch(
      /^Done: 1 new \(1 confirmed\);/,
    );
    expect(await h.app.subscribers.get((await idOf(h, 'mc.sub@example.test'))!)).toMatchObject({
      name: 'Mia',
      state: 'confirmed',
      consentAt: '2024-05-01T10:11:12.000Z',
      consentIp: '203.0.113.9',
    });

    const unsubscribed = [
      `${header.replace(',NOTES,TAGS', '')},UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_CAMPAIGN_ID,UNSUB_REASON,UNSUB_REASON_OTHER`,
      '"mc.left@example.test",Lou,,2,"2024-01-01 00:00:00",,,,,,,,,,,"2024-06-01 08:00:00",2,def,"2024-06-01 08:00:00",Weekly,x1,NORMAL,',
    ].join('\n');
    expect(statusLine(await importFile(unsubscribed, {}, 'unsubscribed_members_export_1.csv'))).toMatch(
      /^Done: 1 new \(1 unsubscribed\);/,
    );
    expect(await h.app.subscribers.get((await idOf(h, 'mc.left@example.test'))!)).toMatchObject({
      state: 'unsubscribed',
      unsubscribedAt: '2024-06-01T08:00:00.000Z',
    });

    const cleaned = [
      `${header.replace(',NOTES,TAGS', '')},CLEAN_TIME,CLEAN_CAMPAIGN_TITLE,CLEAN_CAMPAIGN_ID`,
      '"mc.gone@example.test",,,1,,,,,,,,,,,,"2024-07-01 09:00:00",3,ghi,"2024-07-01 09:00:00",Weekly,x2',
      '"mc.sub@example.test",Mia,,1,,,,,,,,,,,,"2024-07-02 09:00:00",3,ghi,"2024-07-02 09:00:00",Weekly,x2',
    ].join('\n');
    const page = await importFile(cleaned, {}, 'cleaned_members_export_1.csv');
    expect(statusLine(page)).toBe(
      'Done: 1 new (1 bounced); already here: 0 pending now confirmed, 1 now left, 0 skipped; 0 duplicates merged, 0 rejected of 2 rows.',
    );
    expect(await h.app.subscribers.get((await idOf(h, 'mc.gone@example.test'))!)).toMatchObject({
      state: 'bounced',
      suppressionReason: 'imported as bounced',
    });
    // A confirmed reader the list says has bounced is suppressed, with the reason in the history.
    const mia = await h.app.subscribers.get((await idOf(h, 'mc.sub@example.test'))!);
    expect(mia?.state).toBe('bounced');
    expect((await h.app.subscribers.history(mia!.id))[0]).toMatchObject({
      from: 'confirmed',
      to: 'bounced',
      reason: 'imported as bounced',
      by: 'console:admin',
    });
  });

  it('maps listmonk exports by their status column, and merges rows of one address (the most restrictive wins)', async () => {
    const listmonk = [
      'uuid,email,name,attributes,status,created_at,updated_at',
      'a1,lm.on@example.test,Lin On,{},enabled,2024-02-01T10:00:00Z,2024-02-01T10:00:00Z',
      'a2,lm.off@example.test,Lin Off,{},blocklisted,2024-02-01T10:00:00Z,2024-03-01T10:00:00Z',
      'a3,lm.twice@example.test,Twice,{},enabled,2024-02-01T10:00:00Z,2024-02-01T10:00:00Z',
      'a4,LM.Twice@example.test,Twice,{},disabled,2024-02-01T10:00:00Z,2024-02-02T10:00:00Z',
      'a5,lm.odd@example.test,Odd,{},sort-of,2024-02-01T10:00:00Z,2024-02-01T10:00:00Z',
    ].join('\n');
    const page = await importFile(listmonk);
    expect(statusLine(page)).toBe(
      'Done: 3 new (1 confirmed, 2 unsubscribed); already here: 0 pending now confirmed, 0 now left, 0 skipped; 1 duplicates merged, 1 rejected of 5 rows.',
    );
    expect(page.text).toContain('status &quot;sort-of&quot; is not one of');
    expect(await h.app.subscribers.get((await idOf(h, 'lm.on@example.test'))!)).toMatchObject({
      name: 'Lin On',
      state: 'confirmed',
      consentAt: '2024-02-01T10:00:00.000Z',
    });
    expect((await h.app.subscribers.get((await idOf(h, 'lm.off@example.test'))!))?.state).toBe('unsubscribed');
    expect((await h.app.subscribers.get((await idOf(h, 'lm.twice@example.test'))!))?.state).toBe('unsubscribed');
  });

  it('imports rows without a status column as the form says, and fails a file that is not a list with a clear reason', async () => {
    expect(statusLine(await importFile('email\nformer@example.test\n', { state: 'unsubscribed' }))).toMatch(
      /^Done: 1 new \(1 unsubscribed\);/,
    );
    expect((await h.app.subscribers.get((await idOf(h, 'former@example.test'))!))?.state).toBe('unsubscribed');
    const before = await h.app.subscribers.countsByState();
    const failed = await importFile('id;name;phone\n1;Ann;555\n');
    expect(statusLine(failed)).toBe('Failed: no email column in the header (found: id, name, phone)');
    expect(statusLine(await importFile(''))).toBe('Failed: the file has no rows');
    expect(await h.app.subscribers.countsByState()).toEqual(before);
  });

  it('rejects a row holding a NUL byte, keeps it for the report, and imports the rest', async () => {
    const page = await importFile(
      [
        'email,name',
        'nul1@example.test,Nul One',
        'nul2@exam\u0000ple.test,Nul Two',
        'nul3@example.test,Nul\u0000Three',
        'nul4@example.test,Nul Four',
      ].join('\n'),
    );
    expect(statusLine(page)).toBe(
      'Done: 2 new (2 confirmed); already here: 0 pending now confirmed, 0 now left, 0 skipped; 0 duplicates merged, 2 rejected of 4 rows.',
    );
    expect(await idOf(h, 'nul4@example.test')).not.toBeNull();
    const rejected = parseCsv((await client.get(`${page.path}/rejected.csv`)).text, { columns: true }) as Array<{
      line: string;
      row: string;
    }>;
    expect(rejected.map((row) => row.line)).toEqual(['3', '4']);
    expect(rejected[0]?.row).toBe('nul2@exam\uFFFDple.test,Nul Two');
  });

  it('shows rejected rows with their control and format characters escaped, and keeps them as they were in the CSV download', async () => {
    const row = 'esc@example.test,\u001b]0;PWNED\u0007 \u202Eknab';
    const page = await importFile(['email,name', row].join('\n'));
    expect(statusLine(page)).toMatch(/^Done: .* 1 rejected of 1 rows\.$/);
    expect(page.text).toContain(
      String.raw`<tr><td>2</td><td>esc@example.test,\x1b]0;PWNED\x07 \u202eknab</td><td>name contains control characters</td></tr>`,
    );
    // eslint-disable-next-line no-control-regex -- the characters the row held must not reach the page
    expect(page.text).not.toMatch(/[\u001b\u0007\u202e]/);
    const rejected = parseCsv((await client.get(`${page.path}/rejected.csv`)).text, { columns: true }) as Array<{
      row: string;
    }>;
    expect(rejected.map((item) => item.row)).toEqual([row]);
  });

  it('reads a file with the separator of its first line only: other separators are data, a row with another column count is rejected with its line', async () => {
    const page = await importFile(
      [
        'email,name',
        'f5@example.test,Bob;=1+1',
        'f6@example.test,\t=1+1',
        'f7@example.test,Ann,Extra',
        'f8@example.test;Zed',
        '',
      ].join('\n'),
    );
    expect(statusLine(page)).toMatch(/ 2 rejected of 4 rows\.$/);
    expect(page.text).toContain(
      '<tr><td>4</td><td>f7@example.test,Ann,Extra</td><td>3 columns where the first line has 2 (separated by &quot;,&quot;)</td></tr>',
    );
    expect(page.text).toContain(
      '<tr><td>5</td><td>f8@example.test;Zed</td><td>1 column where the first line has 2 (separated by &quot;,&quot;)</td></tr>',
    );
    expect(await h.app.subscribers.get((await idOf(h, 'f5@example.test'))!)).toMatchObject({
      name: 'Bob;=1+1',
      state: 'confirmed',
    });
    // The tab is data too; the name rules trim the space around a name.
    expect(await h.app.subscribers.get((await idOf(h, 'f6@example.test'))!)).toMatchObject({
      name: '=1+1',
      state: 'confirmed',
    });
    expect(await idOf(h, 'f7@example.test')).toBeNull();
    expect(await idOf(h, 'f8@example.test')).toBeNull();

    // A semicolon file (as spreadsheets write them where the comma is the decimal mark): its commas and tabs are data.
    expect(
      statusLine(await importFile('email;name\nsemi@example.test;"Anna, Maria"\nsemi2@example.test;Lee, Jo\n')),
    ).toMatch(/ 0 rejected of 2 rows\.$/);
    expect((await h.app.subscribers.get((await idOf(h, 'semi@example.test'))!))?.name).toBe('Anna, Maria');
    expect((await h.app.subscribers.get((await idOf(h, 'semi2@example.test'))!))?.name).toBe('Lee, Jo');

    // What was imported as data is exported with its formulas neutralised.
    const exported = (await client.get('/console/subscribers/export.csv')).text;
    expect(exported).toMatch(/^\d+,f5@example\.test,"Bob;'=1\+1",confirmed,/m);
    expect(exported).toMatch(/^\d+,f6@example\.test,'=1\+1,confirmed,/m);
  });

  it('streams a large list and merges it in chunks', async () => {
    const rows = Array.from({ length: 60_000 }, (_, index) => `bulk${index}@example.test,Reader ${index}`);
    const before = (await h.app.subscribers.countsByState()).confirmed;
    const page = await importFile(['email,name', ...rows].join('\n'));
    expect(statusLine(page)).toBe(
      'Done: 60000 new (60000 confirmed); already here: 0 pending now confirmed, 0 now left, 0 skipped; 0 duplicates merged, 0 rejected of 60000 rows.',
    );
    expect((await h.app.subscribers.countsByState()).confirmed).toBe(before + 60_000);
  });

  it('exports every subscriber as CSV with quoted fields and formulas neutralised', async () => {
    await addSubscriber(h, 'formula@example.test', 'confirmed', {
      name: '=HYPERLINK("https://evil.example/","Click, here")',
    });
    await addSubscriber(h, 'plus@example.test', 'pending', { name: '+1+2', format: 'text' });
    await addSubscriber(h, '-dash@example.test', 'pending', { name: '@SUM(A1:A9)' });

    const reply = await client.get('/console/subscribers/export.csv');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(reply.headers.get('content-disposition')).toBe('attachment; filename="subscribers.csv"');
    const lines = reply.text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('id,email,name,state,created_at,confirmed_at,unsubscribed_at,suppression_reason,format');
    const rows = parseCsv(lines.slice(1).join('\n'), { relax_column_count: true }) as string[][];
    const counts = await h.app.subscribers.countsByState();
    expect(rows).toHaveLength(Object.values(counts).reduce((sum, count) => sum + count, 0));
    expect(rows.every((row) => row.length === 9)).toBe(true);
    expect(new Set(rows.map((row) => row[0])).size).toBe(rows.length);

    const byEmail = new Map(rows.map((row) => [row[1], row]));
    expect(byEmail.get('bob@example.test')?.slice(2, 4)).toEqual(['Builder, Bob', 'confirmed']);
    expect(reply.text).toContain(',"Builder, Bob",');
    expect(byEmail.get('gone@example.test')?.[3]).toBe('unsubscribed');
    expect(byEmail.get('formula@example.test')?.[2]).toBe(`'=HYPERLINK("https://evil.example/","Click, here")`);
    expect(reply.text).toContain(`"'=HYPERLINK(""https://evil.example/"",""Click, here"")"`);
    expect(byEmail.get('plus@example.test')?.[2]).toBe("'+1+2");
    expect([byEmail.get('plus@example.test')?.[8], byEmail.get('bob@example.test')?.[8]]).toEqual(['text', 'html']);
    expect(byEmail.get("'-dash@example.test")?.[2]).toBe("'@SUM(A1:A9)");
    // No field anywhere starts a spreadsheet formula.
    // One assertion over every field: an expect per field (540,000 of them) took most of this test's 13 s.
    expect(rows.flat().filter((field) => /^[=+\-@]/.test(field))).toEqual([]);
  });

  it('searches by address prefix regardless of case, with an optional state filter', async () => {
    for (const q of ['zed.z', 'ZED.ZU', 'Zed.Zulu@EXAMPLE']) {
      const page = await client.get(`/console/subscribers?q=${encodeURIComponent(q)}`);
      expect(
        subscriberRows(page.text).map((row) => row.email),
        q,
      ).toEqual(['Zed.Zulu@example.test']);
    }
    const all = subscriberRows((await client.get('/console/subscribers?q=G')).text);
    expect(all.map((row) => row.email)).toEqual(['gone@example.test']);
    const filtered = await client.get('/console/subscribers?q=G&state=confirmed');
    expect(subscriberRows(filtered.text)).toEqual([]);
    expect(filtered.text).toContain('No subscribers match.');
    expect(
      subscriberRows((await client.get('/console/subscribers?q=P&state=confirmed')).text).map((row) => row.email),
    ).toEqual(['pending@example.test']);
    // No address holds a control character: such a search finds nobody (PostgreSQL refuses a NUL byte).
    const nul = await client.get('/console/subscribers?q=zed%00');
    expect(nul.status).toBe(200);
    expect(nul.text).toContain('No subscribers match.');
  });
});

describe('console subscribers: paging', () => {
  let h: Harness;
  let base: string;
  let client: ConsoleClient;
  const expected = new Map<string, SubscriberState>();

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
    const erased = new Set([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 50, 51, 52, 101]);
    for (let index = 1; index <= 140; index += 1) {
      const email = `reader-${String(index).padStart(3, '0')}@example.test`;
      const state: SubscriberState =
        index % 5 === 0 ? 'unsubscribed' : index % 3 === 0 ? 'pending' : index % 7 === 0 ? 'complained' : 'confirmed';
      const id = await addSubscriber(h, email, state);
      if (erased.has(index)) expect(await h.app.subscribers.erase(id)).toBe(true);
      else expected.set(email, state);
    }
    client = await loggedIn(base, 'admin');
  });
  afterAll(async () => h?.close());

  it('ignores a cursor that is not an id instead of failing', async () => {
    expect((await client.get('/console/subscribers?state=confirmed&after=abc')).status).toBe(200);
  });

  /** Every address on every page, following the "Next page" links from `start`. */
  async function collect(start: string): Promise<{ emails: string[]; pages: number; states: Set<string> }> {
    const emails: string[] = [];
    const states = new Set<string>();
    let path: string | null = start;
    let pages = 0;
    while (path && pages < 20) {
      const page: Reply = await client.get(path);
      expect(page.status).toBe(200);
      pages += 1;
      for (const row of subscriberRows(page.text)) {
        emails.push(row.email);
        states.add(row.state);
      }
      path = page.text.includes('Next page')
        ? linkIn(page.text, '/console/subscribers?state=').replace(/&amp;/g, '&')
        : null;
    }
    return { emails, pages, states };
  }

  it('shows every subscriber exactly once across the pages, in id order, skipping erased ids', async () => {
    const { emails, pages } = await collect('/console/subscribers');
    expect(emails).toEqual([...expected.keys()]);
    expect(new Set(emails).size).toBe(emails.length);
    expect(pages).toBe(Math.ceil(expected.size / 50));
  });

  it('pages each state through the state filter, every subscriber in it exactly once', async () => {
    for (const state of ['confirmed', 'pending', 'unsubscribed', 'complained', 'bounced'] as const) {
      const want = [...expected].filter(([, s]) => s === state).map(([email]) => email);
      const { emails, states } = await collect(`/console/subscribers?state=${state}`);
      expect(emails, state).toEqual(want);
      expect(
        [...states].every((s) => s === state),
        state,
      ).toBe(true);
    }
    const confirmed = [...expected.values()].filter((state) => state === 'confirmed').length;
    expect(confirmed).toBeGreaterThan(50); // so the confirmed filter really had more than one page
  });
});

describe('console: one subscriber', () => {
  let h: Harness;
  let base: string;
  let client: ConsoleClient;
  let id: string;

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
    id = await addSubscriber(h, 'reader@example.test', 'pending', {
      name: 'Rita Reader',
      consentAt: '2026-01-02T03:04:05.000Z',
      consentIp: '203.0.113.7',
      consentUserAgent: 'Mozilla/5.0 (Test)',
    });
    await h.app.subscribers.transition({
      id,
      from: ['pending'],
      to: 'confirmed',
      reason: 'confirmed by the reader',
      fields: { confirmedAt: '2026-01-02T03:10:00.000Z', confirmIp: '203.0.113.8' },
    });
    client = await loggedIn(base, 'admin');
  });
  afterAll(async () => h?.close());

  it('shows the consent record and the history', async () => {
    const page = await client.get(`/console/subscribers/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>reader@example.test · Evening Digest console</title>');
    expect(page.text).toContain('<tr><th>Name</th><td>Rita Reader</td></tr>');
    expect(page.text).toContain('<td>2026-01-02T03:04:05.000Z from 203.0.113.7 · Mozilla/5.0 (Test)</td>');
    expect(page.text).toContain('2026-01-02T03:10:00.000Z from 203.0.113.8');
    expect(page.text).toMatch(/<td>—<\/td><td>pending<\/td><td>subscribed<\/td>/);
    expect(page.text).toMatch(/<td>pending<\/td><td>confirmed<\/td><td>confirmed by the reader<\/td>/);
    expect(page.text).toContain('>Unsubscribe</button>');
    expect(page.text).toContain('>Suppress</button>');
    expect(page.text).not.toContain('Lift suppression');
  });

  it('suppresses, lifts and unsubscribes, recording who did it', async () => {
    const suppress = await client.post(`/console/subscribers/${id}/action`, { action: 'suppress' });
    expect(suppress.status).toBe(303);
    expect(suppress.location).toBe(`/console/subscribers/${id}?notice=${encodeURIComponent('Done: suppress.')}`);
    expect(await h.app.subscribers.get(id)).toMatchObject({
      state: 'complained',
      suppressionReason: 'suppressed by console:admin',
    });
    expect((await h.app.subscribers.history(id))[0]).toMatchObject({
      from: 'confirmed',
      to: 'complained',
      by: 'console:admin',
    });
    const page = await client.get(suppress.location!);
    expect(page.text).toContain('<p class="ok" role="status">Done: suppress.</p>');
    expect(page.text).toContain('complained (suppressed by console:admin)');
    expect(page.text).toContain('Lift suppression');

    const again = await client.post(`/console/subscribers/${id}/action`, { action: 'suppress' });
    expect(again.location).toBe(
      `/console/subscribers/${id}?notice=${encodeURIComponent('Not possible in this state: suppress.')}`,
    );

    const lift = await client.post(`/console/subscribers/${id}/action`, { action: 'lift' });
    expect(lift.location).toContain('Done%3A%20lift.');
    expect((await h.app.subscribers.get(id))?.state).toBe('confirmed');
    expect((await h.app.subscribers.history(id))[0]).toMatchObject({
      from: 'complained',
      to: 'confirmed',
      reason: 'suppression lifted',
      by: 'console:admin',
    });

    const unsubscribe = await client.post(`/console/subscribers/${id}/action`, { action: 'unsubscribe' });
    expect(unsubscribe.location).toContain('Done%3A%20unsubscribe.');
    const left = await h.app.subscribers.get(id);
    expect(left?.state).toBe('unsubscribed');
    expect(left?.unsubscribedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect((await h.app.subscribers.history(id))[0]).toMatchObject({
      from: 'confirmed',
      to: 'unsubscribed',
      reason: 'unsubscribed by an admin',
      by: 'console:admin',
    });

    const unknown = await client.post(`/console/subscribers/${id}/action`, { action: 'delete-everything' });
    expect(unknown.status).toBe(400);
    expect((await h.app.subscribers.get(id))?.state).toBe('unsubscribed');
    expect(await h.app.subscribers.countsByState()).toMatchObject({ confirmed: 0, complained: 0, unsubscribed: 1 });
  });

  it('exports the subscriber, history and deliveries as JSON', async () => {
    const reply = await client.get(`/console/subscribers/${id}/export.json`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.headers.get('content-disposition')).toBe(`attachment; filename="subscriber-${id}.json"`);
    const record = JSON.parse(reply.text) as {
      subscriber: Record<string, unknown>;
      history: Array<Record<string, unknown>>;
      deliveries: unknown[];
    };
    expect(record.subscriber).toMatchObject({
      id,
      email: 'reader@example.test',
      name: 'Rita Reader',
      state: 'unsubscribed',
      consentIp: '203.0.113.7',
    });
    expect(record.history.map((event) => event.to)).toEqual([
      'unsubscribed',
      'confirmed',
      'complained',
      'confirmed',
      'pending',
    ]);
    expect(record.deliveries).toEqual([]);
    expect((await new ConsoleClient(base).get(`/console/subscribers/${id}/export.json`)).status).toBe(401);
    expect((await client.get('/console/subscribers/99999/export.json')).status).toBe(404);
  });

  it('erases a subscriber: gone from the store, the address index, the counts and the search', async () => {
    const doomed = await addSubscriber(h, 'Erase.Me@example.test', 'confirmed', { name: 'Erin' });
    const before = await h.app.subscribers.countsByState();
    expect(subscriberRows((await client.get('/console/subscribers?q=erase.me')).text).map((row) => row.id)).toEqual([
      doomed,
    ]);

    const reply = await client.post(`/console/subscribers/${doomed}/erase`);
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/console/subscribers');

    expect(await h.app.subscribers.get(doomed)).toBeNull();
    expect(await h.app.subscribers.findIdByEmail('erase.me@example.test')).toBeNull();
    expect(await h.app.subscribers.history(doomed)).toEqual([]);
    expect(await h.app.subscribers.countsByState()).toEqual({ ...before, confirmed: before.confirmed - 1 });
    const search = await client.get('/console/subscribers?q=erase.me');
    expect(subscriberRows(search.text)).toEqual([]);
    expect(search.text).toContain('No subscribers match.');
    expect(subscriberRows((await client.get('/console/subscribers')).text).map((row) => row.id)).toEqual([id]);
    const detail = await client.get(`/console/subscribers/${doomed}`);
    expect(detail.status).toBe(303);
    expect(detail.location).toBe('/console/subscribers');
  });
});

describe('console: sending and resending editions', () => {
  let h: Harness;
  let base: string;
  let client: ConsoleClient;
  let edition: string;
  const readers = ['ann@example.test', 'ben@example.test', 'cat@example.test'];
  const editionMails = (email: string) => h.sink.to(email).filter((message) => message.raw.includes('X-Edition:'));

  interface ProgressJson {
    edition: string;
    status: string;
    counts: Record<string, number>;
    finished: boolean;
    resends: Array<Record<string, unknown>>;
    failures: unknown[];
    statusText: string;
  }
  const progressJson = async (): Promise<ProgressJson> => {
    const reply = await client.get(`/console/editions/${edition}/progress.json`);
    expect(reply.status).toBe(200);
    return JSON.parse(reply.text) as ProgressJson;
  };

  beforeAll(async () => {
    h = await startHarness();
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
    for (const email of readers) await addSubscriber(h, email, 'confirmed');
    const ingested = await h.app.intake.ingest(
      {
        url: 'https://news.example.org/send',
        title: 'Council approves the new bridge',
        section: 'Top stories',
        publishedAt: await publishedForToday(h),
      },
      'admin',
    );
    expect(ingested.ok).toBe(true);
    client = await loggedIn(base, 'editor-eve');
  });
  afterAll(async () => h?.close());

  it("sends today's edition from the console and redirects to its progress page", async () => {
    const reply = await client.post('/console/send-now');
    expect(reply.status).toBe(303);
    expect(reply.location).toMatch(/^\/console\/editions\/\d{4}-\d{2}-\d{2}$/);
    const ids = await h.app.editions.list();
    expect(ids).toHaveLength(1);
    edition = ids[0]!;
    expect(reply.location).toBe(`/console/editions/${edition}`);
    expect((await h.app.editions.get(edition))?.createdBy).toBe('console:editor-eve');

    const done = await waitFor(async () => {
      const progress = await progressJson();
      return progress.finished && progress.counts.sent === readers.length ? progress : null;
    }, 'the edition to be sent to every reader');
    expect(done).toMatchObject({
      edition,
      status: expect.stringMatching(/^(sending|sent)$/),
      statusText: 'All sent',
      resends: [],
      failures: [],
    });
    expect(done.counts).toEqual({ queued: 0, sending: 0, sent: 3, waiting: 0, deferred: 0, failed: 0, skipped: 0 });
    for (const email of readers) expect(editionMails(email)).toHaveLength(1);

    const page = await client.get(`/console/editions/${edition}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<strong id="status">All sent</strong>');
    expect(page.text).toContain('<b id="count-sent">3</b>');
    expect(page.text).toMatch(/<input type="checkbox" name="confirm" value="yes" required>/);

    // A second "Send now" is the same edition, not another one.
    const again = await client.post('/console/send-now');
    expect(again.location).toBe(`/console/editions/${edition}`);
    expect(await h.app.editions.list()).toEqual([edition]);
    expect((await new ConsoleClient(base).get(`/console/editions/${edition}/progress.json`)).status).toBe(401);
  });

  it('refuses a resend to everyone without the confirmation tick', async () => {
    const reply = await client.post(`/console/editions/${edition}/resend`, { scope: 'all' });
    expect(reply.status).toBe(303);
    const notice = 'Not resent: tick the confirmation to resend to everyone.';
    expect(reply.location).toBe(`/console/editions/${edition}?notice=${encodeURIComponent(notice)}`);
    expect((await client.get(reply.location!)).text).toContain(`<p class="error" role="status">${notice}</p>`);
    const wrongTick = await client.post(`/console/editions/${edition}/resend`, { scope: 'all', confirm: 'on' });
    expect(wrongTick.location).toContain(encodeURIComponent(notice));
    expect((await h.app.deliveries.progress(edition))?.resends).toEqual([]);
  });

  it('resends to everyone with the tick, recorded with the console admin', async () => {
    const reply = await client.post(`/console/editions/${edition}/resend`, { scope: 'all', confirm: 'yes' });
    expect(reply.location).toBe(
      `/console/editions/${edition}?notice=${encodeURIComponent('Resend r1 queued for 3 recipient(s).')}`,
    );
    const progress = await h.app.deliveries.progress(edition);
    expect(progress?.resends).toHaveLength(1);
    expect(progress?.resends[0]).toMatchObject({ run: 'r1', scope: 'all', by: 'console:editor-eve', recipients: 3 });
    await waitFor(
      async () => readers.every((email) => editionMails(email).length === 2),
      'the resend to reach every reader',
    );
    const page = await client.get(`/console/editions/${edition}`);
    expect(page.text).toMatch(/<tr><td>r1<\/td><td>all<\/td><td>console:editor-eve<\/td>/);
  });

  it('resends to one address, and says why when it cannot', async () => {
    const one = await client.post(`/console/editions/${edition}/resend`, { scope: 'email', email: 'ANN@example.test' });
    expect(one.location).toContain(encodeURIComponent('Resend r2 queued for 1 recipient(s).'));
    expect((await h.app.deliveries.progress(edition))?.resends[1]).toMatchObject({
      run: 'r2',
      scope: 'email',
      email: 'ann@example.test',
      by: 'console:editor-eve',
    });
    const stranger = await client.post(`/console/editions/${edition}/resend`, {
      scope: 'email',
      email: 'nobody@example.test',
    });
    expect(stranger.location).toContain(encodeURIComponent('Not resent: no subscriber nobody@example.test.'));
    const noEdition = await client.post('/console/editions/1999-01-01/resend', { scope: 'failed' });
    expect(noEdition.location).toBe(
      `/console/editions/1999-01-01?notice=${encodeURIComponent('Not resent: no edition 1999-01-01.')}`,
    );
    expect((await client.get('/console/editions/1999-01-01/progress.json')).status).toBe(404);
    expect((await h.app.deliveries.progress(edition))?.resends).toHaveLength(2);
  });

  it("lists the edition's deliveries in a subscriber's JSON export", async () => {
    await waitFor(async () => editionMails('ann@example.test').length === 3, 'the single resend');
    const ann = (await idOf(h, 'ann@example.test'))!;
    const record = JSON.parse((await client.get(`/console/subscribers/${ann}/export.json`)).text) as {
      deliveries: Array<Record<string, unknown>>;
    };
    expect(record.deliveries).toHaveLength(1);
    expect(record.deliveries[0]).toMatchObject({ edition, state: 'sent' });
  });

  it('once the delivery records are past LEDGER_RETENTION_DAYS, shows the counts and says why it cannot be resent', async () => {
    await waitFor(async () => (await h.app.deliveries.progress(edition))?.finished, 'every run finished');
    expect(await h.app.deliveries.removeRecordsBefore(new Date(Date.now() + 24 * 3600_000))).toEqual([edition]);
    const page = await client.get(`/console/editions/${edition}`);
    expect(page.text).toContain('<b id="count-sent">3</b>');
    expect(page.text).toMatch(
      /<p class="muted" id="records-removed">The per-recipient delivery records were removed on \d{4}-\d{2}-\d{2} \(LEDGER_RETENTION_DAYS\)/,
    );
    expect(page.text).not.toContain('action="/console/editions/' + edition + '/resend"');
    const refused = await client.post(`/console/editions/${edition}/resend`, { scope: 'failed' });
    expect(decodeURIComponent(refused.location ?? '')).toContain(
      'its delivery records were removed, so it can no longer be resent',
    );
  });
});

describe('console pages escape stored and reflected text', () => {
  let h: Harness;
  let base: string;
  let client: ConsoleClient;
  let id: string;
  const SCRIPT = '<script>alert(1)</script>';
  const ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;';

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
    id = await addSubscriber(h, "o'hara@example.test", 'confirmed', {
      name: SCRIPT,
      consentUserAgent: '"><img src=x onerror=alert(2)>',
    });
    client = await loggedIn(base, 'admin');
  });
  afterAll(async () => h?.close());

  it('shows a subscriber name with markup as text in the list and on the detail page', async () => {
    const list = await client.get('/console/subscribers');
    expect(list.text).toContain(`<td>${ESCAPED}</td>`);
    expect(list.text).toContain('o&#39;hara@example.test');
    expect(list.text).not.toContain(SCRIPT);
    expect(subscriberRows(list.text).map((row) => unescapeHtml(row.name))).toEqual([SCRIPT]);

    const detail = await client.get(`/console/subscribers/${id}`);
    expect(detail.text).toContain(`<tr><th>Name</th><td>${ESCAPED}</td></tr>`);
    expect(detail.text).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(detail.text).not.toContain(SCRIPT);
    expect(detail.text).not.toContain('<img src=x');

    const search = await client.get(`/console/subscribers?q=${encodeURIComponent("O'H")}`);
    expect(search.text).toContain(`<td>${ESCAPED}</td>`);
    expect(search.text).not.toContain(SCRIPT);
  });

  it('escapes reflected query text, import rows and the admin name', async () => {
    const q = '"><script>alert(3)</script>';
    const search = await client.get(`/console/subscribers?q=${encodeURIComponent(q)}`);
    expect(search.text).toContain('value="&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"');
    expect(search.text).not.toContain('<script>alert(3)');

    const notice = await client.get(`/console?notice=${encodeURIComponent('<script>alert(4)</script>')}`);
    expect(notice.text).toContain('<p class="ok" role="status">&lt;script&gt;alert(4)&lt;/script&gt;</p>');
    expect(notice.text).not.toContain('<script>alert(4)');

    const upload = await client.upload(
      '/console/subscribers/import',
      {},
      { field: 'csv', name: 'x<i>y.csv', content: 'email,name\n<img src=x onerror=alert(5)>,x' },
    );
    const imported = await client.get(upload.location ?? '');
    expect(imported.text).toContain(
      '<td>&lt;img src=x onerror=alert(5)&gt;,x</td><td>email contains characters that are not allowed</td>',
    );
    expect(imported.text).toContain('x&lt;i&gt;y.csv');
    expect(imported.text).not.toContain('<img src=x');
    expect(imported.text).not.toContain('<i>');

    const odd = await loggedIn(base, '<b>boss</b>');
    expect((await odd.get('/console')).text).toContain('<span class="who">&lt;b&gt;boss&lt;/b&gt;</span>');
  });
});
