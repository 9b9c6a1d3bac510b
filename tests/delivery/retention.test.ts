import { browserView } from '../../src/editions/render.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { housekeeping } from '../../src/editions/scheduler.ts';
import { type Harness, startHarness, waitFor } from '../support/harness.ts';

const OLD = '2020-02-20';
const STUCK = '2020-02-22';
const RECENT = '2020-02-25';
const READERS = ['alice@example.test', 'bob@example.test', 'carol@example.test'];

/**
 * LEDGER_RETENTION_DAYS: per-recipient delivery records of old, finished editions leave Redis (at a
 * million subscribers each edition's ledger is ~65 MB); counts and resend history stay.
 */
describe('delivery records past retention', () => {
  let h: Harness;
  const ids: string[] = [];

  const keysOf = async (edition: string) => {
    const found: string[] = [];
    for (const pattern of [`${h.app.keys.ledgerBucketPrefix(edition)}*`, `${h.app.keys.editionPrefix(edition)}*`]) {
      let cursor = '0';
      do {
        const [next, batch] = await h.app.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        found.push(...batch.map((key) => key.slice(h.app.keys.prefix.length + 1)));
        cursor = next;
      } while (cursor !== '0');
    }
    return found.sort();
  };
  const send = async (edition: string) => {
    await h.app.intake.ingest(
      { url: `https://news.example.org/${edition}`, title: `News of ${edition}`, publishedAt: `${edition}T12:00:00Z` },
      'admin',
    );
    expect((await h.app.desk.runDue(new Date(`${edition}T18:30:05Z`)))?.id).toBe(edition);
  };
  const finished = (edition: string) =>
    waitFor(async () => (await h.app.deliveries.progress(edition))?.finished, `${edition} delivered`);

  beforeAll(async () => {
    h = await startHarness();
    for (const email of READERS) {
      const { id } = await h.app.subscribers.create(email, { email });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
      ids.push(id);
    }
    await send(OLD);
    await finished(OLD);
    expect(await h.app.deliveries.resend(OLD, { email: READERS[0]! }, 'test')).toMatchObject({ ok: true });
    await waitFor(
      async () => h.sink.to(READERS[0]!).filter((message) => message.raw.includes(`X-Edition: ${OLD}`)).length === 2,
      'the resend',
    );
    await finished(OLD);
    // STUCK is still being delivered when the clean-up runs: its queue is paused.
    await h.app.deliveryQueue.pause();
    await send(STUCK);
  });
  afterAll(async () => h?.close());

  it('removes the entries, batches and failure details of finished editions cut before the limit, and keeps their counts', async () => {
    const before = await h.app.deliveries.progress(OLD);
    expect(before?.counts).toMatchObject({ sent: 3, queued: 0, failed: 0 });
    expect(await keysOf(OLD)).toEqual(
      expect.arrayContaining([
        'ledger:2020-02-20:0',
        'edition:2020-02-20:run:main:batches',
        'edition:2020-02-20:run:r1:batches',
      ]),
    );

    expect(
      await h.app.deliveries.removeRecordsBefore(new Date('2020-02-24T00:00:00Z'), new Date('2020-03-24T00:00:00Z')),
    ).toEqual([OLD]);

    expect(await keysOf(OLD)).toEqual([
      'edition:2020-02-20:counts',
      'edition:2020-02-20:run:main',
      'edition:2020-02-20:run:r1',
    ]);
    const after = await h.app.deliveries.progress(OLD);
    // The resend records are in PostgreSQL, with the edition.
    expect(before?.resends).toMatchObject([{ run: 'r1', scope: 'email', recipients: 1 }]);
    expect(after).toMatchObject({
      counts: before?.counts,
      finished: true,
      resends: before?.resends,
      recordsRemovedAt: '2020-03-24T00:00:00.000Z',
    });
    expect(await h.app.ledger.entry(OLD, ids[0]!)).toBeNull();
    expect(browserView((await h.app.editions.get(OLD))!.html)).toContain('News of 2020-02-20');
  });

  it('leaves an edition that is still being delivered alone, and clears it once it has finished', async () => {
    expect((await h.app.deliveries.progress(STUCK))?.counts.queued).toBe(READERS.length);
    expect(await h.app.deliveries.removeRecordsBefore(new Date('2020-02-24T00:00:00Z'))).toEqual([]);
    expect(await keysOf(STUCK)).toContain('edition:2020-02-22:run:main:batches');

    await h.app.deliveryQueue.resume();
    await finished(STUCK);
    expect(await h.app.deliveries.removeRecordsBefore(new Date('2020-02-24T00:00:00Z'))).toEqual([STUCK]);
    expect((await keysOf(STUCK)).filter((key) => key.startsWith('ledger:') || key.endsWith(':batches'))).toEqual([]);
    // Idempotent: a second clean-up (another scheduler, the next hour) finds nothing to do.
    expect(await h.app.deliveries.removeRecordsBefore(new Date('2020-02-24T00:00:00Z'))).toEqual([]);
  });

  it('keeps editions cut after the limit', async () => {
    await send(RECENT);
    await finished(RECENT);
    expect(await h.app.deliveries.removeRecordsBefore(new Date('2020-02-24T00:00:00Z'))).toEqual([]);
    expect((await h.app.ledger.entry(RECENT, ids[0]!))?.state).toBe('sent');
  });

  it('refuses to resend a cleared edition with 409 and says why, in the API and the console', async () => {
    const response = await h.server.inject({
      method: 'POST',
      url: `/admin/editions/${OLD}/resend`,
      headers: { ...h.admin, 'content-type': 'application/json' },
      payload: JSON.stringify({ email: READERS[1] }),
    });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ error: expect.stringContaining('LEDGER_RETENTION_DAYS') });
    expect(h.sink.to(READERS[1]!).filter((message) => message.raw.includes(`X-Edition: ${OLD}`))).toHaveLength(1);

    const status = await h.server.inject({ method: 'GET', url: `/admin/editions/${OLD}`, headers: h.admin });
    expect(status.json()).toMatchObject({ counts: { sent: 3 }, recordsRemovedAt: '2020-03-24T00:00:00.000Z' });
  });

  it("is what the scheduler's hourly housekeeping does, LEDGER_RETENTION_DAYS (30) after the cut-off", async () => {
    await housekeeping(h.app, new Date('2020-03-26T18:29:00Z'));
    expect((await h.app.editions.get(RECENT))?.recordsRemovedAt).toBeNull();
    await housekeeping(h.app, new Date('2020-03-26T18:31:00Z'));
    expect((await h.app.editions.get(RECENT))?.recordsRemovedAt).toEqual(new Date('2020-03-26T18:31:00Z'));
    expect(await h.app.ledger.entry(RECENT, ids[0]!)).toBeNull();
  });
});
