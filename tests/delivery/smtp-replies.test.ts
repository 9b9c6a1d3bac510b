import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../src/delivery/deliveries.ts';
import { type Harness, startHarness, waitFor } from '../support/harness.ts';

const FIRST = '2020-02-25';
const SECOND = '2020-02-26';
const ALICE = 'alice@example.test'; // always accepted
const GRACE = 'grace@example.test'; // 451 twice, then accepted
const BRUNO = 'bruno@example.test'; // 550: no such user
const TOM = 'tom@example.test'; // 451 on every attempt
const ATTEMPTS = 4; // DELIVERY_ATTEMPTS in the harness

/**
 * How the SMTP server's answers to RCPT TO decide a delivery: 4xx is retried with backoff until
 * the attempts run out, 5xx is final and suppresses the address.
 */
describe('SMTP replies', () => {
  let h: Harness;
  const ids = new Map<string, string>();
  const rcptAttempts = new Map<string, number>();
  let progress: Progress;

  const digests = (edition: string, address: string) =>
    h.sink.to(address).filter((message) => message.raw.includes(`X-Edition: ${edition}`)).length;
  const runScheduler = async (at: string, id: string) => {
    const edition = await h.app.desk.runDue(new Date(at));
    expect(edition?.id).toBe(id);
    return waitFor(async () => {
      const current = await h.app.deliveries.progress(id);
      return current?.finished ? current : null;
    }, `edition ${id} delivered`);
  };

  beforeAll(async () => {
    h = await startHarness({ env: { DELIVERY_ATTEMPTS: String(ATTEMPTS) } });
    for (const email of [ALICE, GRACE, BRUNO, TOM]) {
      const { id } = await h.app.subscribers.create(email.toLowerCase(), { email });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
      ids.set(email, id);
    }
    h.sink.policy.rcpt = (address) => {
      const attempt = (rcptAttempts.get(address) ?? 0) + 1;
      rcptAttempts.set(address, attempt);
      if (address === GRACE && attempt <= 2) return { code: 451, message: '4.3.0 Temporary local problem, try later' };
      if (address === TOM) return { code: 451, message: '4.7.1 Greylisted, try again later' };
      if (address === BRUNO) return { code: 550, message: '5.1.1 No such user here' };
      return null;
    };
    await h.app.intake.ingest(
      { url: 'https://news.example.org/smtp-1', title: 'First story', publishedAt: '2020-02-25T12:00:00Z' },
      'admin',
    );
    progress = await runScheduler('2020-02-25T18:30:05Z', FIRST);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('settles every delivery of the edition: nothing left queued, sending or deferred', () => {
    expect(progress.counts).toMatchObject({ queued: 0, sending: 0, deferred: 0, sent: 2, failed: 2, skipped: 0 });
    expect(digests(FIRST, ALICE)).toBe(1);
    expect(rcptAttempts.get(ALICE)).toBe(1);
  });

  it('retries a 451 and delivers exactly once when the server accepts', async () => {
    expect(rcptAttempts.get(GRACE)).toBe(3);
    expect(digests(FIRST, GRACE)).toBe(1);
    expect((await h.app.ledger.entry(FIRST, ids.get(GRACE)!))?.state).toBe('sent');
    expect(progress.failures.map((failure) => failure.subscriberId)).not.toContain(ids.get(GRACE));
    expect((await h.app.subscribers.get(ids.get(GRACE)!))?.state).toBe('confirmed');
  });

  it('never retries a 550 to RCPT TO: failed, recorded with its code, and the address bounced', async () => {
    expect(rcptAttempts.get(BRUNO)).toBe(1);
    expect(digests(FIRST, BRUNO)).toBe(0);
    expect((await h.app.ledger.entry(FIRST, ids.get(BRUNO)!))?.state).toBe('failed');
    const failure = progress.failures.find((entry) => entry.subscriberId === ids.get(BRUNO));
    expect(failure).toMatchObject({ code: 550, attempt: 1 });
    expect(failure?.reply).toContain('No such user');
    const bruno = await h.app.subscribers.get(ids.get(BRUNO)!);
    expect(bruno?.state).toBe('bounced');
    expect(bruno?.suppressionReason).toContain('550');
    expect((await h.app.subscribers.countsByState()).bounced).toBe(1);
  });

  it(`gives up on a 451 that never ends after ${ATTEMPTS} attempts, without bouncing the address`, async () => {
    expect(rcptAttempts.get(TOM)).toBe(ATTEMPTS);
    expect(digests(FIRST, TOM)).toBe(0);
    expect((await h.app.ledger.entry(FIRST, ids.get(TOM)!))?.state).toBe('failed');
    const failure = progress.failures.find((entry) => entry.subscriberId === ids.get(TOM));
    expect(failure).toMatchObject({ code: 451, attempt: ATTEMPTS });
    expect((await h.app.subscribers.get(ids.get(TOM)!))?.state).toBe('confirmed');
    expect(progress.failures.map((entry) => entry.subscriberId).sort()).toEqual([ids.get(BRUNO), ids.get(TOM)].sort());
  });

  it('leaves the bounced address out of the next edition, but not the one that only had temporary trouble', async () => {
    const bouncedAttempts = rcptAttempts.get(BRUNO);
    const tomAttempts = rcptAttempts.get(TOM) ?? 0;
    // Tom's server recovers; Bruno's would still refuse, if anyone asked it.
    h.sink.policy.rcpt = (address) => {
      rcptAttempts.set(address, (rcptAttempts.get(address) ?? 0) + 1);
      return address === BRUNO ? { code: 550, message: '5.1.1 No such user here' } : null;
    };
    await h.app.intake.ingest(
      { url: 'https://news.example.org/smtp-2', title: 'Second story', publishedAt: '2020-02-26T10:00:00Z' },
      'admin',
    );
    const next = await runScheduler('2020-02-26T18:30:05Z', SECOND);

    expect(next.counts).toMatchObject({ queued: 0, sending: 0, deferred: 0, sent: 3, failed: 0 });
    expect(next.failures).toEqual([]);
    for (const address of [ALICE, GRACE, TOM]) expect(digests(SECOND, address), address).toBe(1);
    expect(rcptAttempts.get(TOM)).toBe(tomAttempts + 1);
    expect(digests(SECOND, BRUNO)).toBe(0);
    expect(rcptAttempts.get(BRUNO)).toBe(bouncedAttempts); // not even tried
    expect(await h.app.ledger.entry(SECOND, ids.get(BRUNO)!)).toBeNull();
  });
});
