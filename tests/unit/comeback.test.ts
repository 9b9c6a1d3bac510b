import { describe, expect, it } from 'vitest';
import { comebackMs, type PutAsideAttempt } from '../../src/delivery/comeback.ts';

function attempt(overrides: Partial<PutAsideAttempt>): PutAsideAttempt {
  return { soonestMs: Number.POSITIVE_INFINITY, paces: new Map(), aside: [], waitingFor: new Map(), ...overrides };
}

/** Many draws: the spread is random, so the bounds are checked over enough of them to meet both ends. */
function draws(of: PutAsideAttempt): number[] {
  return Array.from({ length: 400 }, () => comebackMs(of));
}

describe('comebackMs: when a batch with recipients put aside comes back', () => {
  it('for a paced destination, about when its turn comes: a quarter to three quarters of waiting / (rate x (mine + 1))', () => {
    // 100 of the edition wait for a 10/s destination, 1 of them in this batch: its turn in 5 s on average.
    const times = draws(
      attempt({
        aside: [{ destination: 'a.test' }],
        paces: new Map([['a.test', { waitMs: 100, rate: 10 }]]),
        waitingFor: new Map([['a.test', 100]]),
      }),
    );
    expect(Math.min(...times)).toBeGreaterThanOrEqual(1250);
    expect(Math.max(...times)).toBeLessThanOrEqual(3750);
    expect(Math.max(...times) - Math.min(...times), 'spread, so batches do not return together').toBeGreaterThan(1000);
  });

  it('never before the pace has room, and within 30 s however long the queue', () => {
    const soon = draws(
      attempt({
        aside: [{ destination: 'a.test' }],
        paces: new Map([['a.test', { waitMs: 900, rate: 100 }]]),
        waitingFor: new Map([['a.test', 10]]),
      }),
    );
    expect(Math.min(...soon)).toBe(900);
    const long = draws(
      attempt({
        aside: [{ destination: 'a.test' }],
        paces: new Map([['a.test', { waitMs: 100, rate: 1 }]]),
        waitingFor: new Map([['a.test', 1_000_000]]),
      }),
    );
    expect(Math.max(...long)).toBeLessThanOrEqual(22_500);
    expect(Math.min(...long)).toBeGreaterThanOrEqual(7_500);
  });

  it('for a refusal or no transport: the wait named, or a short one, plus up to 250 ms', () => {
    const named = draws(attempt({ aside: [{ destination: 'a.test' }], soonestMs: 2_000 }));
    expect(Math.min(...named)).toBeGreaterThanOrEqual(2_000);
    expect(Math.max(...named)).toBeLessThan(2_250);
    const unnamed = draws(attempt({ aside: [{ destination: 'a.test' }] }));
    expect(Math.min(...unnamed)).toBeGreaterThanOrEqual(250);
    expect(Math.max(...unnamed)).toBeLessThan(500);
  });

  it('for the soonest of its destinations', () => {
    const times = draws(
      attempt({
        aside: [{ destination: 'slow.test' }, { destination: 'fast.test' }],
        paces: new Map([
          ['slow.test', { waitMs: 5_000, rate: 1 }],
          ['fast.test', { waitMs: 50, rate: 100 }],
        ]),
        waitingFor: new Map([
          ['slow.test', 100],
          ['fast.test', 100],
        ]),
      }),
    );
    // fast.test: 1000 x 100 / (100 x 2) = 500 ms, drawn between 125 and 375.
    expect(Math.max(...times)).toBeLessThanOrEqual(375);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(125);
  });
});
