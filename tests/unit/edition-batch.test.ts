import { DelayedError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { Slots, sleep } from '../../src/delivery/concurrency.ts';
import { type EditionBatchDeps, EditionBatchSender } from '../../src/delivery/edition-batch.ts';
import type { Settlement } from '../../src/delivery/ledger.ts';
import type { OutgoingMessage } from '../../src/delivery/messages.ts';
import type { Acquired } from '../../src/delivery/pacing/pacer.ts';
import type { DeliveryJob } from '../../src/delivery/queues.ts';
import type { Transport } from '../../src/delivery/transports.ts';
import { createLogger } from '../../src/platform/logger.ts';

/** What the fakes around EditionBatchSender do; anything not given accepts at once. */
interface Fakes {
  settle?: (settlement: Settlement) => Promise<boolean>;
  /** Recipients by id; one at reader@example.test when not given. */
  emails?: string[];
  acquire?: (transport: string, destination: string) => Promise<Acquired>;
  /** Destinations the process already knows to be paced (none when not given). */
  knownPaced?: (destination: string) => boolean;
  sendMs?: number;
  connections?: number;
  sendsPerBatch?: number;
  /** Recipients of the edition in batches not yet tried (the ledger's `queued`), or that per edition. */
  untried?: number | ((edition: string) => number);
}

/** EditionBatchSender with small fakes around it (no Redis, PostgreSQL or SMTP). */
function batchWith(fakes: Fakes) {
  const recycled: OutgoingMessage[] = [];
  const settled: Settlement[] = [];
  const composed: OutgoingMessage[] = [];
  const sentTo: string[] = [];
  const emails = fakes.emails ?? ['reader@example.test'];
  const ids = emails.map((_, index) => String(index + 1));
  const transport: Transport = {
    name: 'relay',
    weight: 1,
    ratePerSecond: 0,
    poolSize: fakes.connections ?? 1,
    connections: new Slots(fakes.connections ?? 1),
    sender: {
      send: async (envelope) => {
        await sleep(fakes.sendMs ?? 0);
        sentTo.push(envelope.to);
        return { reply: '250 2.0.0 queued' };
      },
      close: async () => undefined,
    },
  };
  // The fakes implement only what the sender calls; the casts say so.
  const deps = {
    settings: {
      leaseSeconds: 30,
      sendTimeoutMs: 5_000,
      sendsPerBatch: fakes.sendsPerBatch ?? 2,
      busyInlineWaitMs: 50,
      idleInlineWaitMs: 300,
    },
    ledger: {
      batchIds: async () => ids,
      claim: async () => ({ claimed: ids, heldSeconds: 0 }),
      counts: async (edition: string) => ({
        queued: typeof fakes.untried === 'function' ? fakes.untried(edition) : (fakes.untried ?? 0),
      }),
      putAside: async () => ({ settled: 0, waiting: new Map() }),
      settle: async (settlement: Settlement) => {
        settled.push(settlement);
        return (fakes.settle ?? (async () => true))(settlement);
      },
    },
    editions: { get: async () => ({ id: 'e1' }) },
    subscribers: {
      forDelivery: async () =>
        new Map(
          emails.map((email, index) => [
            String(index + 1),
            { id: String(index + 1), email, name: 'Reader', format: 'html', state: 'confirmed' },
          ]),
        ),
    },
    feedback: { apply: async () => ({ outcome: 'noted', email: null, edition: null }) },
    messages: {
      edition: (_edition: unknown, recipient: { email: string }) => {
        const message: OutgoingMessage = {
          envelope: { from: 'bounce@example.test', to: recipient.email },
          raw: Buffer.from('message'),
          messageId: '<m@example.test>',
          pooled: true,
        };
        composed.push(message);
        return message;
      },
      recycle: (message: OutgoingMessage) => recycled.push(message),
    },
    transports: {
      inRotation: async () => ({ transports: [transport], waitMs: 0 }),
      reached: async () => undefined,
      notReached: async () => undefined,
    },
    pacing: {
      knownPaced: fakes.knownPaced ?? (() => false),
      acquire: fakes.acquire ?? (async () => ({ ok: true })),
      succeeded: async () => undefined,
      throttled: async () => undefined,
      connectionBroke: async () => undefined,
    },
    rate: { take: () => null },
    logger: createLogger('test', 'silent'),
  } as unknown as EditionBatchDeps;
  const jobOf = (batch: number, edition = 'e1') =>
    ({
      id: `${edition}-main-${batch}`,
      data: { edition, run: 'main', mode: 'normal', batch: String(batch) },
      attemptsMade: 0,
      opts: { attempts: 8 },
      moveToDelayed: async () => undefined,
    }) as unknown as Job<DeliveryJob>;
  return { sender: new EditionBatchSender(deps), job: jobOf(1), jobOf, recycled, settled, composed, sentTo };
}

describe('EditionBatchSender, when the ledger fails after the SMTP server accepted a message', () => {
  it('gives the buffer back once, records no failure, and lets the attempt fail so that the lease decides', async () => {
    const batch = batchWith({
      settle: async () => {
        throw new Error('Reached the max retries per request limit');
      },
    });
    await expect(batch.sender.deliver(batch.job, 'token')).rejects.toThrow(/max retries/);
    // Given back twice, one buffer would be handed to two later messages at once.
    expect(batch.recycled).toEqual(batch.composed);
    expect(batch.composed).toHaveLength(1);
    // Accepted is not failed: no `deferred` or `failed` (the entry stays `sending` until its lease ends).
    expect(batch.settled.map((settlement) => settlement.state)).toEqual(['sent']);
  });

  it('settles an accepted message as sent when the ledger answers', async () => {
    const batch = batchWith({});
    await expect(batch.sender.deliver(batch.job, 'token')).resolves.toMatchObject({
      claimed: 1,
      sent: 1,
      failed: 0,
      deferred: 0,
    });
    expect(batch.recycled).toEqual(batch.composed);
  });
});

describe('EditionBatchSender, a message the SMTP server accepted', () => {
  it('hands its connection to the next message while its outcome is recorded', async () => {
    let sentTo: string[] = [];
    let sentWhenFirstRecorded: string[] = [];
    const batch = batchWith({
      emails: ['first@example.test', 'second@example.test'],
      connections: 1,
      settle: async (settlement) => {
        if (settlement.subscriberId === '1') {
          await sleep(50);
          sentWhenFirstRecorded = [...sentTo];
        }
        return true;
      },
    });
    sentTo = batch.sentTo;
    await expect(batch.sender.deliver(batch.job, 'token')).resolves.toMatchObject({ claimed: 2, sent: 2 });
    expect(sentWhenFirstRecorded).toEqual(['first@example.test', 'second@example.test']);
  });
});

/** A pace for `paced` that lets one message go every `intervalMs` (counting in the fake's own clock), and no pace for others. */
function paceEvery(paced: string, intervalMs: number) {
  let next = 0;
  let asking = 0;
  const stats = { asked: 0, refused: 0, mostAsking: 0, mostAskingAfterRefusal: 0 };
  const acquire = async (_transport: string, destination: string): Promise<Acquired> => {
    if (destination !== paced) return { ok: true };
    asking += 1;
    stats.asked += 1;
    stats.mostAsking = Math.max(stats.mostAsking, asking);
    if (stats.refused > 0) stats.mostAskingAfterRefusal = Math.max(stats.mostAskingAfterRefusal, asking);
    await sleep(2);
    asking -= 1;
    const now = performance.now();
    if (now >= next) {
      next = Math.max(now, next) + intervalMs;
      return { ok: true };
    }
    stats.refused += 1;
    return { ok: false, waitMs: Math.ceil(next - now), rate: 1000 / intervalMs };
  };
  return { acquire, stats };
}

describe('EditionBatchSender, a paced destination in a batch with others', () => {
  const emails = [
    ...Array.from({ length: 20 }, (_, index) => `reader${index}@open.test`),
    ...Array.from({ length: 5 }, (_, index) => `reader${index}@slow.test`),
  ];

  it('waits for its pace while the batch still sends to the others, even while batches not yet tried remain', async () => {
    // 20 open sends of 25 ms on 2 connections: the batch is busy for 250 ms or more, long past busyInlineWaitMs (50 ms).
    const pace = paceEvery('slow.test', 40);
    const batch = batchWith({ emails, acquire: pace.acquire, sendMs: 25, connections: 2, untried: 500 });
    await expect(batch.sender.deliver(batch.job, 'token')).resolves.toMatchObject({
      claimed: 25,
      sent: 25,
      waiting: 0,
    });
    expect(pace.stats.refused).toBeGreaterThan(0);
  });

  it('asks the pacer one question at a time: once the pace has asked it to wait, or from its first recipient when the process already knows of its pace', async () => {
    for (const known of [false, true]) {
      const pace = paceEvery('slow.test', 40);
      const knownPaced = (destination: string) => known && destination === 'slow.test';
      const batch = batchWith({
        emails,
        acquire: pace.acquire,
        knownPaced,
        sendMs: 50,
        connections: 4,
        sendsPerBatch: 4,
        untried: 500,
      });
      await batch.sender.deliver(batch.job, 'token');
      expect(batch.sentTo.filter((to) => to.endsWith('@slow.test'))).toHaveLength(5);
      expect(known ? pace.stats.mostAsking : pace.stats.mostAskingAfterRefusal).toBe(1);
    }
  });

  it("takes turns with the other batches of the process: one question at a time for the destination, and each waits out its pace's answer before the next asks", async () => {
    const pace = paceEvery('slow.test', 40);
    const batch = batchWith({
      emails,
      acquire: pace.acquire,
      knownPaced: (destination) => destination === 'slow.test',
      sendMs: 5,
      connections: 4,
      sendsPerBatch: 4,
      untried: 0,
    });
    const outcomes = await Promise.allSettled(
      [1, 2, 3].map((index) => batch.sender.deliver(batch.jobOf(index), 'token')),
    );
    // 15 messages at one per 40 ms fit in the batches' 300 ms of waiting for their pace only in part;
    // whatever did not is put aside (the jobs come back), never sent past the pace.
    expect(pace.stats.mostAsking).toBe(1);
    const sentSlow = batch.sentTo.filter((to) => to.endsWith('@slow.test')).length;
    expect(sentSlow).toBeGreaterThanOrEqual(5);
    // Each answer "wait" is waited out by the sender that got it: about one refusal per message sent, not one per batch.
    expect(pace.stats.refused).toBeLessThanOrEqual(sentSlow + 3);
    for (const outcome of outcomes)
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(DelayedError);
  });

  it("leaves the destination's queue when its batch may wait no longer, not after the turns of other batches' senders ahead of it", async () => {
    // A batch of an edition whose batches were all tried (300 ms of waiting for its pace) holds the
    // turns for its pace's waits of 100 ms; a batch of a busy edition (50 ms) queues behind it.
    const pace = paceEvery('slow.test', 100);
    const slowOnly = emails.slice(20);
    const batch = batchWith({
      emails: slowOnly,
      acquire: pace.acquire,
      knownPaced: (destination) => destination === 'slow.test',
      sendMs: 1,
      connections: 2,
      sendsPerBatch: 5,
      untried: (edition) => (edition === 'busy' ? 500 : 0),
    });
    const calm = batch.sender.deliver(batch.jobOf(1, 'calm'), 'token').catch((error: unknown) => error);
    await sleep(5);
    const busy = await batch.sender.deliver(batch.jobOf(2, 'busy'), 'token').catch((error: unknown) => error);
    const sentWhenBusyDone = batch.sentTo.length;
    await calm;
    // The calm batch sent at 0, 100 and 200 ms; behind its turns the busy one would conclude after the third.
    expect(batch.sentTo).toHaveLength(3);
    expect(sentWhenBusyDone).toBeLessThan(3);
    expect(busy).toBeInstanceOf(DelayedError);
    expect(pace.stats.mostAsking).toBe(1);
  });

  it("asks ahead of the other lanes' senders waiting for a connection", async () => {
    // One connection and ten open senders waiting for it (20 ms a send): behind them, each of the
    // paced lane's questions would wait ~200 ms, and it could not send its 5 within the batch's 600 ms.
    const pace = paceEvery('slow.test', 40);
    const manyOpen = [...Array.from({ length: 30 }, (_, index) => `reader${index}@open.test`), ...emails.slice(20)];
    const batch = batchWith({
      emails: manyOpen,
      acquire: pace.acquire,
      sendMs: 20,
      connections: 1,
      sendsPerBatch: 10,
      untried: 500,
    });
    await expect(batch.sender.deliver(batch.job, 'token')).resolves.toMatchObject({
      claimed: 35,
      sent: 35,
      waiting: 0,
    });
  });

  it('puts the rest aside once the others are done and its pace keeps it waiting', async () => {
    const pace = paceEvery('slow.test', 1000);
    const batch = batchWith({ emails, acquire: pace.acquire, sendMs: 1, connections: 2, untried: 500 });
    // Its recipients wait (no attempt spent): the batch comes back for them.
    await expect(batch.sender.deliver(batch.job, 'token')).rejects.toThrow(DelayedError);
    expect(batch.sentTo.filter((to) => to.endsWith('@slow.test'))).toHaveLength(1);
    expect(batch.sentTo.filter((to) => to.endsWith('@open.test'))).toHaveLength(20);
  });
});
