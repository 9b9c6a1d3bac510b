import { bounceReports } from '../platform/metrics.ts';
import { checkAddress } from './address.ts';
import { SUPPRESSED_STATES, type SubscriberStore } from './subscriber-store.ts';
import type { Subscriptions } from './subscriptions.ts';

export const BOUNCE_TYPES = ['hard', 'soft', 'complaint'] as const;
export type BounceType = (typeof BOUNCE_TYPES)[number];

/** Soft bounces count towards SOFT_BOUNCE_LIMIT only inside this window: a full mailbox last year says nothing today. */
export const SOFT_BOUNCE_WINDOW_DAYS = 30;

/**
 * A bounce or complaint that arrived after the SMTP server accepted the message: a relay's bounce
 * webhook, a DSN read from the bounce mailbox, a feedback-loop complaint.
 */
export interface BounceReport {
  email: string;
  type: BounceType;
  reason: string;
  at: Date;
}

export type BounceOutcome = 'suppressed' | 'counted' | 'already-suppressed' | 'not-subscribed' | 'unknown-address';

export interface BounceResult {
  email: string;
  type: BounceType;
  outcome: BounceOutcome;
  /** Soft bounces inside the window, this one included. */
  softBounces?: number;
}

/**
 * Bounces and complaints reported after delivery: a hard bounce or a complaint suppresses the
 * address at once; soft bounces suppress it once SOFT_BOUNCE_LIMIT of them fall within
 * SOFT_BOUNCE_WINDOW_DAYS. Addresses that are not subscribed are left as they are.
 */
export class BounceReports {
  constructor(
    private readonly store: SubscriberStore,
    private readonly subscriptions: Subscriptions,
    private readonly softBounceLimit: number,
  ) {}

  async record(report: BounceReport): Promise<BounceResult> {
    const result = await this.apply(report);
    bounceReports.inc({ type: report.type, outcome: result.outcome });
    return result;
  }

  private async apply(report: BounceReport): Promise<BounceResult> {
    const { type } = report;
    const address = checkAddress(report.email);
    const id = address.ok ? await this.store.findIdByEmail(address.lookupKey) : null;
    const subscriber = id ? await this.store.get(id) : null;
    const email = subscriber?.email ?? report.email;
    if (!subscriber) return { email, type, outcome: 'unknown-address' };
    if (SUPPRESSED_STATES.includes(subscriber.state)) return { email, type, outcome: 'already-suppressed' };
    if (subscriber.state !== 'confirmed' && subscriber.state !== 'pending') return { email, type, outcome: 'not-subscribed' };

    const reason = `${type === 'complaint' ? 'complaint' : `${type} bounce`} reported${report.reason ? `: ${report.reason}` : ''}`;
    if (type === 'soft') {
      const windowStart = new Date(report.at.getTime() - SOFT_BOUNCE_WINDOW_DAYS * 24 * 3600_000);
      const counted = await this.store.recordSoftBounce(subscriber.id, report.at, windowStart, reason);
      const softBounces = counted?.count ?? 0;
      if (this.softBounceLimit === 0 || softBounces < this.softBounceLimit) return { email, type, outcome: 'counted', softBounces };
      const suppressed = await this.subscriptions.suppress(subscriber.id, 'bounced', `${softBounces} soft bounces in ${SOFT_BOUNCE_WINDOW_DAYS} days, the last ${reason}`, 'bounce-report');
      return { email, type, outcome: suppressed ? 'suppressed' : 'already-suppressed', softBounces };
    }
    const suppressed = await this.subscriptions.suppress(subscriber.id, type === 'hard' ? 'bounced' : 'complained', reason, 'bounce-report');
    return { email, type, outcome: suppressed ? 'suppressed' : 'already-suppressed' };
  }
}
