import type { Queryable } from '../platform/database.ts';
import { checkAddress } from './address.ts';
import { type Subscriber, SUPPRESSED_STATES, SubscriberStore } from './subscriber-store.ts';
import type { Subscriptions } from './subscriptions.ts';

/** The types POST /admin/bounces takes (the feedback loop adds policy blocks and unsubscribes). */
export const BOUNCE_TYPES = ['hard', 'soft', 'complaint'] as const;
export type BounceType = (typeof BOUNCE_TYPES)[number];
/** Everything a report can say about a reader. */
export type ReportKind = BounceType | 'policy' | 'unsubscribe';

/** Soft bounces count towards SOFT_BOUNCE_LIMIT only inside this window: a full mailbox last year says nothing today. */
export const SOFT_BOUNCE_WINDOW_DAYS = 30;

/** Who changes a reader's state for a report, in their history. */
export const REPORTS_BY = 'bounce-report';

/** A report about one reader, as the subscriber rules need it. */
export interface ReaderReport {
  kind: ReportKind;
  /** One line for the history, e.g. "hard bounce reported by ses (5.1.1): 550 5.1.1 user unknown". */
  reason: string;
  at: Date;
}

export type ReaderOutcome =
  'suppressed' | 'unsubscribed' | 'counted' | 'noted' | 'already-suppressed' | 'not-subscribed';

export interface ReaderResult {
  outcome: ReaderOutcome;
  /** Soft bounces inside the window, this one included. */
  softBounces?: number;
}

export interface BounceReportDeps {
  store: SubscriberStore;
  subscriptions: Subscriptions;
  softBounceLimit: number;
}

/**
 * What a report (a refusal at send time, or one after delivery) does to the reader it is about: a
 * hard bounce or a complaint suppresses the address at once; soft bounces suppress it once
 * SOFT_BOUNCE_LIMIT of them fall within SOFT_BOUNCE_WINDOW_DAYS; an unsubscribe request
 * unsubscribes; a policy block (the receiver refused *us*) never touches the address. Whatever
 * changes no state is noted in the history, so the reader's record shows every report. Readers who
 * are not subscribed are left as they are.
 */
export class BounceReports {
  constructor(private readonly deps: BounceReportDeps) {}

  /** The same rules on one transaction's connection (the feedback loop keeps a report and applies it as one). */
  within(tx: Queryable): BounceReports {
    return new BounceReports({
      ...this.deps,
      store: new SubscriberStore(tx),
      subscriptions: this.deps.subscriptions.within(tx),
    });
  }

  async findIdByEmail(email: string): Promise<string | null> {
    const address = checkAddress(email);
    return address.ok ? this.deps.store.findIdByEmail(address.lookupKey) : null;
  }

  get(id: string): Promise<Subscriber | null> {
    return this.deps.store.get(id);
  }

  async apply(subscriber: Subscriber, report: ReaderReport): Promise<ReaderResult> {
    const result = await this.change(subscriber, report);
    // A report that changed nothing still belongs in the reader's history (a soft bounce notes itself).
    if (report.kind !== 'soft' && result.outcome !== 'suppressed' && result.outcome !== 'unsubscribed') {
      await this.deps.store.note(
        subscriber.id,
        `${report.reason} (${result.outcome === 'noted' ? 'address kept' : result.outcome})`,
        REPORTS_BY,
        report.at,
      );
    }
    return result;
  }

  private async change(subscriber: Subscriber, report: ReaderReport): Promise<ReaderResult> {
    if (report.kind === 'policy') return { outcome: 'noted' };
    if (SUPPRESSED_STATES.includes(subscriber.state)) return { outcome: 'already-suppressed' };
    if (subscriber.state !== 'confirmed' && subscriber.state !== 'pending') return { outcome: 'not-subscribed' };
    const { subscriptions } = this.deps;
    switch (report.kind) {
      case 'unsubscribe':
        return {
          outcome: (await subscriptions.leave(subscriber.id, report.reason, REPORTS_BY))
            ? 'unsubscribed'
            : 'not-subscribed',
        };
      case 'soft':
        return this.softBounce(subscriber, report);
      default: {
        const state = report.kind === 'hard' ? 'bounced' : 'complained';
        return {
          outcome: (await subscriptions.suppress(subscriber.id, state, report.reason, REPORTS_BY))
            ? 'suppressed'
            : 'already-suppressed',
        };
      }
    }
  }

  private async softBounce(subscriber: Subscriber, report: ReaderReport): Promise<ReaderResult> {
    const windowStart = new Date(report.at.getTime() - SOFT_BOUNCE_WINDOW_DAYS * 24 * 3600_000);
    const counted = await this.deps.store.recordSoftBounce(subscriber.id, report.at, windowStart, report.reason);
    const softBounces = counted?.count ?? 0;
    const { softBounceLimit, subscriptions } = this.deps;
    if (softBounceLimit === 0 || softBounces < softBounceLimit) return { outcome: 'counted', softBounces };
    const reason = `${softBounces} soft bounces in ${SOFT_BOUNCE_WINDOW_DAYS} days, the last ${report.reason}`;
    const suppressed = await subscriptions.suppress(subscriber.id, 'bounced', reason, REPORTS_BY);
    return { outcome: suppressed ? 'suppressed' : 'already-suppressed', softBounces };
  }
}
