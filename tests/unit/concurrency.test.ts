import { describe, expect, it } from 'vitest';
import { forEachConcurrently, Slots, sleep } from '../../src/delivery/concurrency.ts';

describe('Slots', () => {
  it('lets `size` holders in at once and the rest in the order they came, those asking `ahead` first', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    const first = await slots.acquire();
    const waiters = [
      slots.acquire().then((release) => (order.push('second'), release)),
      slots.acquire().then((release) => (order.push('third'), release)),
      slots.acquire(true).then((release) => (order.push('ahead'), release)),
    ];
    await sleep(5);
    expect(order).toEqual([]);
    first();
    // Releasing twice gives back one slot, not two.
    first();
    await sleep(5);
    expect(order).toEqual(['ahead']);
    // Each in turn once the one before it lets go: ahead, then the others in order.
    for (const waiter of [waiters[2], waiters[0], waiters[1]]) (await waiter)?.();
    expect(order).toEqual(['ahead', 'second', 'third']);
  });
});

describe('forEachConcurrently', () => {
  it('runs every item, at most `limit` at once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await forEachConcurrently([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      running += 1;
      most = Math.max(most, running);
      await sleep(5);
      running -= 1;
      done.push(item);
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });
});
