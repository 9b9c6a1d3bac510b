import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from '../support/harness.ts';

const SELECTOR = 'digest2026';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DNS: Record<string, string> = {
  [`${SELECTOR}._domainkey.example.test`]: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
};

/** What a receiving server does: look the key up in DNS (here a table) and check the signature. */
async function verify(raw: string) {
  const { results } = await dkimVerify(Buffer.from(raw), {
    resolver: async (name: string, type: string) => {
      const record = type === 'TXT' ? DNS[name] : undefined;
      if (!record) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
      return [[record]];
    },
  });
  return results.map((result) => ({
    domain: result.signingDomain,
    selector: result.selector,
    result: result.status.result,
    aligned: result.status.aligned,
  }));
}

/** DKIM_*: every message that leaves over SMTP carries a signature of the From domain that verifies. */
describe('DKIM signing', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      env: {
        DKIM_DOMAIN: 'example.test',
        DKIM_SELECTOR: SELECTOR,
        // As it would sit in an .env file: one line, with \n for the line breaks.
        DKIM_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().replace(/\n/g, '\\n'),
        FEEDBACK_ID_SENDER: 'digest',
        BOUNCE_ADDRESS: 'bounces.example.test',
      },
    });
    const { id } = await h.app.subscribers.create('reader@example.test', {
      email: 'reader@example.test',
      name: 'Reader',
    });
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    await h.app.intake.ingest(
      { url: 'https://news.example.org/dkim', title: 'Signed and sealed', publishedAt: '2020-02-25T12:00:00Z' },
      'admin',
    );
  });
  afterAll(async () => h?.close());

  it('signs the edition so that it verifies against the published key, aligned with From', async () => {
    const edition = await h.app.desk.runDue(new Date('2020-02-25T18:30:05Z'));
    await waitFor(async () => (await h.app.deliveries.progress(edition!.id))?.finished, 'the edition');
    const [message] = h.sink.to('reader@example.test');
    expect(message?.raw).toMatch(/^DKIM-Signature: /m);
    expect(await verify(message!.raw)).toEqual([
      { domain: 'example.test', selector: SELECTOR, result: 'pass', aligned: 'example.test' },
    ]);
  });

  it('covers Feedback-ID (Gmail believes it only when signed), List-Unsubscribe with its mailto, and List-Unsubscribe-Post', async () => {
    const [message] = h.sink.to('reader@example.test');
    expect(message?.raw).toMatch(/^Feedback-ID: 2020-02-25:edition:digest\r$/m);
    expect(message?.raw).toMatch(
      /^List-Unsubscribe: <https:\/\/[^>]+>, <mailto:unsubscribe\+[^>]+@bounces\.example\.test\?subject=unsubscribe>\r$/m,
    );
    const signature = /^DKIM-Signature: ([^]*?)\r\n(?![ \t])/m.exec(message!.raw)?.[1] ?? '';
    const signed = (/\bh=([^;]+)/.exec(signature.replace(/\r\n[ \t]+/g, ''))?.[1] ?? '').toLowerCase().split(':');
    expect(signed).toEqual(
      expect.arrayContaining([
        'from',
        'subject',
        'feedback-id',
        'list-unsubscribe',
        'list-unsubscribe-post',
        'x-edition',
      ]),
    );
    expect(
      (await verify(message!.raw.replace(/^Feedback-ID: .*$/m, 'Feedback-ID: 2020-02-25:edition:someone-else')))[0]
        ?.result,
    ).toBe('fail');
  });

  it('a message changed on the way fails verification (the signature covers the body and headers)', async () => {
    const [message] = h.sink.to('reader@example.test');
    expect((await verify(message!.raw.replace('Signed and sealed', 'Signed and altered')))[0]?.result).toBe('fail');
    expect((await verify(message!.raw.replace(/^Subject: .*$/m, 'Subject: Something else')))[0]?.result).toBe('fail');
  });

  it('signs confirmation emails too', async () => {
    const response = await h.server.inject({
      method: 'POST',
      url: '/subscribe',
      payload: { email: 'new@example.test' },
    });
    expect(response.statusCode).toBe(202);
    const confirmation = await waitFor(async () => h.sink.to('new@example.test')[0], 'the confirmation email');
    expect((await verify(confirmation.raw))[0]?.result).toBe('pass');
  });
});
