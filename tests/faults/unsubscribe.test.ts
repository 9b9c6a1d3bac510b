import { afterEach, describe, expect, it } from 'vitest';
import { FaultRig, type Reader } from './fault-rig.ts';

/**
 * A subscriber state change after the fan-out (unsubscribe, complaint) is honoured by whichever
 * worker process takes the subscriber's batch: the ledger says `skipped` and nothing is sent.
 */
describe('a subscriber who leaves after the fan-out', () => {
  afterEach(() => FaultRig.closeAll());

  const unsubscribe = (rig: FaultRig, reader: Reader) =>
    rig.app.subscribers.transition({
      id: reader.id,
      from: ['confirmed'],
      to: 'unsubscribed',
      reason: 'unsubscribed (test)',
    });

  it('is skipped when the batch is sent later', async () => {
    const rig = await FaultRig.start();
    const readers = await rig.addReaders(60);
    const edition = await rig.cutEdition();
    expect((await rig.runMeta(edition)).recipients).toBe('60');

    const leaving = [readers[0], readers[17], readers[59]] as Reader[];
    for (const reader of leaving) expect((await unsubscribe(rig, reader)).ok).toBe(true);
    const complained = readers[33] as Reader;
    expect(await rig.app.subscriptions.suppress(complained.id, 'complained', 'test complaint', 'test')).toBe(true);
    const gone = [...leaving, complained];

    await rig.startWorker();
    await rig.waitUntilDelivered(edition);
    const staying = readers.filter((reader) => !gone.includes(reader));
    await rig.expectDeliveredOnce(edition, { readers: staying, counts: { skipped: gone.length } });
    for (const reader of gone) {
      expect(rig.copiesOf(reader, edition), reader.email).toBe(0);
      expect(rig.sink.attemptsOf(reader.email, 'rcpt'), reader.email).toBe(0);
      expect(await rig.entry(edition, reader)).toMatchObject({ state: 'skipped', run: 'main', info: 'not subscribed' });
    }
  }, 90_000);

  it('is skipped by any of two workers when it happens while the edition is sending', async () => {
    const rig = await FaultRig.start();
    const { readers, edition } = await rig.pacedEdition(200, 40);
    await Promise.all([rig.startWorker('worker-1'), rig.startWorker('worker-2')]);
    await rig.sentAtLeast(20);

    // The last two batches: not taken by any worker yet.
    const leaving = readers.slice(-20);
    for (const reader of leaving) expect((await unsubscribe(rig, reader)).ok).toBe(true);
    expect(
      [...(await rig.ledgerStates(edition, leaving)).values()].every((state) => state === null),
      'not claimed yet',
    ).toBe(true);

    await rig.waitUntilDelivered(edition);
    await rig.expectDeliveredOnce(edition, { readers: readers.slice(0, -20), counts: { skipped: leaving.length } });
    for (const reader of leaving) {
      expect(rig.copiesOf(reader, edition), reader.email).toBe(0);
      expect((await rig.entry(edition, reader))?.state).toBe('skipped');
    }
  }, 90_000);
});
