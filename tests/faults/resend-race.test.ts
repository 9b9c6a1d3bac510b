import { afterEach, describe, expect, it } from 'vitest';
import { FaultRig, type Reader, waitUntil } from './fault-rig.ts';

/**
 * Issue #3, fault 7: an admin resends the failed deliveries while the edition is still being sent
 * by a worker process. Nobody whose attempt is still in flight may get a second copy, and each
 * formerly failed recipient gets exactly one.
 */
describe('a failed-only resend while the edition is still sending', () => {
  afterEach(() => FaultRig.closeAll());

  it('sends each failed recipient once and doubles nobody in flight', async () => {
    // Long SMTP timeout: the sink holds one message on purpose while the main run retries its batch.
    const rig = await FaultRig.start({ env: { SMTP_TIMEOUT_MS: '15000', DELIVERY_LOCK_MS: '30000' } });
    const { sink, app } = rig;
    const readers = await rig.addReaders(200);
    // 554 to DATA (message refused: failed, address kept) for five readers in the first batches.
    const failed = [2, 7, 13, 18, 31].map((index) => readers[index] as Reader);
    const failing = new Set(failed.map((reader) => reader.email));
    // In the race: `held`'s resent message stays in flight until the main run's job has retried
    // their shared batch (it retries because `greylisted` is refused with 451 until then).
    const held = failed[0] as Reader;
    const greylisted = readers[4] as Reader;
    let refusing = true;
    let release: (() => void) | null = null;
    let heldInFlight = false;
    let retriedDuringHold = false;
    sink.delayMs = 40;
    sink.policy = {
      data: async (message) => {
        const to = message.to[0] ?? '';
        if (refusing && failing.has(to)) return { code: 554, message: 'Message refused' };
        if (to === greylisted.email) {
          if (!heldInFlight) return { code: 451, message: 'Greylisted, try later' };
          // The main run's retry claimed this batch while `held` was in flight: let both through.
          retriedDuringHold = true;
          release?.();
          return null;
        }
        if (to === held.email && !heldInFlight) {
          heldInFlight = true;
          await new Promise<void>((resolve) => (release = resolve));
        }
        return null;
      },
    };
    const edition = await rig.cutEdition();
    await rig.startWorker();

    await waitUntil(
      async () => [...(await rig.ledgerStates(edition, failed)).values()].every((state) => state === 'failed'),
      'the five failures',
      20_000,
      20,
    );
    refusing = false;
    expect((await app.deliveries.progress(edition))?.counts.failed).toBe(failed.length);
    expect(sink.editionCount, 'the main run is still sending').toBeLessThan(readers.length - 40);

    const resend = await app.deliveries.resend(edition, { failed: true }, 'test');
    expect(resend).toMatchObject({ ok: true, resend: { run: 'r1', scope: 'failed', recipients: failed.length } });
    await waitUntil(
      () => retriedDuringHold,
      'the main run retrying a batch while its resent recipient is in flight',
      30_000,
    );
    await rig.waitUntilDelivered(edition);

    await rig.expectDeliveredOnce(edition);
    for (const reader of failed) {
      expect(sink.attemptsOf(reader.email, 'data'), `${reader.email}: the refused attempt and the resent one`).toBe(2);
      expect((await rig.entry(edition, reader))?.run).toBe('r1');
    }
    expect((await app.deliveries.progress(edition))?.failures).toEqual([]);
  }, 90_000);
});
