import { randomUUID } from 'node:crypto';
import { destinationIfAny } from '../delivery/pacing/destinations.ts';
import type { Alerts } from '../editions/alerts.ts';
import type { Database } from '../platform/database.ts';
import type { Logger } from '../platform/logger.ts';
import { bounceReports } from '../platform/metrics.ts';
import type { BounceReports, BounceType } from '../subscribers/bounce-reports.ts';
import { readSmtpCode, readStatus } from './classify.ts';
import type { FeedbackEvent, FeedbackKind, FeedbackSource } from './event.ts';
import { codeOf, type FeedbackOutcome, FeedbackStore } from './feedback-store.ts';
import { readVerpToken, type VerpClaims } from './verp.ts';

/**
 * How far a report's channel vouches for the reader it names.
 * - `sender`: a relay's authenticated webhook, an admin, or our own SMTP client refused while sending:
 *   the reported address is the reader (a VERP token in the report, when it verifies, names them instead).
 * - `token`: mail to our bounce domain, which anyone on the internet can send: only a verified VERP
 *   token names a reader (`claims`, from readInboundMail), so a forged DSN cannot suppress anyone.
 */
export type Voucher = { by: 'sender' } | { by: 'token'; claims: VerpClaims | null };

/** Reports waiting on the transactional queue (`feedback` jobs), their dates as text as JSON keeps them. */
export interface FeedbackJob {
  events: Array<Omit<FeedbackEvent, 'at'> & { at: string }>;
  voucher: Voucher;
}

export function feedbackJob(events: readonly FeedbackEvent[], voucher: Voucher): FeedbackJob {
  return { events: events.map((event) => ({ ...event, at: event.at.toISOString() })), voucher };
}

export interface AppliedReport {
  outcome: FeedbackOutcome;
  /** The reader's address as stored, else as reported. */
  email: string | null;
  edition: string | null;
  softBounces?: number;
  /** This report was the reader's first of its kind about the edition (it counted in the edition's figures). */
  counted?: boolean;
}

/** A report sent to POST /admin/bounces (checked by the route). */
export interface AdminReport {
  email: string;
  type: BounceType;
  reason: string;
  at: Date;
}

export interface FeedbackLoopDeps {
  db: Pick<Database, 'query' | 'transaction'>;
  /** What a report does to a reader (src/subscribers/bounce-reports.ts). */
  reports: BounceReports;
  alerts: Pick<Alerts, 'raise' | 'raiseAbout'>;
  /** Messages of the edition the SMTP server accepted: the complaint rate's denominator. */
  sentCount(edition: string): Promise<number>;
  /** The edition a policy block is told under when its message was not an edition (a confirmation). */
  latestEdition(): Promise<string | null>;
  /** The edition one of our Message-IDs belongs to (relays that give back only that, e.g. SendGrid). */
  editionOfMessageId(messageId: string): string | null;
  /** BOUNCE_ADDRESS and the secret its VERP tokens are signed with; null without BOUNCE_ADDRESS. */
  verp: { secret: string; bounceAddress: string } | null;
  /** COMPLAINT_RATE_ALERT: complaining readers per message sent above which the desk is alerted. */
  complaintRateAlert: number;
  logger: Logger;
}

interface Target {
  subscriberId: string | null;
  edition: string | null;
  /** Why nobody can be named (set with subscriberId null). */
  refusal: FeedbackOutcome | null;
}

const LABELS: Record<FeedbackKind, string> = {
  hard: 'hard bounce',
  soft: 'soft bounce',
  complaint: 'complaint',
  policy: 'policy block',
  unsubscribe: 'unsubscribe request',
};

/** How a report reached us, for people: "reported by ses", or "at send time" for a refusal met while sending. */
const toldBy = (source: FeedbackSource) => (source === 'smtp' ? 'at send time' : `reported by ${source}`);

/** The reason in the reader's history, e.g. "hard bounce reported by ses (5.1.1) for edition 2026-11-24: 550 5.1.1 user unknown". */
function describe(event: FeedbackEvent, edition: string | null): string {
  if (event.kind === 'unsubscribe')
    return `unsubscribed (${event.source === 'mailto' ? 'by mail to the List-Unsubscribe address' : toldBy(event.source)}${edition ? `, edition ${edition}` : ''})`;
  if (event.source === 'admin')
    return `${LABELS[event.kind]} reported${event.diagnostic ? `: ${event.diagnostic}` : ''}`;
  const code = codeOf(event);
  return `${LABELS[event.kind]} ${toldBy(event.source)}${code ? ` (${code})` : ''}${edition ? ` for edition ${edition}` : ''}${event.diagnostic ? `: ${event.diagnostic}` : ''}`;
}

const sameAddress = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** Outcomes of a report that was applied to none of our readers. */
const NO_READER: readonly FeedbackOutcome[] = ['unknown-address', 'not-this-reader', 'unverified', 'duplicate'];

const percent = (rate: number) => `${(rate * 100).toFixed(2).replace(/\.?0+$/, '')} %`;

/**
 * The one path every report takes, whatever brought it (a relay's webhook, a DSN or ARF report by
 * mail, mail to the unsubscribe address, POST /admin/bounces, a server's refusal while we sent):
 * find the reader it is about, keep the report and apply it in one transaction — the report's
 * unique (source, event id) makes a replay wait for the first to commit and then change nothing —
 * count it against its edition once per reader and kind, and tell the desk about policy blocks and
 * a complaint rate over the threshold.
 */
export class FeedbackLoop {
  constructor(private readonly deps: FeedbackLoopDeps) {}

  async apply(event: FeedbackEvent, voucher: Voucher): Promise<AppliedReport> {
    const target = await this.target(event, voucher);
    const applied = await this.deps.db.transaction((tx) =>
      this.applyOnce(new FeedbackStore(tx), this.deps.reports.within(tx), event, target),
    );
    await new FeedbackStore(this.deps.db).countTotal(event.source, event.kind, applied.outcome);
    bounceReports.inc({ type: event.kind, outcome: applied.outcome });
    this.deps.logger.info(
      {
        source: event.source,
        kind: event.kind,
        eventId: event.eventId,
        edition: target.edition,
        subscriber: target.subscriberId,
        status: event.status,
        outcome: applied.outcome,
      },
      'feedback report',
    );
    if (applied.outcome !== 'duplicate' && target.refusal !== 'unverified') await this.tellTheDesk(event, applied);
    return applied;
  }

  /** A `feedback` job: each report applied once (a retried job finds those it applied already as duplicates). */
  async applyQueued(job: FeedbackJob): Promise<FeedbackOutcome[]> {
    const outcomes: FeedbackOutcome[] = [];
    for (const event of job.events)
      outcomes.push((await this.apply({ ...event, at: new Date(event.at) }, job.voucher)).outcome);
    return outcomes;
  }

  /** POST /admin/bounces: the service's own JSON, applied like any other report (each one counts: it has no id of its own). */
  async report(report: AdminReport): Promise<AppliedReport & { type: BounceType }> {
    const event: FeedbackEvent = {
      source: 'admin',
      eventId: randomUUID(),
      kind: report.type,
      email: report.email,
      status: readStatus(report.reason),
      smtpCode: readSmtpCode(report.reason),
      diagnostic: report.reason,
      at: report.at,
      edition: null,
      messageId: null,
      verpToken: null,
    };
    return { ...(await this.apply(event, { by: 'sender' })), type: report.type };
  }

  private async target(event: FeedbackEvent, voucher: Voucher): Promise<Target> {
    const claims = voucher.by === 'token' ? voucher.claims : this.verifiedToken(event);
    if (voucher.by === 'token' && !claims) return { subscriberId: null, edition: null, refusal: 'unverified' };
    const edition =
      (claims?.edition || null) ??
      event.edition ??
      (event.messageId ? this.deps.editionOfMessageId(event.messageId) : null);
    const subscriberId = claims
      ? claims.recipientId
      : event.email
        ? await this.deps.reports.findIdByEmail(event.email)
        : null;
    return { subscriberId, edition, refusal: subscriberId ? null : 'unknown-address' };
  }

  /** A relay's report may carry our VERP token (SES gives back the envelope sender): when it verifies, it names the reader. */
  private verifiedToken(event: FeedbackEvent): VerpClaims | null {
    const { verp } = this.deps;
    return verp && event.verpToken ? readVerpToken('bounce', event.verpToken, verp.secret, verp.bounceAddress) : null;
  }

  private async applyOnce(
    store: FeedbackStore,
    reports: BounceReports,
    event: FeedbackEvent,
    target: Target,
  ): Promise<AppliedReport> {
    const id = await store.record(event, target.edition);
    if (!id) return { outcome: 'duplicate', email: event.email, edition: target.edition };
    const subscriber = target.subscriberId ? await reports.get(target.subscriberId) : null;
    if (!subscriber || (event.email && !sameAddress(subscriber.email, event.email))) {
      const outcome = target.refusal ?? (subscriber ? 'not-this-reader' : 'unknown-address');
      await store.settle(id, outcome, null);
      return { outcome, email: event.email, edition: target.edition };
    }
    const result = await reports.apply(subscriber, {
      kind: event.kind,
      reason: describe(event, target.edition),
      at: event.at,
    });
    await store.settle(id, result.outcome, subscriber.id);
    const counted = target.edition
      ? await store.countReader(target.edition, event.kind, subscriber.id, codeOf(event))
      : false;
    return { ...result, email: subscriber.email, edition: target.edition, counted };
  }

  /**
   * Policy blocks are about our sending and need a person: told once per edition and destination of
   * the reader refused (a provider that refuses us refuses all its readers, and one notice says so).
   * A report about none of our readers is told once per edition, whatever domain it names, so that
   * made-up addresses cannot make one notice each. So is a complaint rate over COMPLAINT_RATE_ALERT.
   */
  private async tellTheDesk(event: FeedbackEvent, applied: AppliedReport): Promise<void> {
    if (event.kind === 'policy') {
      const edition = applied.edition ?? (await this.deps.latestEdition());
      if (!edition) return;
      const code = codeOf(event);
      const destination =
        applied.email && !NO_READER.includes(applied.outcome) ? destinationIfAny(applied.email) : null;
      await this.deps.alerts.raiseAbout(
        edition,
        'policy-block',
        destination ?? '',
        `Edition ${edition}: ${destination ?? 'a receiving server'} refused our mail for policy${code ? ` (${code})` : ''}, ${toldBy(event.source)}: ${event.diagnostic || 'no details'}. Readers are not suppressed for it; check SPF, DKIM, DMARC and the sending reputation.`,
      );
    }
    if (event.kind === 'complaint' && applied.counted && applied.edition)
      await this.checkComplaintRate(applied.edition);
  }

  private async checkComplaintRate(edition: string): Promise<void> {
    const [counts, sent] = await Promise.all([
      new FeedbackStore(this.deps.db).editionCounts(edition),
      this.deps.sentCount(edition),
    ]);
    const complaints = counts
      .filter((count) => count.kind === 'complaint')
      .reduce((sum, count) => sum + count.readers, 0);
    if (sent === 0 || complaints / sent <= this.deps.complaintRateAlert) return;
    await this.deps.alerts.raise(
      edition,
      'complaint-rate',
      `Edition ${edition}: ${complaints} of ${sent} readers marked it as spam (${percent(complaints / sent)}), above COMPLAINT_RATE_ALERT (${percent(this.deps.complaintRateAlert)}); Gmail asks bulk senders to stay under 0.3 %.`,
    );
  }
}
