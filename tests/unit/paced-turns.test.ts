import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/delivery/concurrency.ts';
import { PacedTurns } from '../../src/delivery/paced-turns.ts';

describe('PacedTurns', () => {
  it('runs the steps of a destination one after another, and those of different destinations side by side', async () => {
    const turns = new PacedTurns();
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name} starts`);
      await sleep(ms);
      log.push(`${name} ends`);
      return name;
    };
    const never = () => Number.POSITIVE_INFINITY;
    const results = await Promise.all([
      turns.take('a.test', step('a1', 30), never),
      turns.take('a.test', step('a2', 5), never),
      turns.take('b.test', step('b1', 5), never),
    ]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(log).toEqual(['a1 starts', 'b1 starts', 'b1 ends', 'a1 ends', 'a2 starts', 'a2 ends']);
  });

  it("tells a sender whose deadline passes before its turn the destination's latest wait, never runs its step, and keeps the order of the others", async () => {
    const turns = new PacedTurns();
    const ran: string[] = [];
    const holding = turns.take(
      'a.test',
      async () => {
        turns.answered('a.test', { waitMs: 80, rate: 12.5 });
        await sleep(80);
        ran.push('holder');
        return 'holder';
      },
      () => Number.POSITIVE_INFINITY,
    );
    const startedAt = performance.now();
    const late = turns.take(
      'a.test',
      async () => ran.push('late'),
      () => startedAt + 20,
    );
    const patient = turns.take(
      'a.test',
      async () => ran.push('patient'),
      () => Number.POSITIVE_INFINITY,
    );
    const left = await late;
    // Left before the holder's wait was over.
    expect(ran).toEqual([]);
    expect(left).toMatchObject({ rate: 12.5 });
    expect((left as { waitMs: number }).waitMs).toBeGreaterThan(0);
    await Promise.all([holding, patient]);
    expect(ran).toEqual(['holder', 'patient']);
  });

  it('tells a late sender nothing when the pace has given no answer yet, and passes on a step that fails', async () => {
    const turns = new PacedTurns();
    const failing = turns.take(
      'a.test',
      async () => {
        await sleep(40);
        throw new Error('Redis went away');
      },
      () => Number.POSITIVE_INFINITY,
    );
    const late = turns.take(
      'a.test',
      async () => 'late',
      () => performance.now() - 1,
    );
    const next = turns.take(
      'a.test',
      async () => 'next',
      () => Number.POSITIVE_INFINITY,
    );
    await expect(failing).rejects.toThrow('Redis went away');
    await expect(late).resolves.toBeNull();
    await expect(next).resolves.toBe('next');
  });
});
