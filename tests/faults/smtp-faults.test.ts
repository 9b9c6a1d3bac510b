import { afterEach, describe, expect, it } from 'vitest';
import { FaultRig, type Reader, sleep, waitUntil } from './fault-rig.ts';

/**
 * Issue #3, fault 4: the SMTP server misbehaves (temporary replies, dropped connections, permanent
 * refusals, stalls, refusing everything). The worker is a separate process; the sink counts every
 * attempt and every accepted copy.
 */
describe('SMTP faults', () => {
  afterEach(() => FaultRig.closeAll());

  const every = (readers: Reader[], step: number, from = 0) =>
    new Set(readers.filter((_, index) => index % step === from).map((reader) => reader.email));

  it('421 and 451 replies are retried with backoff, then delivered once', async () => {
    const rig = await FaultRig.start();
    const { sink } = rig;
    const readers = await rig.addReaders(60);
    const busyAtRcpt = every(readers, 5, 0); // 421 to the first RCPT
    const greylisted = every(readers, 5, 1); // 451 to the first two DATA
    sink.policy = {
      rcpt: (address, attempt) =>
        busyAtRcpt.has(address) && attempt === 1 ? { code: 421, message: 'Too busy, try later' } : null,
      data: (message, attempt) =>
        greylisted.has(message.to[0] ?? '') && attempt <= 2 ? { code: 451, message: 'Greylisted, try later' } : null,
    };
    const edition = await rig.cutEdition();
    await rig.startWorker();
    await rig.waitUntilDelivered(edition);

    await rig.expectDeliveredOnce(edition);
    for (const address of busyAtRcpt) expect(sink.attemptsOf(address, 'rcpt'), address).toBe(2);
    for (const address of greylisted) {
      expect(sink.attemptsOf(address, 'data'), address).toBe(3);
      const [first, , third] = sink.attempts.filter(
        (attempt) => attempt.address === address && attempt.phase === 'data',
      );
      // Backoff: 200 ms, then 400 ms (exponential from DELIVERY_BACKOFF_MS).
      expect((third?.at ?? 0) - (first?.at ?? 0), `${address} retried with backoff`).toBeGreaterThanOrEqual(600);
    }
    expect((await rig.app.deliveries.progress(edition))?.failures).toEqual([]);
  }, 90_000);

  it('connections dropped in the middle of DATA are retried, and each message is delivered once', async () => {
    const rig = await FaultRig.start();
    const { sink } = rig;
    const readers = await rig.addReaders(60);
    const dropped = every(readers, 3, 2);
    sink.policy = { data: (message, attempt) => (dropped.has(message.to[0] ?? '') && attempt <= 2 ? 'drop' : null) };
    const edition = await rig.cutEdition();
    await rig.startWorker();
    await rig.waitUntilDelivered(edition);

    await rig.expectDeliveredOnce(edition);
    for (const address of dropped) expect(sink.attemptsOf(address, 'data'), address).toBe(3);
  }, 90_000);

  it('550 and 553 at RCPT fail the delivery once, suppress the address, and a failed-only resend leaves it alone', async () => {
    const rig = await FaultRig.start();
    const { sink, app } = rig;
    const readers = await rig.addReaders(60);
    const refused = new Map(
      readers.filter((_, index) => index % 7 === 3).map((reader, index) => [reader.email, index % 2 === 0 ? 550 : 553]),
    );
    sink.policy = {
      rcpt: (address) =>
        refused.has(address) ? { code: refused.get(address) ?? 550, message: 'No such user here' } : null,
    };
    const edition = await rig.cutEdition();
    await rig.startWorker();
    await rig.waitUntilDelivered(edition);

    const bounced = readers.filter((reader) => refused.has(reader.email));
    const delivered = readers.filter((reader) => !refused.has(reader.email));
    await rig.expectDeliveredOnce(edition, { readers: delivered, counts: { failed: bounced.length } });
    const failures = new Map(
      (await app.deliveries.progress(edition))?.failures.map((failure) => [failure.subscriberId, failure]),
    );
    for (const reader of bounced) {
      expect(rig.copiesOf(reader, edition), reader.email).toBe(0);
      expect(sink.attemptsOf(reader.email, 'rcpt'), `${reader.email}: one RCPT, never retried`).toBe(1);
      expect((await rig.entry(edition, reader))?.state).toBe('failed');
      expect((await app.subscribers.get(reader.id))?.state).toBe('bounced');
      expect(failures.get(reader.id)).toMatchObject({ code: refused.get(reader.email), attempt: 1 });
    }

    // Suppressed addresses stay out even when an admin resends to the failed ones.
    const resend = await app.deliveries.resend(edition, { failed: true }, 'test');
    expect(resend.ok).toBe(true);
    await waitUntil(async () => (await rig.runMeta(edition, 'r1'))?.done === '1', 'the resend fanned out');
    await rig.waitUntilDelivered(edition);
    await sleep(500);
    for (const reader of bounced) expect(sink.attemptsOf(reader.email, 'rcpt'), reader.email).toBe(1);
    await rig.expectDeliveredOnce(edition, { readers: delivered, counts: { failed: bounced.length } });
  }, 90_000);

  it('a server that stalls in DATA: sends time out (SMTP_TIMEOUT_MS), are deferred, and are sent once when it answers again', async () => {
    const rig = await FaultRig.start();
    const { sink, app } = rig;
    const readers = await rig.addReaders(40);
    let stalling = true;
    sink.policy = { data: () => (stalling ? 'stall' : null) };
    const edition = await rig.cutEdition();
    await rig.startWorker();

    const firstStall = await waitUntil(() => sink.attempts.find((attempt) => attempt.phase === 'data'), 'a first DATA');
    await waitUntil(
      async () => ((await app.deliveries.progress(edition))?.counts.deferred ?? 0) > 0,
      'deferred deliveries',
      10_000,
      20,
    );
    // SMTP_TIMEOUT_MS is 1500: the stalled send ended well before the job could hang.
    expect(Date.now() - firstStall.at).toBeLessThan(8_000);
    const deferred = [...(await rig.ledgerStates(edition))]
      .filter(([, state]) => state === 'deferred')
      .map(([id]) => id);
    expect(deferred.length).toBeGreaterThan(0);
    expect(sink.editionCount).toBe(0);

    stalling = false;
    sink.releaseStalled();
    await rig.waitUntilDelivered(edition);
    await rig.expectDeliveredOnce(edition);
    for (const id of deferred) {
      const reader = readers.find((candidate) => candidate.id === id) as Reader;
      expect(sink.attemptsOf(reader.email, 'data'), reader.email).toBeGreaterThanOrEqual(2);
    }
  }, 90_000);

  it('a server that refuses everything (421): the queue pauses instead of burning retries; nobody fails; one copy each afterwards', async () => {
    // Two attempts per batch, four batches: without the pause every recipient would be failed within 5 s.
    const rig = await FaultRig.start({ env: { DELIVERY_ATTEMPTS: '2' } });
    const { sink, app } = rig;
    await rig.addReaders(40);
    let refusing = true;
    sink.policy = { rcpt: () => (refusing ? { code: 421, message: 'Service not available, closing channel' } : null) };
    const edition = await rig.cutEdition();
    const worker = await rig.startWorker();

    const first = await waitUntil(() => sink.attempts[0], 'a first attempt');
    let failedSeen = 0;
    while (Date.now() - first.at < 5_000) {
      failedSeen = Math.max(failedSeen, (await app.deliveries.progress(edition))?.counts.failed ?? 0);
      await sleep(100);
    }
    expect(failedSeen, 'nobody failed while the server refused').toBe(0);
    // Two batches of 10 at a time, then a 1 s pause (DELIVERY_PAUSE_MS): a few rounds in 3 s.
    const inFirst3s = sink.attempts.filter((attempt) => attempt.at - first.at < 3_000).length;
    expect(inFirst3s, 'RCPT attempts in the first 3 s').toBeLessThanOrEqual((3_000 / 1_000 + 1) * 2 * 10);
    expect(sink.editionCount).toBe(0);
    expect(worker.logsMatching('SMTP server refuses all mail; pausing delivery').length).toBeGreaterThan(1);

    refusing = false;
    await rig.waitUntilDelivered(edition);
    await rig.expectDeliveredOnce(edition);
  }, 90_000);
});
