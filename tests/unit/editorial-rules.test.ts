import { describe, expect, it } from 'vitest';
import { decideHeld, type EditorialRules, isFresh } from '../../src/editions/editorial-rules.ts';

const RULES: EditorialRules = {
  minArticles: 2,
  freshHours: 6,
  approval: 'none',
  approvalDeadlineMinutes: 60,
  approvalFallback: 'hold',
  deliveryDeadlineMinutes: 60,
};
const CUTOFF = new Date('2026-11-29T18:30:00Z');
const at = (minutesAfter: number) => new Date(CUTOFF.getTime() + minutesAfter * 60_000);

describe('decideHeld', () => {
  it.each([
    ['qualifies while fresh: sent', { now: at(1), articles: 2 }, RULES, { do: 'send', action: 'sent' }],
    [
      'too few while fresh: held for articles',
      { now: at(300), articles: 1 },
      RULES,
      { do: 'hold', reason: 'too-few-articles' },
    ],
    [
      'past its freshness with articles: held for an editor',
      { now: at(361), articles: 5 },
      RULES,
      { do: 'hold', reason: 'stale' },
    ],
    ['past its freshness without articles: skipped', { now: at(361), articles: 0 }, RULES, { do: 'skip' }],
    [
      'a later cut-off passed: skipped, its window goes on',
      { now: at(60), articles: 5, superseded: true },
      RULES,
      { do: 'skip' },
    ],
    [
      'approval required: held for it',
      { now: at(10), articles: 3 },
      { ...RULES, approval: 'required' as const },
      { do: 'hold', reason: 'awaiting-approval', deadlinePassed: false },
    ],
    [
      'approval deadline passed, fallback hold: still held, and said so',
      { now: at(61), articles: 3 },
      { ...RULES, approval: 'required' as const },
      { do: 'hold', reason: 'awaiting-approval', deadlinePassed: true },
    ],
    [
      'approval deadline passed, fallback send: sent without approval',
      { now: at(60), articles: 3 },
      { ...RULES, approval: 'required' as const, approvalFallback: 'send' as const },
      { do: 'send', action: 'sent without approval', withoutApproval: true },
    ],
    [
      'too few with approval required: waits for articles first',
      { now: at(10), articles: 1 },
      { ...RULES, approval: 'required' as const },
      { do: 'hold', reason: 'too-few-articles' },
    ],
  ])('%s', (_name, situation, rules, expected) => {
    expect(decideHeld({ cutoff: CUTOFF, superseded: false, ...situation }, rules)).toMatchObject(expected);
  });

  it('is fresh until DIGEST_FRESH_HOURS after the cut-off, not at it', () => {
    expect(isFresh(CUTOFF, at(359), RULES)).toBe(true);
    expect(isFresh(CUTOFF, at(360), RULES)).toBe(false);
  });
});
