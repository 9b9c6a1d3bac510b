import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenSigner } from '../../src/platform/tokens.ts';
import { confirmByLink, type Harness, linkIn, startHarness, transactionalIdle, waitFor } from '../support/harness.ts';

const APP_SECRET = 'test-secret-test-secret-test-secret-0123';
const PUBLIC_URL = 'https://digest.example.test';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };

/** The same token with its last character changed: the signature no longer matches. */
function tamper(token: string): string {
  return `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
}

function tokenOf(link: string): string {
  return new URL(link).searchParams.get('token') ?? '';
}

/** Everything a rejected request must leave as it was. */
async function snapshot(h: Harness) {
  const jobs = await h.app.transactionalQueue.getJobCounts();
  return {
    subscribers: await h.app.subscribers.countsByState(),
    confirmationJobs: Object.values(jobs).reduce((sum, count) => sum + count, 0),
    mail: h.sink.messages.length,
    articles: (await h.app.articles.publishedBetween(new Date(0), new Date('2100-01-01T00:00:00Z'))).length,
    editions: (await h.app.editions.list(60)).length,
  };
}

/** Waits until no confirmation email is waiting, being sent or waiting for a retry. */
async function makeSubscriber(
  h: Harness,
  email: string,
  state: 'pending' | 'confirmed' = 'confirmed',
): Promise<string> {
  const { id } = await h.app.subscribers.create(email.toLowerCase(), { email });
  if (state === 'confirmed')
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
  return id;
}

async function stateOf(h: Harness, email: string) {
  const id = await h.app.subscribers.findIdByEmail(email.toLowerCase());
  return id ? ((await h.app.subscribers.get(id))?.state ?? null) : null;
}

describe('bad input on the public and admin routes', () => {
  let h: Harness;

  const subscribeJson = (body: unknown, extra: Partial<InjectOptions> = {}) =>
    h.server.inject({ method: 'POST', url: '/subscribe', payload: JSON.stringify(body), headers: JSON_TYPE, ...extra });
  const subscribeForm = (body: string, extra: Partial<InjectOptions> = {}) =>
    h.server.inject({ method: 'POST', url: '/subscribe', payload: body, headers: FORM, ...extra });
  const get = (url: string) => h.server.inject({ method: 'GET', url });

  beforeAll(async () => {
    // The per-IP limit is tested with its own harness below; here every request comes from 127.0.0.1.
    h = await startHarness({ env: { SUBSCRIBE_LIMIT_PER_IP: '10000' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('POST /subscribe with bad input', () => {
    const longName = 'N'.repeat(101);
    const cases: Array<{ what: string; body: unknown; field: 'email' | 'name'; reason: RegExp; lookFor?: string }> = [
      { what: 'no email', body: {}, field: 'email', reason: /email is required/ },
      { what: 'an empty email', body: { email: '   ' }, field: 'email', reason: /email is required/ },
      { what: 'a number as email', body: { email: 42 }, field: 'email', reason: /email is required/ },
      { what: 'an array as email', body: { email: ['a@example.com'] }, field: 'email', reason: /email is required/ },
      {
        what: 'an object as email',
        body: { email: { address: 'a@example.com' } },
        field: 'email',
        reason: /email is required/,
      },
      { what: 'no @ at all', body: { email: 'not-an-email' }, field: 'email', reason: /one @/ },
      { what: 'a dotless domain', body: { email: 'a@b' }, field: 'email', reason: /domain is not valid/ },
      { what: 'a space in the address', body: { email: 'a b@example.com' }, field: 'email', reason: /not allowed/ },
      { what: 'two @', body: { email: 'a@b@example.com' }, field: 'email', reason: /one @/ },
      {
        what: 'an address over 254 characters',
        body: { email: `${'a'.repeat(60)}@${'d'.repeat(200)}.com` },
        field: 'email',
        reason: /254/,
      },
      {
        what: 'CRLF header injection in the email',
        body: { email: 'victim@example.com\r\nBcc: all@example.com' },
        field: 'email',
        reason: /not allowed/,
        lookFor: 'victim@example.com',
      },
      {
        what: 'LF header injection in the email',
        body: { email: 'victim2@example.com\nBcc: all@example.com' },
        field: 'email',
        reason: /not allowed/,
        lookFor: 'victim2@example.com',
      },
      {
        what: 'CRLF in the name',
        body: { email: 'named@example.com', name: 'Eve\r\nBcc: all@example.com' },
        field: 'name',
        reason: /control characters/,
        lookFor: 'named@example.com',
      },
      {
        what: 'a name over 100 characters',
        body: { email: 'longname@example.com', name: longName },
        field: 'name',
        reason: /longer than 100/,
        lookFor: 'longname@example.com',
      },
      {
        what: 'a number as name',
        body: { email: 'numname@example.com', name: 7 },
        field: 'name',
        reason: /name must be text/,
        lookFor: 'numname@example.com',
      },
      {
        what: 'a C1 control (CSI) in the name',
        body: { email: 'csiname@example.com', name: 'Eve\u009b31m' },
        field: 'name',
        reason: /control characters/,
        lookFor: 'csiname@example.com',
      },
      // A greeting that reads "Hello, Bank of X" while the letters say otherwise, or a name with hidden parts.
      {
        what: 'a right-to-left override in the name',
        body: { email: 'rlo@example.com', name: 'Eve \u202Eknab ruoy' },
        field: 'name',
        reason: /invisible formatting/,
        lookFor: 'rlo@example.com',
      },
      {
        what: 'a directional isolate in the name',
        body: { email: 'isolate@example.com', name: '\u2067Eve\u2069 Admin' },
        field: 'name',
        reason: /invisible formatting/,
        lookFor: 'isolate@example.com',
      },
      {
        what: 'a zero-width space in the name',
        body: { email: 'zwsp@example.com', name: 'Ad\u200Bmin' },
        field: 'name',
        reason: /invisible formatting/,
        lookFor: 'zwsp@example.com',
      },
      {
        what: 'a left-to-right mark in the name',
        body: { email: 'lrm@example.com', name: 'Eve\u200E' },
        field: 'name',
        reason: /invisible formatting/,
        lookFor: 'lrm@example.com',
      },
      {
        what: 'a byte-order mark inside the name',
        body: { email: 'bom@example.com', name: 'E\uFEFFve' },
        field: 'name',
        reason: /invisible formatting/,
        lookFor: 'bom@example.com',
      },
    ];

    for (const { what, body, field, reason, lookFor } of cases) {
      it(`JSON with ${what}: 400 with a JSON error, nothing stored or sent`, async () => {
        const before = await snapshot(h);
        const response = await subscribeJson(body);
        expect(response.statusCode).toBe(400);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        const error = response.json();
        expect(error.field).toBe(field);
        expect(error.error).toMatch(new RegExp(`^${field}: `));
        expect(error.error).toMatch(reason);
        expect(await snapshot(h)).toEqual(before);
        if (lookFor) expect(await h.app.subscribers.findIdByEmail(lookFor)).toBeNull();
      });
    }

    it('a form post with a header-injected address: 400 HTML page with the reason and the form again', async () => {
      const before = await snapshot(h);
      const response = await subscribeForm(
        `email=${encodeURIComponent('victim@example.com\r\nBcc: all@example.com')}&name=Eve`,
      );
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.body).toContain('Please check your email: email contains characters that are not allowed.');
      expect(response.body).toContain('<form method="post" action="/subscribe">');
      expect(response.body).toContain('name="email"');
      expect(response.body).not.toContain('Bcc');
      expect(await snapshot(h)).toEqual(before);
      expect(await h.app.subscribers.findIdByEmail('victim@example.com')).toBeNull();
    });

    it('a form post with a malformed address or a CRLF name: 400 HTML pages naming the field', async () => {
      const before = await snapshot(h);
      const bad = await subscribeForm('email=not-an-email');
      expect(bad.statusCode).toBe(400);
      expect(bad.headers['content-type']).toMatch(/^text\/html/);
      expect(bad.body).toContain('Please check your email: email must have one @.');
      expect(bad.body).toContain('<form method="post" action="/subscribe">');

      const badName = await subscribeForm(
        `email=formname%40example.com&name=${encodeURIComponent('Eve\r\nX-Evil: 1')}`,
      );
      expect(badName.statusCode).toBe(400);
      expect(badName.body).toContain('Please check your name: name contains control characters.');
      const disguised = await subscribeForm(`email=formname%40example.com&name=${encodeURIComponent('Eve\u202Eknab')}`);
      expect(disguised.statusCode).toBe(400);
      expect(disguised.body).toContain(
        'Please check your name: name contains invisible formatting characters (such as text direction marks).',
      );
      expect(badName.body).toContain('<form method="post" action="/subscribe">');
      expect(await snapshot(h)).toEqual(before);
      expect(await h.app.subscribers.findIdByEmail('formname@example.com')).toBeNull();
    });

    it('a JSON or form body over 16 KiB: 413 request body too large', async () => {
      const before = await snapshot(h);
      const asJson = await subscribeJson({ email: 'big@example.com', name: 'x'.repeat(17 * 1024) });
      expect(asJson.statusCode).toBe(413);
      expect(asJson.json()).toEqual({ error: 'request body too large' });
      const asForm = await subscribeForm(`email=big%40example.com&name=${'x'.repeat(17 * 1024)}`);
      expect(asForm.statusCode).toBe(413);
      expect(asForm.json()).toEqual({ error: 'request body too large' });
      expect(await snapshot(h)).toEqual(before);
      expect(await h.app.subscribers.findIdByEmail('big@example.com')).toBeNull();
    });

    it('invalid or empty JSON: 400 with a JSON error', async () => {
      const before = await snapshot(h);
      for (const payload of ['{"email": "broken@example.com"', '{email: broken@example.com}', '']) {
        const response = await h.server.inject({ method: 'POST', url: '/subscribe', payload, headers: JSON_TYPE });
        expect(response.statusCode, `payload ${JSON.stringify(payload)}`).toBe(400);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(typeof response.json().error).toBe('string');
      }
      expect(await snapshot(h)).toEqual(before);
      expect(await h.app.subscribers.findIdByEmail('broken@example.com')).toBeNull();
    });

    it('sent no mail for any of the above', async () => {
      await transactionalIdle(h);
      expect(h.sink.messages).toHaveLength(0);
      expect(await h.app.subscribers.countsByState()).toEqual({
        pending: 0,
        confirmed: 0,
        unsubscribed: 0,
        bounced: 0,
        complained: 0,
      });
    });
  });

  describe('sign-up answers do not reveal who subscribes', () => {
    it('gives new, pending, confirmed, unsubscribed and bounced addresses the same 202 answer', async () => {
      await makeSubscriber(h, 'known@example.test');
      const leftId = await makeSubscriber(h, 'left@example.test');
      await h.app.subscribers.transition({ id: leftId, from: ['confirmed'], to: 'unsubscribed', reason: 'test' });
      const bouncedId = await makeSubscriber(h, 'gone@example.test');
      await h.app.subscriptions.suppress(bouncedId, 'bounced', 'test');

      const answers: Record<string, LightMyRequestResponse> = {
        new: await subscribeJson({ email: 'fresh@example.test' }),
        pending: await subscribeJson({ email: 'fresh@example.test' }),
        confirmed: await subscribeJson({ email: 'known@example.test' }),
        unsubscribed: await subscribeJson({ email: 'left@example.test' }),
        bounced: await subscribeJson({ email: 'gone@example.test' }),
      };
      const reference = answers.new!;
      expect(reference.statusCode).toBe(202);
      expect(reference.json().status).toBe('check-your-inbox');
      for (const [kind, response] of Object.entries(answers)) {
        expect(response.statusCode, kind).toBe(202);
        expect(response.body, kind).toBe(reference.body);
        expect(response.headers['content-type'], kind).toBe(reference.headers['content-type']);
      }

      // The same through the HTML form.
      const pages = [
        await subscribeForm('email=fresh2%40example.test'),
        await subscribeForm('email=fresh2%40example.test'),
        await subscribeForm('email=known%40example.test'),
        await subscribeForm('email=gone%40example.test'),
      ];
      for (const response of pages) {
        expect(response.statusCode).toBe(202);
        expect(response.body).toBe(pages[0]!.body);
      }
      expect(pages[0]!.body).toContain('Check your inbox');

      // Behind the identical answers: a returning reader starts over, nobody else changes state
      // (once the worker has applied the sign-ups: the answer comes before it does).
      await transactionalIdle(h);
      expect(await stateOf(h, 'fresh@example.test')).toBe('pending');
      expect(await stateOf(h, 'known@example.test')).toBe('confirmed');
      expect(await stateOf(h, 'left@example.test')).toBe('pending');
      expect((await h.app.subscribers.get(leftId))?.version).toBe(2);
      expect(await stateOf(h, 'gone@example.test')).toBe('bounced');

      // Only the addresses that still need confirming get an email.
      expect(h.sink.to('fresh@example.test')).toHaveLength(2);
      expect(h.sink.to('fresh2@example.test')).toHaveLength(2);
      expect(h.sink.to('left@example.test')).toHaveLength(1);
      expect(h.sink.to('known@example.test')).toHaveLength(0);
      expect(h.sink.to('gone@example.test')).toHaveLength(0);
    });
  });

  describe('rate limits', () => {
    it('answers a 4th sign-up of one address within the hour with 202 but sends no 4th confirmation', async () => {
      const address = 'limited@example.test';
      const responses = [];
      for (let attempt = 0; attempt < 5; attempt += 1) responses.push(await subscribeJson({ email: address }));
      for (const response of responses) {
        expect(response.statusCode).toBe(202);
        expect(response.body).toBe(responses[0]!.body);
      }
      await waitFor(async () => h.sink.to(address).length >= 3, 'three confirmation emails');
      await transactionalIdle(h);
      expect(h.sink.to(address)).toHaveLength(3);
      expect(await stateOf(h, address)).toBe('pending');
    });

    describe('per IP address', () => {
      let limited: Harness;
      beforeAll(async () => {
        limited = await startHarness({ env: { SUBSCRIBE_LIMIT_PER_IP: '3' } });
      });
      afterAll(async () => {
        await limited?.close();
      });

      it('refuses the 4th sign-up from one IP with 429 and retry-after, and keeps other IPs working', async () => {
        const post = (email: string, remoteAddress = '127.0.0.1') =>
          limited.server.inject({ method: 'POST', url: '/subscribe', payload: { email }, remoteAddress });
        for (const email of ['ip1@example.test', 'ip2@example.test', 'ip3@example.test'])
          expect((await post(email)).statusCode).toBe(202);

        const refused = await post('ip4@example.test');
        expect(refused.statusCode).toBe(429);
        expect(refused.headers['retry-after']).toBe('3600');
        expect(refused.json().error).toMatch(/too many sign-ups/);

        const refusedForm = await limited.server.inject({
          method: 'POST',
          url: '/subscribe',
          payload: 'email=ip5%40example.test',
          headers: FORM,
          remoteAddress: '127.0.0.1',
        });
        expect(refusedForm.statusCode).toBe(429);
        expect(refusedForm.headers['retry-after']).toBe('3600');
        expect(refusedForm.headers['content-type']).toMatch(/^text\/html/);
        expect(refusedForm.body).toContain('Too many attempts');
        await transactionalIdle(limited);
        expect(await limited.app.subscribers.findIdByEmail('ip4@example.test')).toBeNull();
        expect(await limited.app.subscribers.findIdByEmail('ip5@example.test')).toBeNull();

        expect((await limited.app.subscribers.countsByState()).pending).toBe(3);
        expect((await post('ip6@example.test', '192.0.2.7')).statusCode).toBe(202);
        await transactionalIdle(limited);
        expect((await limited.app.subscribers.countsByState()).pending).toBe(4);
      });
    });
  });

  describe('confirmation and unsubscribe links', () => {
    const signer = new TokenSigner(APP_SECRET);

    it('refuses missing, garbage, forged, expired and wrong-purpose confirmation tokens; the reader stays pending', async () => {
      const address = 'token@example.test';
      expect((await subscribeJson({ email: address })).statusCode).toBe(202);
      const mail = await waitFor(async () => h.sink.to(address)[0], 'confirmation email');
      const link = linkIn((await h.sink.parsed(mail)).text ?? '', `${PUBLIC_URL}/confirm?token=`);
      const token = tokenOf(link);
      const id = (await h.app.subscribers.findIdByEmail(address))!;
      const version = (await h.app.subscribers.get(id))!.version;
      const otherId = await makeSubscriber(h, 'other-pending@example.test', 'pending');
      const otherToken = token.replace(`c.${id}.`, `c.${otherId}.`);
      expect(otherToken).not.toBe(token);

      const cases: Array<[string, string, number, string]> = [
        ['no token', '/confirm', 400, 'This link is incomplete.'],
        ['an empty token', '/confirm?token=', 400, 'This link is incomplete.'],
        ['a garbage token', '/confirm?token=garbage', 400, 'This link is incomplete.'],
        ['a token with a changed signature', `/confirm?token=${tamper(token)}`, 400, 'This link is not valid.'],
        ['a token moved to another subscriber', `/confirm?token=${otherToken}`, 400, 'This link is not valid.'],
        [
          'a token signed with another secret',
          `/confirm?token=${new TokenSigner('x'.repeat(40)).sign({ purpose: 'confirm', subscriberId: id, version }, new Date(Date.now() + 3600_000))}`,
          400,
          'This link is not valid.',
        ],
        [
          'an unsubscribe token',
          `/confirm?token=${tokenOf(h.app.subscriptions.readerUrls(id).unsubscribeUrl)}`,
          400,
          'This link is not valid.',
        ],
        [
          'an expired token',
          `/confirm?token=${signer.sign({ purpose: 'confirm', subscriberId: id, version }, new Date(Date.now() - 1000))}`,
          410,
          'This link has expired.',
        ],
      ];
      for (const [what, url, status, text] of cases) {
        const response = await get(url);
        expect(response.statusCode, what).toBe(status);
        expect(response.headers['content-type'], what).toMatch(/^text\/html/);
        expect(response.body, what).toContain(text);
        expect(response.body, what).not.toContain('You are subscribed');
        expect(await stateOf(h, address), what).toBe('pending');
      }
      expect(await stateOf(h, 'other-pending@example.test')).toBe('pending');
      expect((await h.app.subscribers.countsByState()).confirmed).toBe(1); // known@ only

      // The refusals above were about the tokens: a POST of each is refused the same way.
      for (const [what, url, status] of cases)
        expect((await h.server.inject({ method: 'POST', url })).statusCode, `POST ${what}`).toBe(status);
      expect(await stateOf(h, address)).toBe('pending');

      // The genuine link: opening it (as a mail scanner does) confirms nothing; the page's button does.
      for (let scans = 0; scans < 3; scans += 1) {
        const page = await get(link.replace(PUBLIC_URL, ''));
        expect(page.statusCode).toBe(200);
        expect(page.body).toContain(`<form method="post" action="/confirm?token=${token}">`);
        expect(page.body).not.toContain('You are subscribed');
      }
      expect(await stateOf(h, address)).toBe('pending');
      const ok = await confirmByLink(h, link);
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('You are subscribed');
      expect(await stateOf(h, address)).toBe('confirmed');
    });

    it('voids a confirmation link from before an unsubscribe and re-subscription', async () => {
      const address = 'again@example.test';
      expect((await subscribeJson({ email: address })).statusCode).toBe(202);
      const first = await waitFor(async () => h.sink.to(address)[0], 'first confirmation email');
      const oldLink = linkIn((await h.sink.parsed(first)).text ?? '', `${PUBLIC_URL}/confirm?token=`).replace(
        PUBLIC_URL,
        '',
      );
      const id = (await h.app.subscribers.findIdByEmail(address))!;

      const left = await h.server.inject({
        method: 'POST',
        url: `/unsubscribe?token=${tokenOf(h.app.subscriptions.readerUrls(id).unsubscribeUrl)}`,
      });
      expect(left.statusCode).toBe(200);
      expect(await stateOf(h, address)).toBe('unsubscribed');
      // While unsubscribed, the old link cannot bring the reader back.
      expect((await get(oldLink)).statusCode).toBe(400);
      expect(await stateOf(h, address)).toBe('unsubscribed');

      expect((await subscribeJson({ email: address })).statusCode).toBe(202);
      const second = await waitFor(async () => h.sink.to(address)[1], 'second confirmation email');
      const newLink = linkIn((await h.sink.parsed(second)).text ?? '', `${PUBLIC_URL}/confirm?token=`).replace(
        PUBLIC_URL,
        '',
      );
      expect(newLink).not.toBe(oldLink);

      const stale = await get(oldLink);
      expect(stale.statusCode).toBe(400);
      expect(stale.body).toContain('A newer confirmation email replaced this one.');
      expect(await stateOf(h, address)).toBe('pending');

      expect((await confirmByLink(h, newLink)).statusCode).toBe(200);
      expect(await stateOf(h, address)).toBe('confirmed');
      expect((await get(oldLink)).statusCode).toBe(400);
      expect((await h.server.inject({ method: 'POST', url: oldLink })).statusCode).toBe(400);
    });

    it('POST /unsubscribe with a forged, missing or wrong-purpose token: 400 and the reader stays confirmed', async () => {
      const address = 'stay@example.test';
      const id = await makeSubscriber(h, address);
      const token = tokenOf(h.app.subscriptions.readerUrls(id).unsubscribeUrl);
      const confirmToken = signer.sign(
        { purpose: 'confirm', subscriberId: id, version: 1 },
        new Date(Date.now() + 3600_000),
      );

      for (const bad of [tamper(token), token.replace(`u.${id}.`, `u.${Number(id) + 1}.`), confirmToken, '']) {
        const page = await h.server.inject({ method: 'POST', url: `/unsubscribe?token=${bad}` });
        expect(page.statusCode, bad).toBe(400);
        expect(page.headers['content-type']).toMatch(/^text\/html/);
        expect(page.body).toContain('This link does not work');

        const oneClick = await h.server.inject({
          method: 'POST',
          url: `/unsubscribe?token=${bad}`,
          payload: 'List-Unsubscribe=One-Click',
          headers: FORM,
        });
        expect(oneClick.statusCode, bad).toBe(400);
        expect(typeof oneClick.json().error).toBe('string');
        expect(await stateOf(h, address)).toBe('confirmed');
      }
      expect((await h.app.subscribers.history(id)).some((event) => event.to === 'unsubscribed')).toBe(false);
    });

    it('GET /unsubscribe shows a button and does not unsubscribe; the button does', async () => {
      const address = 'stay@example.test';
      const id = (await h.app.subscribers.findIdByEmail(address))!;
      const token = tokenOf(h.app.subscriptions.readerUrls(id).unsubscribeUrl);

      const shown = await get(`/unsubscribe?token=${token}`);
      expect(shown.statusCode).toBe(200);
      expect(shown.body).toContain(`<form method="post" action="/unsubscribe?token=${token}">`);
      expect(shown.body).toMatch(/<button type="submit">Unsubscribe<\/button>/);
      // A second look (mail scanners fetch links repeatedly) changes nothing either.
      expect((await get(`/unsubscribe?token=${token}`)).statusCode).toBe(200);
      expect(await stateOf(h, address)).toBe('confirmed');

      const forgedPage = await get(`/unsubscribe?token=${tamper(token)}`);
      expect(forgedPage.statusCode).toBe(400);
      expect(forgedPage.body).not.toContain('<button');

      const pressed = await h.server.inject({ method: 'POST', url: `/unsubscribe?token=${token}` });
      expect(pressed.statusCode).toBe(200);
      expect(pressed.body).toContain('You are unsubscribed');
      expect(await stateOf(h, address)).toBe('unsubscribed');
    });
  });

  describe('admin authentication', () => {
    const article = {
      url: 'https://news.example.org/unauthorized',
      title: 'Should not be stored',
      publishedAt: '2020-02-25T12:00:00Z',
    };
    const routes: Array<{ method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: object }> = [
      { method: 'GET', url: '/admin/articles' },
      { method: 'POST', url: '/admin/articles', payload: article },
      { method: 'POST', url: '/admin/articles', payload: [article] },
      { method: 'PATCH', url: '/admin/articles/0123456789abcdef01234567', payload: { selected: true, position: 1 } },
      { method: 'POST', url: '/admin/editions' },
      { method: 'GET', url: '/admin/editions' },
      { method: 'GET', url: '/admin/editions/2020-02-25' },
      { method: 'POST', url: '/admin/editions/2020-02-25/resend', payload: { all: true } },
      { method: 'GET', url: '/admin/subscribers/known%40example.test' },
      { method: 'GET', url: '/admin/subscribers' },
      { method: 'POST', url: '/admin/feeds/poll' },
      { method: 'GET', url: '/admin/feeds' },
    ];
    const credentials: Array<[string, Record<string, string>]> = [
      ['no Authorization', {}],
      ['a wrong bearer token', { authorization: 'Bearer wrong-token-wrong-token' }],
      [
        'the right token with Basic',
        { authorization: `Basic ${Buffer.from(`admin:test-admin-token-0123456789`).toString('base64')}` },
      ],
      ['the right token as Basic without encoding', { authorization: 'Basic test-admin-token-0123456789' }],
      ['the right token without a scheme', { authorization: 'test-admin-token-0123456789' }],
      ['an empty bearer token', { authorization: 'Bearer ' }],
      ['the right token with a suffix', { authorization: 'Bearer test-admin-token-0123456789x' }],
    ];

    it('answers every admin route 401 with www-authenticate without the right bearer token, changing nothing', async () => {
      const before = await snapshot(h);
      for (const route of routes) {
        for (const [what, headers] of credentials) {
          const response = await h.server.inject({
            method: route.method,
            url: route.url,
            headers,
            ...(route.payload ? { payload: route.payload } : {}),
          });
          const label = `${route.method} ${route.url} with ${what}`;
          expect(response.statusCode, label).toBe(401);
          expect(response.headers['www-authenticate'], label).toBe('Bearer realm="admin"');
          expect(response.json().error, label).toMatch(/admin token/);
          expect(response.body, label).not.toContain('Should not be stored');
        }
      }
      expect(await snapshot(h)).toEqual(before);
      expect(await h.app.editions.list(60)).toEqual([]);
      // The same request with the right token is let through.
      expect((await h.server.inject({ method: 'GET', url: '/admin/subscribers', headers: h.admin })).statusCode).toBe(
        200,
      );
    });
  });

  describe('admin article input', () => {
    const valid = {
      url: 'https://news.example.org/valid',
      title: 'A valid story',
      publishedAt: '2020-02-25T12:00:00Z',
    };
    const cases: Array<[string, unknown, RegExp]> = [
      ['a javascript: URL', { ...valid, url: 'javascript:alert(1)' }, /^url: /],
      ['a JavaScript: URL with spaces', { ...valid, url: '  JavaScript:alert(document.cookie)' }, /^url: /],
      ['a data: URL', { ...valid, url: 'data:text/html,<script>alert(1)</script>' }, /^url: /],
      ['a javascript: image URL', { ...valid, imageUrl: 'javascript:alert(1)' }, /^imageUrl: /],
      ['no title', { url: valid.url, publishedAt: valid.publishedAt }, /^title: /],
      ['an empty title', { ...valid, title: '' }, /^title: /],
      ['an unknown field', { ...valid, onclick: 'alert(1)' }, /onclick/],
      ['a title that is only blanks and line breaks', { ...valid, title: ' \n\t ' }, /^title: has no text$/],
      ['a non-boolean selected', { ...valid, selected: 'yes' }, /^selected: /],
      ['an invalid date', { ...valid, publishedAt: 'yesterday-ish' }, /^publishedAt: /],
      ['not an object', 'just a string', /body/],
    ];

    for (const [what, payload, issue] of cases) {
      it(`refuses ${what} with 400 and issues, storing nothing`, async () => {
        const before = await snapshot(h);
        const response = await h.server.inject({
          method: 'POST',
          url: '/admin/articles',
          headers: { ...h.admin, ...JSON_TYPE },
          payload: JSON.stringify(payload),
        });
        expect(response.statusCode).toBe(400);
        const body = response.json();
        expect(body.error).toBe('invalid article');
        expect(Array.isArray(body.issues)).toBe(true);
        expect(
          body.issues.some((line: string) => issue.test(line)),
          JSON.stringify(body.issues),
        ).toBe(true);
        expect(await snapshot(h)).toEqual(before);
      });
    }

    it('refuses more than 500 articles in one request with 400, storing none of them', async () => {
      const before = await snapshot(h);
      const items = Array.from({ length: 501 }, (_, index) => ({
        ...valid,
        url: `https://news.example.org/bulk/${index}`,
      }));
      const response = await h.server.inject({
        method: 'POST',
        url: '/admin/articles',
        headers: h.admin,
        payload: items,
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('at most 500 articles per request');
      expect(await snapshot(h)).toEqual(before);
    });

    it("answers an array with each article's outcome in order: 207 when any is refused (the others are stored), 200 when none is", async () => {
      const batch = [
        { ...valid, url: 'https://news.example.org/batch/kept' },
        { ...valid, url: 'javascript:alert(1)' },
      ];
      const mixed = await h.server.inject({ method: 'POST', url: '/admin/articles', headers: h.admin, payload: batch });
      expect(mixed.statusCode).toBe(207);
      const { results } = mixed.json() as {
        results: Array<{ ok: boolean; key?: string; created?: boolean; issues?: string[] }>;
      };
      expect(results).toHaveLength(2);
      expect(results[0]).toEqual({ ok: true, key: expect.any(String), created: true });
      expect(results[1]).toEqual({ ok: false, issues: [expect.stringMatching(/^url: /)] });
      expect((await h.app.articles.get(results[0]!.key!))?.url).toBe('https://news.example.org/batch/kept');

      const allGood = await h.server.inject({
        method: 'POST',
        url: '/admin/articles',
        headers: h.admin,
        payload: [batch[0]],
      });
      expect(allGood.statusCode).toBe(200);
      expect(allGood.json()).toEqual({ results: [{ ok: true, key: results[0]!.key, created: false }] });
    });

    it('stores what an editor typed as text, markup included, and escapes it wherever it is shown', async () => {
      const typed = {
        title: '<script>alert("x")</script>Hello <b>world</b>',
        summary: 'x<y and y>z: <img src=x onerror=alert(1)><a href="javascript:alert(1)">details</a>',
        section: 'Why <script> still works',
      };
      const response = await h.server.inject({
        method: 'POST',
        url: '/admin/articles',
        headers: h.admin,
        payload: { url: 'https://news.example.org/hostile', ...typed, publishedAt: '2020-02-25T12:00:00Z' },
      });
      expect(response.statusCode).toBe(201);
      const { key } = response.json();

      const listed = await h.server.inject({
        method: 'GET',
        url: '/admin/articles?from=2020-02-25T00:00:00Z&to=2020-02-26T00:00:00Z',
        headers: h.admin,
      });
      expect(listed.statusCode).toBe(200);
      expect(listed.headers['content-type']).toMatch(/^application\/json/);
      const stored = (
        listed.json().articles as Array<{ key: string; title: string; summary: string; section: string }>
      ).find((a) => a.key === key);
      expect(stored).toMatchObject(typed);
    });
  });
});
