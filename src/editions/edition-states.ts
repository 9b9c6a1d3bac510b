import type { EditionStatus, HoldReason } from './edition-store.ts';
import { type EditorialRules, isFresh } from './editorial-rules.ts';

/**
 * The editions' state machine: what an editor's action or the scheduler's tick does to an edition,
 * decided from where it stands and where `now` is against its cut-off. Pure, so that every pair of
 * actions at every moment is tested in milliseconds (tests/unit/edition-states.test.ts); the desk
 * (edition-desk.ts) carries the decisions out in PostgreSQL.
 *
 * Two promises rest here: an edition never goes out before its cut-off unless an editor says "send
 * now" (or approves one that was cut already), and reopening a skipped edition restores exactly the
 * state it had before the skip.
 */

/** Where an edition stands; one not stored yet is `open` (not cut: collecting articles until its cut-off). */
export interface DeskState {
  status: EditionStatus;
  holdReason: HoldReason | null;
}

/** A skipped edition remembers what it was before the skip (absent for skips recorded before it did). */
export interface EditionState extends DeskState {
  skippedFrom?: DeskState;
}

/** `now` against an edition's cut-off: before it, at or after it while fresh, or past DIGEST_FRESH_HOURS. */
export type Moment = 'before' | 'fresh' | 'stale';

export type EditorAction = 'approve' | 'send' | 'skip' | 'reopen';
export const EDITOR_ACTIONS: readonly EditorAction[] = ['approve', 'send', 'skip', 'reopen'];

export interface ActionContext {
  moment: Moment;
  approval: EditorialRules['approval'];
  /** No later cut-off has passed: the edition's window is still its own. */
  latest: boolean;
}

export type ActionDecision =
  /** Stored as `approved`: it goes out at its cut-off. */
  | { do: 'approve-ahead' }
  /** Its content is fixed now (cut early when before its cut-off) and it is delivered. */
  | { do: 'deliver'; event: 'approved' | 'sent now' | 'sent late' }
  | { do: 'skip' }
  | { do: 'restore'; to: DeskState }
  | { do: 'refuse'; why?: string };

/** What an edition not yet sent may be: open, held or approved. */
export const NOT_YET_SENT: readonly EditionStatus[] = ['open', 'held', 'approved'];
const OPEN: DeskState = { status: 'open', holdReason: null };

export function momentOf(cutoff: Date, now: Date, rules: Pick<EditorialRules, 'freshHours'>): Moment {
  if (now.getTime() < cutoff.getTime()) return 'before';
  return isFresh(cutoff, now, rules) ? 'fresh' : 'stale';
}

/** What an editor's action does to an edition in `state` at `context.moment`. */
export function decideAction(action: EditorAction, state: EditionState, context: ActionContext): ActionDecision {
  const waiting = NOT_YET_SENT.includes(state.status);
  switch (action) {
    case 'approve':
      return decideApproval(state, context);
    case 'send':
      return waiting
        ? { do: 'deliver', event: context.moment === 'stale' ? 'sent late' : 'sent now' }
        : { do: 'refuse' };
    case 'skip':
      return waiting ? { do: 'skip' } : { do: 'refuse' };
    case 'reopen':
      if (state.status !== 'skipped' || context.moment === 'stale' || !context.latest) return { do: 'refuse' };
      return { do: 'restore', to: state.skippedFrom ?? assumedBeforeSkip(context.moment) };
  }
}

/** The actions that `decideAction` would carry out now: what the console and the API offer. */
export function availableActions(state: EditionState, context: ActionContext): EditorAction[] {
  return EDITOR_ACTIONS.filter((action) => decideAction(action, state, context).do !== 'refuse');
}

/**
 * Approval is asked for before the edition goes out. The open edition approved ahead of its cut-off
 * is recorded as approved (it goes out at the cut-off); after it, it goes out now. An edition held
 * for approval was cut, so its cut-off has come (by the clock of the scheduler that cut it, which
 * may run a little ahead of this process's): it goes out now. A stale edition is sent late or
 * skipped, never approved.
 */
function decideApproval(state: EditionState, { moment, approval }: ActionContext): ActionDecision {
  if (approval !== 'required')
    return { do: 'refuse', why: 'approval is not required (DIGEST_APPROVAL=none): editions go out by themselves' };
  if (moment === 'stale') return { do: 'refuse' };
  if (state.status === 'held' && state.holdReason === 'awaiting-approval') return { do: 'deliver', event: 'approved' };
  if (state.status !== 'open') return { do: 'refuse' };
  return moment === 'before' ? { do: 'approve-ahead' } : { do: 'deliver', event: 'approved' };
}

/** A skip recorded before skips remembered their state: open ahead of the cut-off, else held for the scheduler to decide. */
function assumedBeforeSkip(moment: Moment): DeskState {
  return moment === 'before' ? OPEN : { status: 'held', holdReason: null };
}

export type SchedulerStep =
  /** Nothing to do now (not due, or done). */
  | { do: 'wait' }
  /** Content fixed: start or resume delivery, and see whether everyone has it. */
  | { do: 'follow' }
  /** Its cut-off has come: cut it (held), then decide. */
  | { do: 'cut' }
  /** Approved ahead of its cut-off, which has come: it goes out. */
  | { do: 'send-approved' }
  /** Held (or approved but stale): decideHeld says whether it goes out, waits or is skipped. */
  | { do: 'decide-held' };

/** The scheduler's tick on a stored edition. Before its cut-off nothing but delivery moves. */
export function schedulerStep(state: DeskState, moment: Moment): SchedulerStep {
  if (state.status === 'ready' || state.status === 'sending') return { do: 'follow' };
  if (!NOT_YET_SENT.includes(state.status) || moment === 'before') return { do: 'wait' };
  if (state.status === 'open') return { do: 'cut' };
  if (state.status === 'approved' && moment === 'fresh') return { do: 'send-approved' };
  return { do: 'decide-held' };
}

/** `skip` -> `skipped`, for messages. */
export function pastParticiple(action: EditorAction): string {
  return { approve: 'approved', send: 'sent', skip: 'skipped', reopen: 'reopened' }[action];
}
