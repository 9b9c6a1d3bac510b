import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/delivery/concurrency.ts';
import { type EditionBatchDeps, EditionBatchSender } from '../../src/delivery/edition-batch.ts';
import type { Settlement } from '../../src/delivery/ledger.ts';
import type { OutgoingMessage } from '../../src/delivery/messages.ts';
import type { DeliveryJob } from '../../src/delivery/queues.ts';
import type { Transport } from '../../src/delivery/transports.ts';
import { createLogger } from '../../src/platform/logger.ts';

/**
 * EditionBatchSender with small fakes around it: what happens to a message the SMTP server accepted
 * when the ledger cannot record it (Redis gone for longer than a command's retries).
 */
function batchWith(settle: (settlement: Settlement) => Promise<boolean>) {
  const recycled: OutgoingMessage[] = [];
  const settled: Settlement[] = [];
  const composed: OutgoingMessage[] = [];
  const transport: Transport = {
    name: 'relay',
    weight: 1,
    ratePerSecond: 0,
    poolSize: 1,
    connections: new Slots(1),
    sender: { send: async () => ({ reply: '250 2.0.0 queued' }), close: async () => undefined },
  };
  // The fakes implement only what the sender calls; the casts say so.
  const deps = {
    settings: { leaseSeconds: 30, sendTimeoutMs: 5_000, sendsPerBatch: 2, busyInlineWaitMs: 50, idleInlineWaitMs: 300 },
    ledger: {
      batchIds: async () => ['1'],
      claim: async () => ({ claimed: ['1'], heldSeconds: 0 }),
      counts: async () => ({ queued: 0 }),
      putAside: async () => ({ settled: 0, waiting: new Map() }),
      settle: async (settlement: Settlement) => {
        settled.push(settlement);
        return settle(settlement);
      },
    },
    editions: { get: async () => ({ id: 'e1' }) },
    subscribers: { forDelivery: async () => new Map([['1', { id: '1', email: 'reader@example.test', name: 'Reader', format: 'html', state: 'confirmed' }]]) },
    subscriptions: { suppress: async () => undefined },
    messages: {
      edition: () => {
        const message: OutgoingMessage = { envelope: { from: 'bounce@example.test', to: 'reader@example.test' }, raw: Buffer.from('message'), messageId: '<m@example.test>', pooled: true };
        composed.push(message);
        return message;
      },
      recycle: (message: OutgoingMessage) => recycled.push(message),
    },
    transports: { inRotation: async () => ({ transports: [transport], waitMs: 0 }), reached: async () => undefined, notReached: async () => undefined },
    pacing: { acquire: async () => ({ ok: true }), succeeded: async () => undefined, throttled: async () => undefined, connectionBroke: async () => undefined },
    rate: { take: async () => undefined, takeFor: async () => undefined },
    logger: createLogger('test', 'silent'),
  } as unknown as EditionBatchDeps;
  const job = { id: 'e1-main-1', data: { edition: 'e1', run: 'main', mode: 'normal', batch: '1' }, attemptsMade: 0, opts: { attempts: 8 } } as unknown as Job<DeliveryJob>;
  return { sender: new EditionBatchSender(deps), job, recycled, settled, composed };
}

describe('EditionBatchSender, when the ledger fails after the SMTP server accepted a message', () => {
  it('gives the buffer back once, records no failure, and lets the attempt fail so that the lease decides', async () => {
    const batch = batchWith(async () => {
      throw new Error('Reached the max retries per request limit');
    });
    await expect(batch.sender.deliver(batch.job, 'token')).rejects.toThrow(/max retries/);
    // Given back twice, one buffer would be handed to two later messages at once.
    expect(batch.recycled).toEqual(batch.composed);
    expect(batch.composed).toHaveLength(1);
    // Accepted is not failed: no `deferred` or `failed` (the entry stays `sending` until its lease ends).
    expect(batch.settled.map((settlement) => settlement.state)).toEqual(['sent']);
  });

  it('settles an accepted message as sent when the ledger answers', async () => {
    const batch = batchWith(async () => true);
    await expect(batch.sender.deliver(batch.job, 'token')).resolves.toMatchObject({ claimed: 1, sent: 1, failed: 0, deferred: 0 });
    expect(batch.recycled).toEqual(batch.composed);
  });
});
