import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBounceAddress, readUnsubscribeAddress } from '../../src/feedback/verp.ts';
import { type Harness, linkIn, startHarness, transactionalIdle, waitFor } from '../support/harness.ts';

const SECRET = 'test-secret-test-secret-test-secret-0123';

/** BOUNCE_ADDRESS: each reader's message goes out with its own signed return path; what readers see stays as it was. */
describe('VERP return paths (BOUNCE_ADDRESS)', () => {
  let h: Harness;
  let readerId: string;

  beforeAll(async () => {
    h = await startHarness({ env: { BOUNCE_ADDRESS: 'bounces.example.test' } });
    readerId = (await h.app.subscribers.create('reader@example.test', { email: 'reader@example.test', name: 'Reader' }))
      .id;
    await h.app.subscribers.transition({ id: readerId, from: ['pending'], to: 'confirmed', reason: 'test' });
    await h.app.intake.ingest(
      { url: 'https://news.example.org/verp', title: 'Return to sender', publishedAt: '2020-02-25T12:00:00Z' },
      'admin',
    );
    const edition = await h.app.desk.runDue(new Date('2020-02-25T18:30:05Z'));
    await waitFor(async () => (await h.app.deliveries.progress(edition!.id))?.finished, 'the edition');
  });
  afterAll(async () => h?.close());

  it("the edition's envelope sender names the reader and the edition, signed; the From header is unchanged", async () => {
    const [message] = h.sink.to('reader@example.test');
    expect(message?.from).toMatch(/^bounce\+[a-z0-9=-]+@bounces\.example\.test$/);
    expect(readBounceAddress(message!.from, SECRET, 'bounce@bounces.example.test')).toEqual({
      recipientId: readerId,
      edition: '2020-02-25',
    });
    expect(message?.raw).toMatch(/^From: "Evening Digest" <digest@example\.test>\r$/m);
    expect(message?.raw).not.toMatch(/^(Return-Path|Sender):/im);
  });

  it('List-Unsubscribe offers the one-click URL and a mailto address that names the same reader', async () => {
    const [message] = h.sink.to('reader@example.test');
    const header = /^List-Unsubscribe: (.*)\r$/m.exec(message!.raw)?.[1] ?? '';
    expect(header).toMatch(
      /^<https:\/\/digest\.example\.test\/unsubscribe\?token=[^>]+>, <mailto:unsubscribe\+[a-z0-9=-]+@bounces\.example\.test\?subject=unsubscribe>$/,
    );
    const mailto = /<mailto:([^?>]+)/.exec(header)?.[1] ?? '';
    expect(readUnsubscribeAddress(mailto, SECRET, 'unsubscribe@bounces.example.test')).toEqual({
      recipientId: readerId,
      edition: '2020-02-25',
    });
    expect(message?.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
  });

  it('confirmation and welcome emails carry a return path for the reader too, with no edition', async () => {
    await h.server.inject({ method: 'POST', url: '/subscribe', payload: { email: 'new@example.test' } });
    const confirmation = await waitFor(async () => h.sink.to('new@example.test')[0], 'the confirmation email');
    const newId = (await h.app.subscribers.findIdByEmail('new@example.test'))!;
    expect(readBounceAddress(confirmation.from, SECRET, 'bounce@bounces.example.test')).toEqual({
      recipientId: newId,
      edition: '',
    });
    const link = linkIn((await h.sink.parsed(confirmation)).text ?? '', 'https://digest.example.test/confirm?token=');
    await h.server.inject({ method: 'POST', url: link.replace('https://digest.example.test', '') });
    await transactionalIdle(h);
    const welcome = await waitFor(async () => h.sink.to('new@example.test')[1], 'the welcome email');
    expect(readBounceAddress(welcome.from, SECRET, 'bounce@bounces.example.test')).toEqual({
      recipientId: newId,
      edition: '',
    });
  });
});
