import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvField } from '../../src/platform/csv.ts';
import { AdminSessions } from '../../src/admin/sessions.ts';
import {
  confirmByLink,
  type Harness,
  linkIn,
  publishedForToday,
  startHarness,
  transactionalIdle,
  waitFor,
} from '../support/harness.ts';

/**
 * Items 3–14 of the trust-boundary review (issue 8), each at the level an attacker or a careless
 * user meets it: HTTP requests, the email as received, the CSV as a spreadsheet reads it, the logs.
 * The personalization items (1, 2) are tests/security/hostile-content.test.ts.
 */
const EDITION = '2020-02-25';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const METRICS_TOKEN = 'metrics-token-0123456789';

const tokenOf = (url: string) => new URL(url).searchParams.get('token') ?? '';

async function confirmedReader(h: Harness, email: string, fields: Record<string, string> = {}): Promise<string> {
  const { id } = await h.app.subscribers.create(email.toLowerCase(), { email, ...fields });
  await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
  return id;
}

async function stateOf(h: Harness, id: string) {
  return (await h.app.subscribers.get(id))?.state;
}

describe('trust boundaries', () => {
  let h: Harness;
  const get = (url: string, extra: Record<string, unknown> = {}) => h.server.inject({ method: 'GET', url, ...extra });

  beforeAll(async () => {
    h = await startHarness({
      captureLogs: true,
      env: { TRACKING: 'true', METRICS_TOKEN, SUBSCRIBE_LIMIT_PER_IP: '10000' },
    });
  });
  afterAll(async () => h?.close());

  describe('3. link scanners', () => {
    it('cannot confirm a sign-up by opening the link: only the page’s button (a POST) confirms', async () => {
      expect(
        (await h.server.inject({ method: 'POST', url: '/subscribe', payload: { email: 'scanned@example.test' } }))
          .statusCode,
      ).toBe(202);
      const mail = await h.sink.parsed(
        await waitFor(async () => h.sink.to('scanned@example.test')[0], 'the confirmation email'),
      );
      const link = linkIn(mail.text ?? '', 'https://digest.example.test/confirm?token=');
      const id = (await h.app.subscribers.findIdByEmail('scanned@example.test'))!;
      for (let scanner = 0; scanner < 3; scanner += 1) {
        const opened = await get(link.replace('https://digest.example.test', ''), {
          headers: { 'user-agent': 'SafeLinks scanner' },
        });
        expect(opened.statusCode).toBe(200);
        expect(opened.body).toContain('Confirm my subscription');
      }
      expect(await stateOf(h, id)).toBe('pending');
      expect((await confirmByLink(h, link)).body).toContain('You are subscribed');
      expect(await stateOf(h, id)).toBe('confirmed');
    });
  });

  describe('4. RFC 8058 one-click', () => {
    it('unsubscribes with a multipart/form-data post as with a urlencoded one', async () => {
      const multipartId = await confirmedReader(h, 'multipart@example.test');
      const boundary = '----digestboundary7MA4YWxk';
      const multipartBody = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
      const token = tokenOf(h.app.subscriptions.readerUrls(multipartId).unsubscribeUrl);
      const viaMultipart = await h.server.inject({
        method: 'POST',
        url: `/unsubscribe?token=${token}`,
        payload: multipartBody,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      expect(viaMultipart.statusCode).toBe(200);
      expect(viaMultipart.json()).toEqual({ status: 'unsubscribed' });
      expect(await stateOf(h, multipartId)).toBe('unsubscribed');

      const formId = await confirmedReader(h, 'urlencoded@example.test');
      const viaForm = await h.server.inject({
        method: 'POST',
        url: `/unsubscribe?token=${tokenOf(h.app.subscriptions.readerUrls(formId).unsubscribeUrl)}`,
        payload: 'List-Unsubscribe=One-Click',
        headers: FORM,
      });
      expect(viaForm.json()).toEqual({ status: 'unsubscribed' });
      expect(await stateOf(h, formId)).toBe('unsubscribed');
    });

    it('refuses a multipart post that carries a file, and unsubscribes nobody with it', async () => {
      const id = await confirmedReader(h, 'file@example.test');
      const boundary = 'xyz';
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`;
      const response = await h.server.inject({
        method: 'POST',
        url: `/unsubscribe?token=${tokenOf(h.app.subscriptions.readerUrls(id).unsubscribeUrl)}`,
        payload: body,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      expect(response.statusCode).toBe(413);
      expect(await stateOf(h, id)).toBe('confirmed');
    });
  });

  describe('6. links with characters outside Latin-1', () => {
    const links = [
      'https://news.example/€uro',
      'https://news.example/ニュース/記事?q=東京',
      'https://news.example/café',
    ];
    const encoded = [
      'https://news.example/%E2%82%ACuro',
      'https://news.example/%E3%83%8B%E3%83%A5%E3%83%BC%E3%82%B9/%E8%A8%98%E4%BA%8B?q=%E6%9D%B1%E4%BA%AC',
      'https://news.example/caf%C3%A9',
    ];

    beforeAll(async () => {
      await confirmedReader(h, 'linkreader@example.test');
      for (const [index, url] of links.entries()) {
        const response = await h.server.inject({
          method: 'POST',
          url: '/admin/articles',
          headers: h.admin,
          payload: {
            url,
            title: `Link ${index}`,
            publishedAt: `${EDITION}T1${index}:00:00Z`,
            selected: true,
            position: index + 1,
          },
        });
        expect(response.statusCode).toBe(201);
      }
      await h.app.desk.runDue(new Date(`${EDITION}T18:30:05Z`));
      await waitFor(async () => (await h.app.deliveries.progress(EDITION))?.finished, 'the edition');
    });

    it('keeps them percent-encoded in the email, the archive and the tracked redirect (302, never 500)', async () => {
      const mail = await h.sink.parsed(
        h.sink.to('linkreader@example.test').find((message) => message.raw.includes('X-Edition:'))!,
      );
      for (const url of encoded) expect(mail.text).toContain(url);
      const archive = await get(`/editions/${EDITION}`);
      expect(archive.statusCode).toBe(200);
      const tracked = [...String(mail.html).matchAll(/href="https:\/\/digest\.example\.test(\/t\/[^"]+)"/g)].map(
        (match) => match[1]!,
      );
      const locations = new Set<string>();
      for (const path of tracked) {
        const response = await get(path);
        expect(response.statusCode, path).toBe(302);
        locations.add(String(response.headers.location));
      }
      expect([...locations].sort()).toEqual([...encoded].sort());
    });
  });

  describe('7. privacy', () => {
    it('gives tracking tokens that reveal nothing: no subscriber id, a different one per edition', async () => {
      const mail = await h.sink.parsed(
        h.sink.to('linkreader@example.test').find((message) => message.raw.includes('X-Edition:'))!,
      );
      const token = /\/t\/[^/]+\/open\/([\w-]+)"/.exec(String(mail.html))?.[1] ?? '';
      expect(token).toMatch(/^[\w-]{28}$/);
      const id = (await h.app.subscribers.findIdByEmail('linkreader@example.test'))!;
      expect(token).not.toContain(`.${id}.`);
      const { ReaderTokens } = await import('../../src/delivery/reader-tokens.ts');
      const tokens = new ReaderTokens(h.app.config.APP_SECRET);
      expect(tokens.token(EDITION, id)).toBe(token);
      expect(tokens.token('2020-02-26', id)).not.toBe(token);
      expect(tokens.reader(token)).not.toContain(id);
    });

    it('keeps link tokens, tracking paths and readers’ IPs out of the request log', async () => {
      const id = await confirmedReader(h, 'logged@example.test');
      const unsubscribeToken = tokenOf(h.app.subscriptions.readerUrls(id).unsubscribeUrl);
      const confirmToken = tokenOf(h.app.subscriptions.confirmUrl(id, 1));
      const mail = await h.sink.parsed(
        h.sink.to('linkreader@example.test').find((message) => message.raw.includes('X-Edition:'))!,
      );
      const trackedPaths = [...String(mail.html).matchAll(/"https:\/\/digest\.example\.test(\/t\/[^"]+)"/g)].map(
        (match) => match[1]!,
      );
      const trackingToken = trackedPaths[0]!.split('/').pop()!;
      h.logs.length = 0;
      await get(`/confirm?token=${confirmToken}`);
      await get(`/preferences?token=${unsubscribeToken}`);
      await get(`/unsubscribe?token=${unsubscribeToken}`);
      for (const path of trackedPaths) await get(path, { remoteAddress: '198.51.100.23' });
      const lines = h.logs.map(
        (line) => JSON.parse(line) as { msg: string; req?: { url: string; remoteAddress?: string } },
      );
      const requests = lines.filter((line) => line.msg === 'request completed');
      expect(requests.length).toBe(3 + trackedPaths.length);
      for (const secret of [unsubscribeToken, confirmToken, trackingToken, '198.51.100.23']) {
        expect(
          h.logs.filter((line) => line.includes(secret)),
          secret,
        ).toEqual([]);
      }
      expect(requests.map((line) => line.req?.url)).toContain('/preferences?token=[redacted]');
      const tracking = requests.filter((line) => line.req?.url.startsWith('/t/'));
      expect(tracking).toHaveLength(trackedPaths.length);
      for (const line of tracking) expect(line.req).toEqual({ method: 'GET', url: `/t/${EDITION}/[redacted]` });
    });
  });

  describe('8. the console login lock', () => {
    async function login(name: string, password: string, remoteAddress: string): Promise<LightMyRequestResponse> {
      const form = await get('/console/login', { remoteAddress });
      const cookie = form.cookies.find((c) => c.name === 'digest_login')!.value;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
      return h.server.inject({
        method: 'POST',
        url: '/console/login',
        remoteAddress,
        cookies: { digest_login: cookie },
        payload: `_csrf=${csrf}&name=${encodeURIComponent(name)}&password=${encodeURIComponent(password)}`,
        headers: FORM,
      });
    }

    it('never counts successful logins', async () => {
      for (let attempt = 0; attempt < 12; attempt += 1)
        expect((await login('eve', h.app.config.ADMIN_TOKEN, '192.0.2.10')).statusCode, `login ${attempt + 1}`).toBe(
          303,
        );
    });

    it('locks an account after 10 failures from any addresses, and an address after 10 failures for any accounts; others still log in', async () => {
      for (let attempt = 0; attempt < 10; attempt += 1)
        expect((await login('mallory-target', 'wrong-password-123', `192.0.2.${20 + attempt}`)).statusCode).toBe(401);
      expect((await login('mallory-target', h.app.config.ADMIN_TOKEN, '192.0.2.99')).statusCode).toBe(429);
      expect((await login('someone-else', h.app.config.ADMIN_TOKEN, '192.0.2.99')).statusCode).toBe(303);

      for (let attempt = 0; attempt < 10; attempt += 1)
        expect((await login(`guess-${attempt}`, 'wrong-password-123', '203.0.113.50')).statusCode).toBe(401);
      expect((await login('eve', h.app.config.ADMIN_TOKEN, '203.0.113.50')).statusCode).toBe(429);
      expect((await login('eve', h.app.config.ADMIN_TOKEN, '203.0.113.51')).statusCode).toBe(303);
    });
  });

  describe('9. the preferences form', () => {
    it('keeps the stored name when a post does not send one, and changes only what was sent', async () => {
      const id = await confirmedReader(h, 'keepname@example.test', { name: 'Ada' });
      const token = tokenOf(h.app.subscriptions.readerUrls(id).preferencesUrl);
      const saved = await h.server.inject({
        method: 'POST',
        url: `/preferences?token=${token}`,
        payload: 'format=text',
        headers: FORM,
      });
      expect(saved.statusCode).toBe(200);
      expect(await h.app.subscribers.get(id)).toMatchObject({ name: 'Ada', format: 'text' });
      await h.server.inject({ method: 'POST', url: `/preferences?token=${token}`, payload: 'name=', headers: FORM });
      expect(await h.app.subscribers.get(id)).toMatchObject({ name: '', format: 'text' });
    });
  });

  describe('10. the CSV export in spreadsheets', () => {
    const names = ['x;=1+1', 'a,=2+2', 'Bob; @SUM(A1)', ' ;-3', '=cmd|"/c calc"!A1', 'tab\t=1', 'Jean-Luc'];

    it('gives no cell that starts a formula, whether the spreadsheet splits on "," or ";", honours quotes or not', async () => {
      for (const [index, name] of names.entries()) await confirmedReader(h, `sheet${index}@example.test`, { name });
      const session = await new AdminSessions(h.app.redis, h.app.keys, h.app.config.ADMIN_TOKEN, '').create('editor');
      const csv = (await get('/console/subscribers/export.csv', { cookies: { digest_session: session.id } })).body;
      for (const name of names) expect(csv).toContain(csvField(name));
      const lines = csv.split('\n').filter(Boolean);
      for (const separator of [',', ';', '\t']) {
        for (const line of lines) {
          for (const cell of line.split(separator))
            expect(cell.replace(/^[\s"]+/, ''), `${separator} in ${line}`).not.toMatch(/^[=+\-@]/);
        }
      }
      expect(csvField('Jean-Luc')).toBe('Jean-Luc');
    });
  });

  describe('11. what editors type', () => {
    it('is text: stored as typed and escaped in the console and the email', async () => {
      const typed = 'x<y and y>z: Why <script> still works';
      const response = await h.server.inject({
        method: 'POST',
        url: '/admin/articles',
        headers: h.admin,
        payload: {
          url: 'https://news.example.org/typed',
          title: typed,
          summary: typed,
          publishedAt: await publishedForToday(h, 60_000, 'preview'),
        },
      });
      expect(response.statusCode).toBe(201);
      expect((await h.app.articles.get(response.json().key))?.title).toBe(typed);
      const session = await new AdminSessions(h.app.redis, h.app.keys, h.app.config.ADMIN_TOKEN, '').create('editor');
      await h.server.inject({
        method: 'POST',
        url: '/console/draft',
        cookies: { digest_session: session.id },
        payload: `_csrf=${session.csrf}&subject=${encodeURIComponent(typed)}&preheader=`,
        headers: FORM,
      });
      expect((await h.app.editions.draft()).subject).toBe(typed);
      const today = await get('/console', { cookies: { digest_session: session.id } });
      expect(today.body).toContain('x&lt;y and y&gt;z: Why &lt;script&gt; still works');
      expect(today.body).not.toContain('<script> still');
      const preview = await get('/console/preview.txt', { cookies: { digest_session: session.id } });
      expect(preview.body).toContain(typed);
    });
  });

  describe('12. response headers', () => {
    it('gives every HTML page a strict Content-Security-Policy, frame protection, nosniff and no Referer, and no page has inline script', async () => {
      const id = await confirmedReader(h, 'headers@example.test');
      const token = tokenOf(h.app.subscriptions.readerUrls(id).unsubscribeUrl);
      const session = await new AdminSessions(h.app.redis, h.app.keys, h.app.config.ADMIN_TOKEN, '').create('editor');
      const pages = [
        '/',
        '/editions',
        `/editions/${EDITION}`,
        '/manage-subscription',
        `/confirm?token=${tokenOf(h.app.subscriptions.confirmUrl(id, 1))}`,
        `/unsubscribe?token=${token}`,
        `/preferences?token=${token}`,
        '/console/login',
        '/console',
        '/console/editions',
        `/console/editions/${EDITION}`,
        '/console/subscribers',
        `/console/subscribers/${id}`,
        '/console/feeds',
        '/console/preview.html',
      ];
      for (const url of pages) {
        const response = await get(url, { cookies: { digest_session: session.id } });
        expect(response.statusCode, url).toBe(200);
        expect(response.headers['content-type'], url).toMatch(/^text\/html/);
        const csp = String(response.headers['content-security-policy']);
        expect(csp, url).toContain("script-src 'self'");
        expect(csp, url).toContain("script-src-attr 'none'");
        expect(csp, url).toContain("frame-ancestors 'self'");
        expect(csp, url).not.toMatch(/script-src[^;]*unsafe/);
        expect(response.headers['x-frame-options'], url).toBe('SAMEORIGIN');
        expect(response.headers['x-content-type-options'], url).toBe('nosniff');
        expect(response.headers['referrer-policy'], url).toBe('no-referrer');
        expect(response.body, url).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
        expect(response.body, url).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
      }
    });
  });

  describe('13. the dev mailbox and metrics', () => {
    let dev: Harness;
    const devGet = (url: string, extra: Record<string, unknown> = {}) =>
      dev.server.inject({ method: 'GET', url, ...extra });
    beforeAll(async () => {
      // No SMTP_URL: mail goes to the dev mailbox, links and tokens included.
      dev = await startHarness({ env: { SMTP_URL: '' } });
      await dev.app.devMailbox!.send(
        { from: 'digest@example.test', to: 'reader@example.test' },
        Buffer.from('Subject: Hello\r\n\r\nhttps://digest.example.test/unsubscribe?token=u.1.0.0.secret\r\n'),
      );
    });
    afterAll(async () => dev?.close());

    it('serves the dev mailbox only to this machine, and in the console behind its login', async () => {
      expect((await devGet('/dev/mailbox')).statusCode).toBe(200);
      expect((await devGet('/dev/mailbox/0')).body).toContain('token=u.1.0.0.secret');
      for (const path of ['/dev/mailbox', '/dev/mailbox/0', '/dev/mailbox/0/raw']) {
        const remote = await devGet(path, { remoteAddress: '203.0.113.7' });
        expect(remote.statusCode, path).toBe(403);
        expect(remote.body, path).not.toContain('secret');
      }
      // Through a proxy on this machine, the client is not this machine.
      const proxied = await startHarness({ env: { SMTP_URL: '', TRUST_PROXY: '1' } });
      try {
        expect(
          (
            await proxied.server.inject({
              method: 'GET',
              url: '/dev/mailbox',
              headers: { 'x-forwarded-for': '203.0.113.8' },
            })
          ).statusCode,
        ).toBe(403);
      } finally {
        await proxied.close();
      }
      expect((await devGet('/console/mailbox', { remoteAddress: '203.0.113.7' })).statusCode).toBe(303);
      const session = await new AdminSessions(dev.app.redis, dev.app.keys, dev.app.config.ADMIN_TOKEN, '').create(
        'editor',
      );
      const inConsole = await devGet('/console/mailbox/0', {
        remoteAddress: '203.0.113.7',
        cookies: { digest_session: session.id },
      });
      expect(inConsole.statusCode).toBe(200);
      expect(inConsole.body).toContain('token=u.1.0.0.secret');
      for (const url of ['/dev/mailbox', '/dev/mailbox/0', '/console/mailbox']) {
        const response = await devGet(url, { cookies: { digest_session: session.id } });
        expect(String(response.headers['content-security-policy']), url).toContain("script-src 'self'");
        expect(response.body, url).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
      }
    });

    it('answers 404, not 500, for message numbers that are not numbers', async () => {
      for (const index of ['1e21', '-1', '0x1', '1.5', 'NaN', '99999999999999999999']) {
        expect((await devGet(`/dev/mailbox/${index}`)).statusCode, index).toBe(404);
        expect((await devGet(`/dev/mailbox/${index}/raw`)).statusCode, index).toBe(404);
      }
      expect((await devGet('/dev/mailbox/7')).statusCode).toBe(404);
    });

    it('protects /metrics with METRICS_TOKEN when it is set', async () => {
      expect((await get('/metrics')).statusCode).toBe(401);
      expect((await get('/metrics', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).statusCode).toBe(
        401,
      );
      const metrics = await get('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toContain('digest_emails_sent_total');
    });
  });
});

describe('5. TRUST_PROXY', () => {
  const signUpAs = (h: Harness, email: string, forwardedFor: string) =>
    h.server.inject({
      method: 'POST',
      url: '/subscribe',
      payload: { email },
      remoteAddress: '10.0.0.2',
      headers: { 'x-forwarded-for': forwardedFor },
    });

  for (const setting of ['1', '10.0.0.0/8']) {
    it(`with TRUST_PROXY=${setting}: the client is the address the proxy saw, whatever the client put in X-Forwarded-For`, async () => {
      const h = await startHarness({ env: { TRUST_PROXY: setting, SUBSCRIBE_LIMIT_PER_IP: '3' } });
      try {
        for (let attempt = 0; attempt < 3; attempt += 1)
          expect((await signUpAs(h, `p${attempt}@example.test`, `6.6.6.${attempt}, 198.51.100.7`)).statusCode).toBe(
            202,
          );
        // A fourth from the same client, with yet another made-up left-most hop: still the same client.
        expect((await signUpAs(h, 'p3@example.test', '6.6.6.99, 198.51.100.7')).statusCode).toBe(429);
        expect((await signUpAs(h, 'other@example.test', '198.51.100.8')).statusCode).toBe(202);
        await transactionalIdle(h);
        const id = (await h.app.subscribers.findIdByEmail('p0@example.test'))!;
        expect((await h.app.subscribers.get(id))?.consentIp).toBe('198.51.100.7');
      } finally {
        await h.close();
      }
    });
  }

  it('without TRUST_PROXY: X-Forwarded-For is ignored', async () => {
    const h = await startHarness({ workers: false });
    try {
      const response = await signUpAs(h, 'direct@example.test', '6.6.6.6');
      expect(response.statusCode).toBe(202);
      const [job] = await h.app.transactionalQueue.getJobs(['waiting']);
      expect(job?.data).toMatchObject({ consentIp: '10.0.0.2' });
    } finally {
      await h.close();
    }
  });
});

describe('14. sign-up answers', () => {
  it('do the same work for new, pending, confirmed and suppressed addresses: one queued job, nothing else, before answering', async () => {
    const h = await startHarness({ workers: false });
    try {
      const pending = await h.app.subscribers.create('pending@example.test', { email: 'pending@example.test' });
      await confirmedReader(h, 'confirmed@example.test');
      const bounced = await confirmedReader(h, 'bounced@example.test');
      await h.app.subscriptions.suppress(bounced, 'bounced', 'test');
      expect(pending.created).toBe(true);
      const before = await h.app.subscribers.countsByState();
      const answers: Array<{ status: number; body: string }> = [];
      for (const email of [
        'new@example.test',
        'pending@example.test',
        'confirmed@example.test',
        'bounced@example.test',
      ]) {
        const response = await h.server.inject({ method: 'POST', url: '/subscribe', payload: { email } });
        answers.push({ status: response.statusCode, body: response.body });
      }
      expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
      expect(answers[0]?.status).toBe(202);
      // Nothing depends on the address before the answer: no subscriber changed, one sign-up job each.
      expect(await h.app.subscribers.countsByState()).toEqual(before);
      const jobs = await h.app.transactionalQueue.getJobs(['waiting']);
      expect(jobs.map((job) => job.name)).toEqual(['signup', 'signup', 'signup', 'signup']);
    } finally {
      await h.close();
    }
  });
});
