import type { Queryable } from '../platform/database.ts';
import type { Logger } from '../platform/logger.ts';
import { loadQueries } from '../platform/sql.ts';

/**
 * What the desk is told about, per edition: held (too few articles), awaiting approval, stale (past
 * its freshness: send late or skip), approval deadline passed, skipped, could not be composed, not
 * fully delivered in time, delivery records missing in Redis; and, from the feedback loop, a
 * complaint rate over the threshold and a block by a mailbox provider's policy.
 */
export const ALERT_KINDS = [
  'held',
  'awaiting-approval',
  'stale',
  'approval-deadline',
  'skipped',
  'compose-failed',
  'delivery-late',
  'records-missing',
  'complaint-rate',
  'policy-block',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface AlertNotice {
  edition: string;
  kind: AlertKind;
  event: 'raised' | 'resolved';
  /** One line for people, e.g. "Edition 2026-11-29 is held: 0 of 1 articles". */
  text: string;
}

export interface Alert {
  kind: AlertKind;
  /** What within the edition it is about (a policy block: the destination); null when about the whole edition. */
  about: string | null;
  raisedAt: string;
  text: string;
  resolvedAt: string | null;
  resolvedText: string | null;
}

/** Sends a notice to the desk (a webhook, an email): queued, and retried while the receiver is down. */
export type AlertNotifier = (notice: AlertNotice) => Promise<void>;

const SQL = loadQueries(new URL('./alerts.sql', import.meta.url), ['raise', 'resolve', 'of-edition', 'counts']);

/**
 * One alert per condition and edition (a policy block: per destination too), however often the
 * scheduler finds it (no storm), and one "resolved" notice when it clears. PostgreSQL keeps which
 * were raised, so that every scheduler on every machine agrees.
 */
export class Alerts {
  constructor(private readonly deps: { db: Queryable; notify: AlertNotifier; logger: Logger }) {}

  /** Raises the alert unless it was raised before for this edition; answers whether this call raised it. */
  raise(edition: string, kind: AlertKind, text: string, at = new Date()): Promise<boolean> {
    return this.raiseAbout(edition, kind, '', text, at);
  }

  /** As `raise`, once per edition, kind and `about`: one part of the edition, e.g. the destination a policy block came from. */
  async raiseAbout(edition: string, kind: AlertKind, about: string, text: string, at = new Date()): Promise<boolean> {
    const raised = ((await this.deps.db.query(SQL.raise, [edition, kind, about, at, text])).rowCount ?? 0) > 0;
    if (raised) await this.tell({ edition, kind, event: 'raised', text });
    return raised;
  }

  /** Clears the open alerts of these kinds, with one "resolved" notice each. */
  async resolve(edition: string, kinds: readonly AlertKind[], text: string, at = new Date()): Promise<void> {
    const { rows } = await this.deps.db.query<{ kind: AlertKind; text: string }>(SQL.resolve, [
      edition,
      kinds,
      at,
      text,
    ]);
    for (const row of rows)
      await this.tell({ edition, kind: row.kind, event: 'resolved', text: `Resolved: ${text} (was: ${row.text})` });
  }

  async ofEdition(edition: string): Promise<Alert[]> {
    const { rows } = await this.deps.db.query<{
      kind: AlertKind;
      about: string;
      raised_at: Date;
      text: string;
      resolved_at: Date | null;
      resolved_text: string | null;
    }>(SQL['of-edition'], [edition]);
    return rows.map((row) => ({
      kind: row.kind,
      about: row.about || null,
      raisedAt: row.raised_at.toISOString(),
      text: row.text,
      resolvedAt: row.resolved_at?.toISOString() ?? null,
      resolvedText: row.resolved_text,
    }));
  }

  /** Alerts raised and resolved so far, by kind (for /metrics). */
  async counts(): Promise<Array<{ kind: string; raised: number; resolved: number }>> {
    const { rows } = await this.deps.db.query<{ kind: string; raised: string; resolved: string }>(SQL.counts);
    return rows.map((row) => ({ kind: row.kind, raised: Number(row.raised), resolved: Number(row.resolved) }));
  }

  private async tell(notice: AlertNotice): Promise<void> {
    this.deps.logger.warn({ edition: notice.edition, alert: notice.kind, event: notice.event }, notice.text);
    await this.deps.notify(notice);
  }
}
