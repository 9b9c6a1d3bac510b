import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../support/processes.ts';
import { FaultRig, type Reader, sleep, waitUntil } from './fault-rig.ts';

/**
 * Issue #3, faults 1 and 2: a worker process killed (SIGKILL) or stopped for a deploy (SIGTERM)
 * while it holds batches. A new worker process finishes the edition; the SMTP sink counts copies.
 */
describe('a delivery worker that dies or is stopped mid-edition', () => {
  afterEach(() => FaultRig.closeAll());

  it('SIGKILL: a new worker finishes the edition; only recipients in flight at the kill can get a second copy', async () => {
    const rig = await FaultRig.start();
    const { sink } = rig;
    const { readers, edition } = await rig.pacedEdition(200, 40);

    const first = await rig.startWorker('worker-1');
    await rig.sentAtLeast(40);
    expect((await first.kill()).signal).toBe('SIGKILL');
    // Messages whose DATA had reached the sink are still accepted (as a real server would) after the sender died.
    await waitUntil(() => sink.answering === 0, 'the sink to answer what it received');
    const acceptedBefore = new Map(sink.copies(edition));
    expect(acceptedBefore.size, 'killed mid-edition, not after it').toBeLessThan(readers.length);
    const inDoubt = await rig.inDoubt(edition);
    expect(inDoubt.size, 'the worker was killed while holding recipients').toBeGreaterThan(0);
    // Whoever the ledger records as sent was accepted exactly once; nobody accepted is recorded as anything but sent or in doubt.
    const states = await rig.ledgerStates(edition);
    for (const reader of readers) {
      if (states.get(reader.id) === 'sent') expect(acceptedBefore.get(reader.email), reader.email).toBe(1);
      if (acceptedBefore.has(reader.email)) expect(['sent', 'sending']).toContain(states.get(reader.id));
    }

    await rig.startWorker('worker-2');
    await rig.waitUntilDelivered(edition);

    // In doubt: taken back once its lease ran out and sent once more (a second copy only if the
    // first had in fact been accepted). Everyone else: exactly one copy.
    const expected = (reader: Reader) => (inDoubt.has(reader.id) ? (acceptedBefore.get(reader.email) ?? 0) + 1 : 1);
    await rig.expectDeliveredOnce(edition, { copies: expected });
    const doubled = readers.filter((reader) => (sink.copies(edition).get(reader.email) ?? 0) === 2);
    expect(doubled.every((reader) => inDoubt.has(reader.id))).toBe(true);
  }, 90_000);

  it('SIGKILL between the server’s 250 and the ledger write: that one recipient gets two copies (the known window)', async () => {
    const rig = await FaultRig.start();
    const { sink } = rig;
    const readers = await rig.addReaders(60);
    const edition = await rig.cutEdition();
    const chosen = readers[24] as Reader;
    sink.delayMs = 10;

    const held: { worker?: ServiceProcess } = {};
    let phase: 'sending' | 'holding' | 'killed' = 'sending';
    sink.policy = {
      data: async (message) => {
        if (phase === 'killed') return null;
        if (phase === 'holding') return 'stall'; // no other message is accepted in the window
        if (!message.to.includes(chosen.email)) return null;
        phase = 'holding';
        await sleep(300); // every 250 given so far is settled in the ledger meanwhile
        held.worker?.signal('SIGSTOP'); // the worker cannot act on the next reply
        return null; // 250 for the chosen recipient
      },
      accepted: (message) => {
        if (phase === 'holding' && message.to.includes(chosen.email)) {
          held.worker?.signal('SIGKILL');
          phase = 'killed';
        }
      },
    };
    const first = (held.worker = await rig.startWorker('worker-1'));
    await first.waitForExit(20_000);
    expect(first.exit?.signal).toBe('SIGKILL');
    expect(sink.copies(edition).get(chosen.email)).toBe(1);
    // The sink accepted it, the ledger never heard: the entry is still `sending`.
    expect((await rig.entry(edition, chosen))?.state).toBe('sending');
    sink.releaseStalled();

    await rig.startWorker('worker-2');
    await rig.waitUntilDelivered(edition);
    await rig.expectDeliveredOnce(edition, { copies: (reader) => (reader.id === chosen.id ? 2 : 1) });
  }, 90_000);

  it('SIGTERM: the worker finishes what it holds, exits 0, and a new worker sends the rest once', async () => {
    const rig = await FaultRig.start();
    const { sink } = rig;
    const { readers, edition } = await rig.pacedEdition(200, 40);

    const first = await rig.startWorker('worker-1');
    await rig.sentAtLeast(40);
    const termAt = Date.now();
    first.signal('SIGTERM');
    const exit = await first.waitForExit(20_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - termAt).toBeLessThan(20_000);
    expect(first.logsMatching('shutting down')).toHaveLength(1);
    expect(first.logsMatching('stopped')).toHaveLength(1);
    expect(first.logsMatching(/closing workers by force/)).toHaveLength(0);
    // Drained: nothing left in doubt, and whatever the ledger says was sent was accepted once.
    expect((await rig.app.deliveries.progress(edition))?.counts.sending).toBe(0);
    const sentBefore = sink.editionCount;
    expect(sentBefore).toBeLessThan(readers.length);

    await rig.startWorker('worker-2');
    await rig.waitUntilDelivered(edition);
    await rig.expectDeliveredOnce(edition);
  }, 90_000);

  it('a worker frozen longer than its lease, then resumed, sends nothing another worker took over', async () => {
    const rig = await FaultRig.start();
    const { readers, edition } = await rig.pacedEdition(100, 100);
    const frozen = await rig.startWorker('worker-1');
    await rig.sentAtLeast(5);
    frozen.signal('SIGSTOP');
    const frozeAt = Date.now();
    const inDoubtIds = await rig.inDoubt(edition);
    await rig.startWorker('worker-2');
    const inDoubt = readers.filter((reader) => inDoubtIds.has(reader.id));
    await waitUntil(
      () => inDoubt.every((reader) => rig.copiesOf(reader, edition) >= 1),
      'worker-2 to take over',
      40_000,
    );
    const resumedAt = Date.now();
    frozen.signal('SIGCONT');
    await rig.waitUntilDelivered(edition);
    await sleep(2000);
    expect(readers.filter((reader) => rig.copiesOf(reader, edition) === 0)).toEqual([]);
    // Only a message already on its way when the process froze may arrive twice: the frozen
    // worker's copies came on connections opened before the freeze (worker-2 started after it);
    // those accepted before the resume were sent before the freeze, and after the resume it may
    // only finish the conversation it had begun on each connection. It starts nothing new.
    const copies = rig.sink.accepted.filter((message) => message.edition === edition);
    const fromFrozen = copies.filter((message) => message.connectedAt < frozeAt);
    const finishedAfterResume = fromFrozen
      .filter((message) => message.at >= resumedAt)
      .map((message) => message.connection);
    expect(new Set(finishedAfterResume).size, 'one message per connection at most').toBe(finishedAfterResume.length);
    expect(finishedAfterResume.length).toBeLessThanOrEqual(rig.app.config.SMTP_POOL_SIZE);
    const onItsWay = new Set(fromFrozen.flatMap((message) => message.to));
    const doubled = readers.filter((reader) => rig.copiesOf(reader, edition) > 1);
    expect(doubled.filter((reader) => !onItsWay.has(reader.email)).map((reader) => reader.email)).toEqual([]);
    expect(doubled.length).toBeLessThanOrEqual(2 * rig.app.config.SMTP_POOL_SIZE);
  }, 90_000);
});
