import { describe, expect, it } from 'vitest';
import type { EditionStatus } from '../../src/editions/edition-store.ts';
import {
  type ActionContext,
  type ActionDecision,
  availableActions,
  decideAction,
  EDITOR_ACTIONS,
  type EditionState,
  type EditorAction,
  type Moment,
  momentOf,
  schedulerStep,
} from '../../src/editions/edition-states.ts';

/**
 * The editions' state machine (issue 27: "skip, then reopen, sends tomorrow's edition at once"):
 * every editor action, and every pair of them followed by the scheduler's tick, on an edition in
 * every state, before, at and after its cut-off.
 */
const MOMENTS: readonly Moment[] = ['before', 'fresh', 'stale'];
const STATES: readonly EditionState[] = [
  { status: 'open', holdReason: null },
  { status: 'held', holdReason: null },
  { status: 'held', holdReason: 'too-few-articles' },
  { status: 'held', holdReason: 'awaiting-approval' },
  { status: 'held', holdReason: 'stale' },
  { status: 'approved', holdReason: null },
  { status: 'skipped', holdReason: null, skippedFrom: { status: 'open', holdReason: null } },
  { status: 'skipped', holdReason: null, skippedFrom: { status: 'held', holdReason: 'too-few-articles' } },
  { status: 'skipped', holdReason: null, skippedFrom: { status: 'approved', holdReason: null } },
  { status: 'skipped', holdReason: null },
  { status: 'ready', holdReason: null },
  { status: 'sending', holdReason: null },
  { status: 'sent', holdReason: null },
  { status: 'failed', holdReason: null },
];
const context = (moment: Moment, approval: ActionContext['approval'] = 'none', latest = true): ActionContext => ({
  moment,
  approval,
  latest,
});
const label = (state: EditionState) =>
  `${state.status}${state.holdReason ? `/${state.holdReason}` : ''}${state.skippedFrom ? ` (was ${state.skippedFrom.status}${state.skippedFrom.holdReason ? `/${state.skippedFrom.holdReason}` : ''})` : ''}`;

/** What the desk makes of a decision in PostgreSQL (edition-desk.ts), as a state. */
function after(state: EditionState, decision: ActionDecision): EditionState {
  switch (decision.do) {
    case 'refuse':
      return state;
    case 'approve-ahead':
      return { status: 'approved', holdReason: null };
    case 'deliver':
      return { status: 'ready', holdReason: null };
    case 'skip':
      return {
        status: 'skipped',
        holdReason: null,
        skippedFrom: { status: state.status, holdReason: state.holdReason },
      };
    case 'restore':
      return { ...decision.to };
  }
}

describe('an editor action on an edition', () => {
  const W = (status: EditionStatus, holdReason: EditionState['holdReason'] = null): EditionState => ({
    status,
    holdReason,
  });
  it.each<[string, EditorAction, EditionState, Moment, ActionContext['approval'], ActionDecision['do'], string?]>([
    [
      'send on the open edition before its cut-off: cut early and sent',
      'send',
      W('open'),
      'before',
      'none',
      'deliver',
      'sent now',
    ],
    [
      'send on a held edition while fresh',
      'send',
      W('held', 'too-few-articles'),
      'fresh',
      'none',
      'deliver',
      'sent now',
    ],
    ['send on a stale edition: sent late', 'send', W('held', 'stale'), 'stale', 'none', 'deliver', 'sent late'],
    [
      'send on an approved edition before its cut-off',
      'send',
      W('approved'),
      'before',
      'required',
      'deliver',
      'sent now',
    ],
    ['send on a sent edition: refused', 'send', W('sent'), 'fresh', 'none', 'refuse'],
    ['send on a skipped edition: refused (reopen first)', 'send', W('skipped'), 'before', 'none', 'refuse'],
    ['approve without approval required: refused, with why', 'approve', W('open'), 'before', 'none', 'refuse'],
    [
      'approve the open edition ahead of its cut-off: recorded',
      'approve',
      W('open'),
      'before',
      'required',
      'approve-ahead',
    ],
    [
      'approve an edition awaiting approval: goes out',
      'approve',
      W('held', 'awaiting-approval'),
      'fresh',
      'required',
      'deliver',
      'approved',
    ],
    [
      "approve an edition awaiting approval by this process's clock before its cut-off: it was cut, so it goes out",
      'approve',
      W('held', 'awaiting-approval'),
      'before',
      'required',
      'deliver',
      'approved',
    ],
    ['approve one held for articles: refused', 'approve', W('held', 'too-few-articles'), 'fresh', 'required', 'refuse'],
    ['approve a stale one: refused (send late or skip)', 'approve', W('held', 'stale'), 'stale', 'required', 'refuse'],
    ['approve an approved one: refused', 'approve', W('approved'), 'before', 'required', 'refuse'],
    ['skip the open edition', 'skip', W('open'), 'before', 'none', 'skip'],
    ['skip a held one past its freshness', 'skip', W('held', 'stale'), 'stale', 'none', 'skip'],
    ['skip a sending one: refused', 'skip', W('sending'), 'fresh', 'none', 'refuse'],
    ['reopen a stale skip: refused', 'reopen', W('skipped'), 'stale', 'none', 'refuse'],
    ['reopen a held one: refused', 'reopen', W('held', 'too-few-articles'), 'fresh', 'none', 'refuse'],
  ])('%s', (_name, action, state, moment, approval, expected, event) => {
    const decision = decideAction(action, state, context(moment, approval));
    expect(decision.do).toBe(expected);
    if (event !== undefined) expect(decision).toMatchObject({ event });
  });

  it('says why approval is refused when it is not required', () => {
    expect(decideAction('approve', STATES[0] as EditionState, context('before'))).toEqual({
      do: 'refuse',
      why: expect.stringContaining('DIGEST_APPROVAL=none'),
    });
  });

  it('reopens to exactly the state before the skip, and only the latest edition', () => {
    const skippedWhileOpen: EditionState = {
      status: 'skipped',
      holdReason: null,
      skippedFrom: { status: 'open', holdReason: null },
    };
    expect(decideAction('reopen', skippedWhileOpen, context('before'))).toEqual({
      do: 'restore',
      to: { status: 'open', holdReason: null },
    });
    expect(decideAction('reopen', skippedWhileOpen, context('fresh', 'none', false))).toEqual({ do: 'refuse' });
    // A skip recorded before skips kept their state: open ahead of the cut-off, else held for the scheduler to decide.
    expect(decideAction('reopen', { status: 'skipped', holdReason: null }, context('before'))).toEqual({
      do: 'restore',
      to: { status: 'open', holdReason: null },
    });
    expect(decideAction('reopen', { status: 'skipped', holdReason: null }, context('fresh'))).toEqual({
      do: 'restore',
      to: { status: 'held', holdReason: null },
    });
  });

  it('offers exactly the actions it would carry out', () => {
    for (const state of STATES) {
      for (const moment of MOMENTS) {
        for (const approval of ['none', 'required'] as const) {
          const offered = availableActions(state, context(moment, approval));
          const carried = EDITOR_ACTIONS.filter(
            (action) => decideAction(action, state, context(moment, approval)).do !== 'refuse',
          );
          expect(offered, `${label(state)} ${moment} ${approval}`).toEqual(carried);
        }
      }
    }
    expect(availableActions({ status: 'open', holdReason: null }, context('before', 'required'))).toEqual([
      'approve',
      'send',
      'skip',
    ]);
    expect(availableActions({ status: 'skipped', holdReason: null }, context('fresh'))).toEqual(['reopen']);
  });
});

describe("the scheduler's tick", () => {
  it.each<[string, EditionState, Moment, ReturnType<typeof schedulerStep>['do']]>([
    ['open, before its cut-off: waits', { status: 'open', holdReason: null }, 'before', 'wait'],
    ['open, at its cut-off: cut', { status: 'open', holdReason: null }, 'fresh', 'cut'],
    [
      'open, past its freshness: cut (then held for an editor or skipped)',
      { status: 'open', holdReason: null },
      'stale',
      'cut',
    ],
    [
      'held, before its cut-off: waits (never sent early)',
      { status: 'held', holdReason: 'too-few-articles' },
      'before',
      'wait',
    ],
    ['held, fresh: decided', { status: 'held', holdReason: 'too-few-articles' }, 'fresh', 'decide-held'],
    ['approved, before its cut-off: waits', { status: 'approved', holdReason: null }, 'before', 'wait'],
    ['approved, at its cut-off: goes out', { status: 'approved', holdReason: null }, 'fresh', 'send-approved'],
    [
      'approved, past its freshness: decided like a held one',
      { status: 'approved', holdReason: null },
      'stale',
      'decide-held',
    ],
    ['sending: followed, whatever the clock says', { status: 'sending', holdReason: null }, 'before', 'follow'],
    ['skipped: left alone', { status: 'skipped', holdReason: null }, 'fresh', 'wait'],
    ['sent: left alone', { status: 'sent', holdReason: null }, 'fresh', 'wait'],
  ])('%s', (_name, state, moment, expected) => {
    expect(schedulerStep(state, moment).do).toBe(expected);
  });

  it('places the cut-off itself at "fresh", and DIGEST_FRESH_HOURS after it at "stale"', () => {
    const cutoff = new Date('2026-12-08T18:30:00Z');
    const rules = { freshHours: 6 };
    expect(momentOf(cutoff, new Date(cutoff.getTime() - 1), rules)).toBe('before');
    expect(momentOf(cutoff, cutoff, rules)).toBe('fresh');
    expect(momentOf(cutoff, new Date(cutoff.getTime() + 6 * 3600_000 - 1), rules)).toBe('fresh');
    expect(momentOf(cutoff, new Date(cutoff.getTime() + 6 * 3600_000), rules)).toBe('stale');
  });
});

describe('every pair of editor actions, then a tick, on every edition before, at and after its cut-off', () => {
  const pairs = EDITOR_ACTIONS.flatMap((first) => EDITOR_ACTIONS.map((second) => [first, second] as const));
  const cases = STATES.flatMap((state) =>
    MOMENTS.flatMap((moment) => (['none', 'required'] as const).map((approval) => ({ state, moment, approval }))),
  );

  it('never delivers before the cut-off unless an editor said "send", or approved an edition that was cut', () => {
    let checked = 0;
    for (const { state, moment, approval } of cases) {
      for (const [first, second] of pairs) {
        let current = state;
        for (const action of [first, second]) {
          const decision = decideAction(action, current, context(moment, approval));
          const editorsGo = action === 'send' || (action === 'approve' && current.status === 'held');
          if (moment === 'before' && !editorsGo)
            expect(decision.do, `${label(state)}: ${first} then ${second}, ${action} at ${moment}`).not.toBe('deliver');
          current = after(current, decision);
          checked += 1;
        }
        // The tick that follows only starts delivery of what an editor sent: before the cut-off it cuts nothing, sends nothing.
        const tick = schedulerStep(current, moment).do;
        if (moment === 'before')
          expect(['wait', 'follow'], `${label(state)}: ${first} then ${second}, then the tick`).toContain(tick);
      }
    }
    expect(checked).toBe(cases.length * pairs.length * 2);
  });

  it('skip then reopen restores the state exactly, wherever it was skipped from', () => {
    const skippable = cases.filter(
      ({ state, moment, approval }) => decideAction('skip', state, context(moment, approval)).do === 'skip',
    );
    expect(skippable.length).toBeGreaterThan(10);
    for (const { state, moment, approval } of skippable) {
      const skipped = after(state, decideAction('skip', state, context(moment, approval)));
      const reopened = decideAction('reopen', skipped, context(moment, approval));
      if (moment === 'stale') expect(reopened.do, label(state)).toBe('refuse');
      else
        expect(after(skipped, reopened), `${label(state)} at ${moment}`).toEqual({
          status: state.status,
          holdReason: state.holdReason,
        });
    }
  });

  it("the issue's sequence: tomorrow's edition skipped, reopened, then the scheduler's tick: still open, cut at its cut-off", () => {
    const tomorrow: EditionState = { status: 'open', holdReason: null };
    const skipped = after(tomorrow, decideAction('skip', tomorrow, context('before')));
    const reopened = after(skipped, decideAction('reopen', skipped, context('before')));
    expect(reopened).toEqual({ status: 'open', holdReason: null });
    expect(schedulerStep(reopened, 'before')).toEqual({ do: 'wait' });
    expect(schedulerStep(reopened, 'fresh')).toEqual({ do: 'cut' });
  });
});
