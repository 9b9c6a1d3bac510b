import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.ts';

/**
 * What the service believes about who is asking, with and without TRUST_PROXY (issue 27, items 2
 * and 15): the dev mailbox is never served through a proxy, and the request log names the client
 * the rate limits count.
 */
const SECRET_LINK = 'https://digest.example.test/unsubscribe?token=u.1.0.0.secret';
const MAILBOX_PATHS = ['/dev/mailbox', '/dev/mailbox/0', '/dev/mailbox/0/raw'];

/** What a proxy on this machine (nginx, Caddy, a tunnel) adds to a request it passes on. */
const PROXIED: Array<[string, Record<string, string>]> = [
  ['X-Forwarded-For of a remote client', { 'x-forwarded-for': '203.0.113.9' }],
  ['X-Forwarded-For naming this machine', { 'x-forwarded-for': '127.0.0.1' }],
  ['Forwarded (RFC 7239)', { forwarded: 'for=203.0.113.9;proto=https' }],
  ['Forwarded naming this machine', { forwarded: 'for=127.0.0.1' }],
  ['an empty X-Forwarded-For', { 'x-forwarded-for': '' }],
];

describe('the dev mailbox behind a proxy on this machine', () => {
  for (const trustProxy of ['', '1', '127.0.0.1']) {
    describe(trustProxy ? `with TRUST_PROXY=${trustProxy}` : 'without TRUST_PROXY', () => {
      let h: Harness;
      beforeAll(async () => {
        h = await startHarness({ workers: false, env: { SMTP_URL: '', TRUST_PROXY: trustProxy } });
        await h.app.devMailbox!.send(
          { from: 'digest@example.test', to: 'reader@example.test' },
          Buffer.from(`Subject: Hello\r\n\r\n${SECRET_LINK}\r\n`),
        );
      });
      afterAll(async () => h?.close());

      it('is served to a browser on this machine that asks directly', async () => {
        const direct = await h.server.inject({ method: 'GET', url: '/dev/mailbox/0', remoteAddress: '127.0.0.1' });
        expect(direct.statusCode).toBe(200);
        expect(direct.body).toContain('token=u.1.0.0.secret');
      });

      for (const [what, headers] of PROXIED) {
        it(`is refused (403, no token) to a request through a proxy: ${what}`, async () => {
          for (const url of MAILBOX_PATHS) {
            const proxied = await h.server.inject({ method: 'GET', url, remoteAddress: '127.0.0.1', headers });
            expect(proxied.statusCode, url).toBe(403);
            expect(proxied.body, url).not.toContain('secret');
          }
        });
      }
    });
  }
});

interface LoggedRequest {
  msg: string;
  req?: { method: string; url: string; remoteAddress?: string };
  res?: { statusCode: number };
}

describe('the request log', () => {
  const requestLines = (h: Harness) =>
    h.logs
      .map((line) => JSON.parse(line) as LoggedRequest)
      .filter((line) => line.msg === 'request completed' && line.req?.url === '/subscribe');

  const setups: Array<{
    setting: string;
    env: Record<string, string>;
    remoteAddress: string;
    forwardedFor: string;
    client: string;
  }> = [
    {
      setting: 'without TRUST_PROXY (the connection’s address, whatever X-Forwarded-For says)',
      env: {},
      remoteAddress: '198.51.100.40',
      forwardedFor: '6.6.6.6',
      client: '198.51.100.40',
    },
    {
      setting: 'with TRUST_PROXY=1 (the address the proxy saw)',
      env: { TRUST_PROXY: '1' },
      remoteAddress: '10.0.0.2',
      forwardedFor: '6.6.6.6, 198.51.100.41',
      client: '198.51.100.41',
    },
  ];
  for (const { setting, env, remoteAddress, forwardedFor, client } of setups) {
    it(`names the client the sign-up limit counts, ${setting}`, async () => {
      const h = await startHarness({ workers: false, captureLogs: true, env: { ...env, SUBSCRIBE_LIMIT_PER_IP: '1' } });
      try {
        for (const email of ['a@example.test', 'b@example.test']) {
          await h.server.inject({
            method: 'POST',
            url: '/subscribe',
            payload: { email },
            remoteAddress,
            headers: { 'x-forwarded-for': forwardedFor },
          });
        }
        expect(requestLines(h).map((line) => [line.req?.remoteAddress, line.res?.statusCode])).toEqual([
          [client, 202],
          [client, 429],
        ]);
        expect(await h.app.redis.get(h.app.keys.signupsByIp(client))).toBe('2');
      } finally {
        await h.close();
      }
    });
  }
});
