import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/delivery/concurrency.ts';
import { DeliveryLedger, type Settlement } from '../../src/delivery/ledger.ts';
import { RedisKeys } from '../../src/platform/redis-keys.ts';

/** A Redis that only runs settle.lua: records how many outcomes each call carried and settles them all. */
function countingRedis(answerMs = 0) {
  const calls: number[] = [];
  const redis = {
    evalsha: async (_sha: string, keyCount: number, ...rest: unknown[]) => {
      // settle.lua's ARGV: five per outcome, after the keys.
      const outcomes = (rest.length - keyCount) / 5;
      calls.push(outcomes);
      await sleep(answerMs);
      return Array.from({ length: outcomes }, () => 1);
    },
  } as unknown as Redis;
  return { redis, calls };
}

const outcome = (subscriberId: string): Settlement => ({
  edition: 'e1',
  run: 'main',
  owner: 'job~1',
  subscriberId,
  state: 'sent',
  reply: '250 2.0.0 queued',
});

describe('DeliveryLedger.settle', () => {
  it('records outcomes that come in within a few milliseconds of each other in one call', async () => {
    const { redis, calls } = countingRedis();
    const ledger = new DeliveryLedger(redis, new RedisKeys('unused'));
    const first = ledger.settle(outcome('1'));
    await sleep(0);
    const rest = [ledger.settle(outcome('2')), ledger.settle(outcome('3'))];
    await expect(Promise.all([first, ...rest])).resolves.toEqual([true, true, true]);
    expect(calls).toEqual([3]);
  });

  it('sends the outcomes that came in while a call was on its way together, in the next call', async () => {
    const { redis, calls } = countingRedis(30);
    const ledger = new DeliveryLedger(redis, new RedisKeys('unused'));
    const first = ledger.settle(outcome('1'));
    await sleep(10);
    const later = [ledger.settle(outcome('2')), ledger.settle(outcome('3'))];
    await expect(Promise.all([first, ...later])).resolves.toEqual([true, true, true]);
    expect(calls).toEqual([1, 2]);
  });
});
