import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResendRecord } from '../../src/delivery/deliveries.ts';
import { type Harness, startHarness, waitFor } from '../support/harness.ts';

const FIRST = '2020-02-25';
const SECOND = '2020-02-26';
const READERS = ['alice@example.test', 'bob@example.test', 'carol@example.test'];
const CAROL = 'carol@example.test';

/**
 * Resends through the admin API: one reader, the failed ones, everyone. Each run is recorded and
 * sends exactly what it says, against a real Redis and SMTP server.
 */
describe('POST /admin/editions/:id/resend', () => {
  let h: Harness;
  const ids = new Map<string, string>();

  const copies = (edition: string, address: string) =>
    h.sink.to(address).filter((message) => message.raw.includes(`X-Edition: ${edition}`)).length;
  const copiesOf = (edition: string) =>
    Object.fromEntries(
      [...READERS, 'erin@example.test', 'pat@example.test'].map((address) => [address, copies(edition, address)]),
    );
  const resend = (edition: string, payload: unknown) =>
    h.server.inject({
      method: 'POST',
      url: `/admin/editions/${edition}/resend`,
      headers: { ...h.admin, 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
  const finished = (edition: string, what: string) =>
    waitFor(async () => {
      const progress = await h.app.deliveries.progress(edition);
      return progress?.finished ? progress : null;
    }, what);
  const runScheduler = async (at: string, id: string) => {
    const edition = await h.app.desk.runDue(new Date(at));
    expect(edition?.id).toBe(id);
    // Handed to delivery; a small edition can be delivered before runDue reads it back (then it is already sent).
    expect(['sending', 'sent']).toContain(edition?.status);
    return finished(id, `edition ${id} delivered`);
  };

  beforeAll(async () => {
    h = await startHarness();
    for (const email of READERS) {
      const { id } = await h.app.subscribers.create(email.toLowerCase(), { email });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
      ids.set(email, id);
    }
    const erin = await h.app.subscribers.create('erin@example.test', { email: 'erin@example.test' });
    await h.app.subscribers.transition({ id: erin.id, from: ['pending'], to: 'unsubscribed', reason: 'test' });
    await h.app.subscribers.create('pat@example.test', { email: 'pat@example.test' }); // pending
    await h.app.intake.ingest(
      { url: 'https://news.example.org/resend-1', title: 'First story', publishedAt: '2020-02-25T12:00:00Z' },
      'admin',
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it('first send: one message refused at DATA with 554 fails without bouncing the reader', async () => {
    h.sink.policy.data = (message) =>
      message.to.includes(CAROL) && message.raw.includes('X-Edition:')
        ? { code: 554, message: '5.7.1 Message rejected as spam' }
        : null;
    const progress = await runScheduler('2020-02-25T18:30:05Z', FIRST);
    expect(copiesOf(FIRST)).toEqual({
      'alice@example.test': 1,
      'bob@example.test': 1,
      [CAROL]: 0,
      'erin@example.test': 0,
      'pat@example.test': 0,
    });
    expect(progress.counts).toMatchObject({ queued: 0, sending: 0, sent: 2, deferred: 0, failed: 1 });
    expect(progress.failures).toEqual([expect.objectContaining({ subscriberId: ids.get(CAROL), code: 554 })]);
    expect((await h.app.ledger.entry(FIRST, ids.get(CAROL)!))?.state).toBe('failed');
    expect((await h.app.subscribers.get(ids.get(CAROL)!))?.state).toBe('confirmed');
    expect(progress.resends).toEqual([]);
  });

  it('{failed: true} sends once more to the failed reader only', async () => {
    h.sink.policy = {};
    const response = await resend(FIRST, { failed: true });
    expect(response.statusCode).toBe(202);
    const record = response.json() as ResendRecord;
    expect(record).toMatchObject({ scope: 'failed', by: 'admin-api', recipients: 1 });

    const progress = await finished(FIRST, 'failed resend delivered');
    expect(copiesOf(FIRST)).toEqual({
      'alice@example.test': 1,
      'bob@example.test': 1,
      [CAROL]: 1,
      'erin@example.test': 0,
      'pat@example.test': 0,
    });
    expect(progress.counts).toMatchObject({ queued: 0, sending: 0, sent: 3, failed: 0, deferred: 0 });
    expect(progress.failures).toEqual([]);
    expect(progress.resends).toEqual([record]);

    // Nothing failed any more: a second failed-resend has nobody to send to.
    const again = await resend(FIRST, { failed: true });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ scope: 'failed', recipients: 0 });
    await finished(FIRST, 'empty failed resend');
    expect(copies(FIRST, CAROL)).toBe(1);
  });

  it('{email} sends a second copy to that reader only', async () => {
    const response = await resend(FIRST, { email: 'bob@example.test' });
    expect(response.statusCode).toBe(202);
    const record = response.json() as ResendRecord;
    expect(record).toMatchObject({ scope: 'email', email: 'bob@example.test', by: 'admin-api', recipients: 1 });

    const progress = await finished(FIRST, 'single resend delivered');
    await waitFor(async () => copies(FIRST, 'bob@example.test') >= 2, 'second copy to bob');
    expect(copiesOf(FIRST)).toEqual({
      'alice@example.test': 1,
      'bob@example.test': 2,
      [CAROL]: 1,
      'erin@example.test': 0,
      'pat@example.test': 0,
    });
    expect(progress.counts).toMatchObject({ queued: 0, sending: 0, sent: 3, failed: 0 });
    expect(progress.resends).toHaveLength(3);
    expect(progress.resends.at(-1)).toEqual(record);
    expect(new Set(progress.resends.map((entry) => entry.run)).size).toBe(3);
  });

  it('{all: true} sends every confirmed reader a second copy, and nobody else', async () => {
    await h.app.intake.ingest(
      { url: 'https://news.example.org/resend-2', title: 'Second story', publishedAt: '2020-02-26T10:00:00Z' },
      'admin',
    );
    await runScheduler('2020-02-26T18:30:05Z', SECOND);
    expect(copiesOf(SECOND)).toEqual({
      'alice@example.test': 1,
      'bob@example.test': 1,
      [CAROL]: 1,
      'erin@example.test': 0,
      'pat@example.test': 0,
    });

    const response = await resend(SECOND, { all: true });
    expect(response.statusCode).toBe(202);
    const record = response.json() as ResendRecord;
    expect(record).toMatchObject({ scope: 'all', by: 'admin-api', recipients: 3 });

    const progress = await finished(SECOND, 'resend to all delivered');
    await waitFor(async () => READERS.every((address) => copies(SECOND, address) >= 2), 'second copies');
    expect(copiesOf(SECOND)).toEqual({
      'alice@example.test': 2,
      'bob@example.test': 2,
      [CAROL]: 2,
      'erin@example.test': 0,
      'pat@example.test': 0,
    });
    expect(progress.counts).toMatchObject({ queued: 0, sending: 0, sent: 3, failed: 0 });
    expect(progress.resends).toEqual([record]);
    // The first edition is untouched.
    expect(copiesOf(FIRST)).toEqual({
      'alice@example.test': 1,
      'bob@example.test': 2,
      [CAROL]: 1,
      'erin@example.test': 0,
      'pat@example.test': 0,
    });
  });

  it('refuses unknown editions, unknown or unconfirmed readers and bad bodies, sending nothing', async () => {
    const mailBefore = h.sink.messages.length;
    const resendsBefore = (await h.app.deliveries.progress(FIRST))?.resends.length;
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['an unknown edition', '1999-01-01', { all: true }, 404, /no edition 1999-01-01/],
      ['an unknown edition, resending failed', 'no-such-edition', { failed: true }, 404, /no edition/],
      ['an unknown email', FIRST, { email: 'nobody@example.test' }, 404, /no subscriber nobody@example\.test/],
      ['an unsubscribed email', FIRST, { email: 'erin@example.test' }, 409, /erin@example\.test is unsubscribed/],
      ['a pending email', FIRST, { email: 'pat@example.test' }, 409, /pat@example\.test is pending/],
      ['a malformed email', FIRST, { email: 'not-an-email' }, 400, /^email: /],
      ['an empty body', FIRST, {}, 400, /say one of/],
      ['failed: false', FIRST, { failed: false }, 400, /say one of/],
      ['all: "yes"', FIRST, { all: 'yes' }, 400, /say one of/],
      ['two scopes at once', FIRST, { all: true, failed: true }, 400, /say one of/],
      ['an extra field', FIRST, { email: 'bob@example.test', force: true }, 400, /say one of/],
      ['a number as email', FIRST, { email: 42 }, 400, /say one of/],
      ['an array', FIRST, [{ all: true }], 400, /say one of/],
      ['null', FIRST, null, 400, /say one of/],
    ];
    for (const [what, edition, payload, status, error] of cases) {
      const response = await resend(edition, payload);
      expect(response.statusCode, what).toBe(status);
      expect(response.json().error, what).toMatch(error);
    }
    const invalidJson = await h.server.inject({
      method: 'POST',
      url: `/admin/editions/${FIRST}/resend`,
      headers: { ...h.admin, 'content-type': 'application/json' },
      payload: '{"all": tru',
    });
    expect(invalidJson.statusCode).toBe(400);

    expect((await h.app.deliveries.progress(FIRST))?.resends).toHaveLength(resendsBefore!);
    expect(await h.app.deliveries.progress('1999-01-01')).toBeNull();
    const progress = await h.app.deliveries.progress(FIRST);
    expect(progress?.finished).toBe(true);
    expect(progress?.counts).toMatchObject({ queued: 0, sending: 0 });
    expect(h.sink.messages.length).toBe(mailBefore);
  });

  it('refuses to resend an edition that had nothing to send (409)', async () => {
    // No articles after the second cut-off: this edition is held and was never sent.
    const empty = await h.app.desk.runDue(new Date('2020-02-27T18:30:05Z'));
    expect(empty?.status).toBe('held');
    const response = await resend(empty!.id, { all: true });
    expect(response.statusCode).toBe(409);
    expect(response.json().error).toMatch(/has not been sent/);
    expect((await h.app.deliveries.progress(empty!.id))?.resends).toEqual([]);
  });
});
