import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminSessions } from '../../src/admin/sessions.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/**
 * Pages that hold a reader's personal link token (or everybody's, in the dev mailbox) are sent with
 * `Cache-Control: no-store`, so that no browser cache, shared computer or proxy keeps a copy
 * (issue 27, item 13).
 */
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function expectNoStore(response: LightMyRequestResponse, what: string): void {
  expect(response.statusCode, what).toBeLessThan(500);
  expect(String(response.headers['cache-control'] ?? ''), what).toMatch(/(^|,\s*)no-store(\s*,|$)/);
}

describe('Cache-Control: no-store on pages holding a personal token', () => {
  let h: Harness;
  let unsubscribeToken = '';
  let confirmToken = '';

  beforeAll(async () => {
    // No SMTP_URL: the dev mailbox is on, at /dev/mailbox and in the console.
    h = await startHarness({ workers: false, env: { SMTP_URL: '' } });
    const { id } = await h.app.subscribers.create('reader@example.test', { email: 'reader@example.test' });
    confirmToken = new URL(h.app.subscriptions.confirmUrl(id, 1)).searchParams.get('token') ?? '';
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    unsubscribeToken = new URL(h.app.subscriptions.readerUrls(id).preferencesUrl).searchParams.get('token') ?? '';
    await h.app.devMailbox!.send(
      { from: 'digest@example.test', to: 'reader@example.test' },
      Buffer.from(`Subject: Hello\r\n\r\nhttps://digest.example.test/unsubscribe?token=${unsubscribeToken}\r\n`),
    );
  });
  afterAll(async () => h?.close());

  it('on the reader’s pages: preferences, confirm and unsubscribe, shown and posted', async () => {
    const requests = [
      { method: 'GET' as const, url: `/preferences?token=${unsubscribeToken}` },
      { method: 'POST' as const, url: `/preferences?token=${unsubscribeToken}`, payload: 'name=Ada', headers: FORM },
      { method: 'GET' as const, url: `/confirm?token=${confirmToken}` },
      { method: 'POST' as const, url: `/confirm?token=${confirmToken}` },
      { method: 'GET' as const, url: `/unsubscribe?token=${unsubscribeToken}` },
      // A link with a wrong token still carries most of a real one in its address.
      { method: 'GET' as const, url: `/preferences?token=${unsubscribeToken.slice(0, -2)}xx` },
      { method: 'POST' as const, url: `/unsubscribe?token=${unsubscribeToken}`, payload: '', headers: FORM },
    ];
    for (const request of requests) {
      const response = await h.server.inject(request);
      expectNoStore(response, `${request.method} ${request.url.replace(/token=.*/, 'token=…')}`);
    }
    const shown = await h.server.inject({ method: 'GET', url: `/preferences?token=${unsubscribeToken}` });
    expect(shown.body).toContain(unsubscribeToken);
  });

  it('on the dev mailbox, at /dev/mailbox and in the console', async () => {
    const session = await new AdminSessions(h.app.redis, h.app.keys, h.app.config.ADMIN_TOKEN, '').create('editor');
    for (const base of ['/dev/mailbox', '/console/mailbox']) {
      for (const url of [base, `${base}/0`, `${base}/0/raw`]) {
        const response = await h.server.inject({ method: 'GET', url, cookies: { digest_session: session.id } });
        expect(response.statusCode, url).toBe(200);
        expectNoStore(response, url);
      }
      expect(
        (await h.server.inject({ method: 'GET', url: `${base}/0/raw`, cookies: { digest_session: session.id } })).body,
      ).toContain(unsubscribeToken);
    }
  });
});
