import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from '../support/harness.ts';

/** MAIL_RATE_PER_SECOND: relays throttle senders, so edition mail is paced across every worker. */
describe('global send rate', () => {
  let h: Harness;
  const RATE = 10;
  const READERS = 40;

  beforeAll(async () => {
    h = await startHarness({
      env: { MAIL_RATE_PER_SECOND: String(RATE), WORKER_CONCURRENCY: '4', DELIVERY_BATCH_SIZE: '10' },
    });
    for (let index = 0; index < READERS; index += 1) {
      const email = `reader${index}@example.test`;
      const { id } = await h.app.subscribers.create(email, { email });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    }
    await h.app.intake.ingest(
      { url: 'https://news.example.org/paced', title: 'Paced', publishedAt: '2020-02-25T12:00:00Z' },
      'admin',
    );
  });
  afterAll(async () => h?.close());

  it('never sends more than the limit in one second, so the edition takes at least as long as the limit says', async () => {
    const edition = await h.app.desk.runDue(new Date('2020-02-25T18:30:05Z'));
    await waitFor(async () => (await h.app.deliveries.progress(edition!.id))?.finished, 'the paced edition', 20_000);
    const arrivals = h.sink.messages
      .filter((message) => message.raw.includes('X-Edition:'))
      .map((message) => message.at);
    expect(arrivals).toHaveLength(READERS);
    const perSecond = new Map<number, number>();
    for (const at of arrivals) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    // Counted when a send starts; sends started late in one second (the first ones wait for their
    // connection) may land in the next, so one second at the server can see up to two seconds' worth.
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2 * RATE);
    expect(perSecond.size).toBeGreaterThanOrEqual(3);
    // 40 sends at 10 a second start in at least four wall-clock seconds, so the first and last starts
    // are more than two seconds apart. Arrival is measured at the end of DATA, and the first messages
    // also wait for their connection, so allow half a second of that skew (unpaced, all 40 arrive
    // within a few hundred milliseconds).
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThan(1500);
  });
});
