import type { Queryable } from '../platform/database.ts';
import { loadQueries } from '../platform/sql.ts';
import type { FeedbackEvent, FeedbackKind, FeedbackSource } from './event.ts';

/** What a report did: to its reader, or why it did nothing. */
export type FeedbackOutcome =
  | 'suppressed'
  | 'unsubscribed'
  | 'counted'
  | 'noted'
  | 'already-suppressed'
  | 'not-subscribed'
  | 'unknown-address'
  /** Mail whose VERP token did not verify, or carried none: nobody is named (see FeedbackLoop). */
  | 'unverified'
  /** The token named a reader, the report another address. */
  | 'not-this-reader'
  /** Seen before (same source and event id): nothing changed. */
  | 'duplicate';

/** Readers an edition's reports were about, by kind and code (enhanced status, else SMTP code, else ''). */
export interface EditionFeedbackCount {
  kind: FeedbackKind;
  code: string;
  readers: number;
}

/** What came back about one edition, as admins see it. */
export interface EditionFeedback {
  /** Readers per kind: a reader counts once per kind, however many reports (and sources) said so. */
  readers: Record<FeedbackKind, number>;
  /** The same by code, largest first within each kind. */
  byCode: EditionFeedbackCount[];
  /** Complaining readers per message the SMTP server accepted; null before anything was sent. */
  complaintRate: number | null;
}

const FEEDBACK_KINDS: readonly FeedbackKind[] = ['hard', 'soft', 'complaint', 'policy', 'unsubscribe'];

export function summarizeFeedback(byCode: EditionFeedbackCount[], sent: number): EditionFeedback {
  const readers = Object.fromEntries(FEEDBACK_KINDS.map((kind) => [kind, 0])) as Record<FeedbackKind, number>;
  for (const count of byCode) readers[count.kind] += count.readers;
  return { readers, byCode, complaintRate: sent > 0 ? readers.complaint / sent : null };
}

/** One kept report, as admins see it in a reader's record. */
export interface KeptReport {
  source: FeedbackSource;
  kind: FeedbackKind;
  at: string;
  receivedAt: string;
  edition: string | null;
  status: string | null;
  smtpCode: number | null;
  diagnostic: string;
  outcome: FeedbackOutcome;
}

const SQL = loadQueries(new URL('./queries.sql', import.meta.url), [
  'record',
  'settle',
  'count-reader',
  'count-total',
  'edition-counts',
  'of-subscriber',
  'totals',
]);

/** The code a report is counted under: what admins group an edition's bounces by. */
export function codeOf(event: Pick<FeedbackEvent, 'status' | 'smtpCode'>): string {
  return event.status ?? (event.smtpCode === null ? '' : String(event.smtpCode));
}

/** Reports in PostgreSQL: each kept once, with per-edition reader counts kept as they are applied. */
export class FeedbackStore {
  constructor(private readonly db: Queryable) {}

  /** Keeps the report; null when it was kept before (a replay). */
  async record(event: FeedbackEvent, edition: string | null): Promise<string | null> {
    const params = [
      event.source,
      event.eventId,
      event.kind,
      event.at,
      edition,
      event.status,
      event.smtpCode,
      event.diagnostic,
    ];
    const [row] = (await this.db.query<{ id: string }>(SQL.record, params)).rows;
    return row ? String(row.id) : null;
  }

  async settle(id: string, outcome: FeedbackOutcome, subscriberId: string | null): Promise<void> {
    await this.db.query(SQL.settle, [id, outcome, subscriberId]);
  }

  /** Counts the reader against the edition; true when this was their first report of the kind for it. */
  async countReader(edition: string, kind: FeedbackKind, subscriberId: string, code: string): Promise<boolean> {
    return ((await this.db.query(SQL['count-reader'], [edition, kind, subscriberId, code])).rowCount ?? 0) > 0;
  }

  async countTotal(source: FeedbackSource, kind: FeedbackKind, outcome: FeedbackOutcome): Promise<void> {
    await this.db.query(SQL['count-total'], [source, kind, outcome]);
  }

  async editionCounts(edition: string): Promise<EditionFeedbackCount[]> {
    const { rows } = await this.db.query<{ kind: FeedbackKind; code: string; count: number }>(SQL['edition-counts'], [
      edition,
    ]);
    return rows.map((row) => ({ kind: row.kind, code: row.code, readers: Number(row.count) }));
  }

  /** A reader's reports, newest first. */
  async ofSubscriber(subscriberId: string, limit = 100): Promise<KeptReport[]> {
    if (!/^[1-9]\d{0,17}$/.test(subscriberId)) return [];
    const { rows } = await this.db.query<{
      source: FeedbackSource;
      kind: FeedbackKind;
      at: Date;
      received_at: Date;
      edition_id: string | null;
      status: string | null;
      smtp_code: number | null;
      diagnostic: string;
      outcome: FeedbackOutcome;
    }>(SQL['of-subscriber'], [subscriberId, limit]);
    return rows.map((row) => ({
      source: row.source,
      kind: row.kind,
      at: row.at.toISOString(),
      receivedAt: row.received_at.toISOString(),
      edition: row.edition_id,
      status: row.status,
      smtpCode: row.smtp_code,
      diagnostic: row.diagnostic,
      outcome: row.outcome,
    }));
  }

  async totals(): Promise<Array<{ source: string; kind: string; outcome: string; count: number }>> {
    const { rows } = await this.db.query<{ source: string; kind: string; outcome: string; count: string }>(SQL.totals);
    return rows.map((row) => ({ ...row, count: Number(row.count) }));
  }
}
