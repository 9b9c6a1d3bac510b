import type { HoldReason } from './edition-store.ts';

/** How an edition's day goes (DIGEST_MIN_ARTICLES, DIGEST_FRESH_HOURS, DIGEST_APPROVAL, …). */
export interface EditorialRules {
  /** An edition with fewer articles is held, not sent. */
  minArticles: number;
  /** Past its cut-off by this much, an edition no longer goes out by itself: an editor sends it late or skips it. */
  freshHours: number;
  /** `required`: every edition waits for an editor's approval. */
  approval: 'none' | 'required';
  /** With approval required: after this long past the cut-off without one, the fallback applies (and the desk is told). */
  approvalDeadlineMinutes: number;
  approvalFallback: 'hold' | 'send';
  /** An edition not fully delivered this long after it started sending raises an alert. */
  deliveryDeadlineMinutes: number;
}

/** What the scheduler does with a held edition (or one just cut) at a moment. */
export type HeldDecision =
  | { do: 'send'; action: string; note: string; withoutApproval?: boolean }
  | { do: 'hold'; reason: HoldReason; deadlinePassed?: boolean }
  | { do: 'skip'; note: string };

export interface HeldSituation {
  cutoff: Date;
  now: Date;
  /** Articles the edition would have if it were sent now. */
  articles: number;
  /** A later cut-off has passed: its edition takes this window over. */
  superseded: boolean;
}

export function isFresh(cutoff: Date, now: Date, rules: Pick<EditorialRules, 'freshHours'>): boolean {
  return now.getTime() < cutoff.getTime() + rules.freshHours * 3600_000;
}

/**
 * Nothing is final too early: an edition without enough articles waits for late ones while it is
 * fresh, then needs an editor; with approval required it waits for one (until the deadline's
 * fallback); otherwise it goes out as soon as it qualifies.
 */
export function decideHeld(situation: HeldSituation, rules: EditorialRules): HeldDecision {
  const { cutoff, now, articles } = situation;
  if (situation.superseded) return { do: 'skip', note: 'a later edition took over its window' };
  if (!isFresh(cutoff, now, rules)) {
    return articles === 0
      ? { do: 'skip', note: `no articles within ${rules.freshHours} hours of its cut-off` }
      : { do: 'hold', reason: 'stale' };
  }
  if (articles < rules.minArticles) return { do: 'hold', reason: 'too-few-articles' };
  if (rules.approval === 'required') {
    const deadlinePassed = now.getTime() >= cutoff.getTime() + rules.approvalDeadlineMinutes * 60_000;
    if (deadlinePassed && rules.approvalFallback === 'send') {
      return {
        do: 'send',
        action: 'sent without approval',
        note: `no approval within ${rules.approvalDeadlineMinutes} minutes of the cut-off`,
        withoutApproval: true,
      };
    }
    return { do: 'hold', reason: 'awaiting-approval', deadlinePassed };
  }
  return { do: 'send', action: 'sent', note: `${articles} article${articles === 1 ? '' : 's'}` };
}
