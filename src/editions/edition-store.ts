import type { Queryable, Row } from '../platform/database.ts';
import type { PersonalizedText } from '../platform/personal-fields.ts';
import { loadQueries } from '../platform/sql.ts';

/** `failed`: the edition could not be composed into email; it is never sent (see `error`). */
export type EditionStatus = 'empty' | 'ready' | 'sending' | 'failed';

export interface Edition {
  id: string;
  status: EditionStatus;
  cutoff: Date;
  windowStart: Date;
  subject: string;
  preheader: string;
  articleKeys: string[];
  /** Rendered once, with the positions of the per-reader values (see personal-fields.ts). */
  html: PersonalizedText;
  text: PersonalizedText;
  /** Tracked article links (TRACKING), by their index in `/t/<edition>/<index>/...`. */
  links: string[];
  createdAt: Date;
  createdBy: string;
  /** When the per-recipient delivery records were removed (LEDGER_RETENTION_DAYS); null while kept. */
  recordsRemovedAt: Date | null;
  /** Why a `failed` edition could not be composed. */
  error?: string;
}

/** What lists of editions show: no rendered bodies. */
export type EditionSummary = Pick<Edition, 'id' | 'status' | 'subject' | 'cutoff'>;

/** An explicit resend of an edition: its run (`r1`, `r2`, …), who asked, to whom. */
export interface ResendRecord {
  run: string;
  scope: 'email' | 'failed' | 'all';
  email?: string;
  by: string;
  at: string;
  recipients: number;
}

const SQL = loadQueries(new URL('./queries.sql', import.meta.url), [
  'create-if-absent',
  'get',
  'set-status',
  'latest-cutoff-before',
  'draft',
  'set-draft',
  'clear-draft',
  'list',
  'summaries',
  'with-records-cut-before',
  'links',
  'mark-records-removed',
  'add-resend',
  'set-resend-recipients',
  'resends',
]);

/** Every click reads an edition's links; they never change once it is stored, so a process keeps the latest few. */
const LINKS_CACHED = 16;

/** Editions in PostgreSQL: content rendered once, status, and the resends made of them. */
export class EditionStore {
  private readonly linksCache = new Map<string, string[]>();

  constructor(private readonly db: Queryable) {}

  /** Stores the edition unless one with its id exists: with two schedulers, exactly one wins. */
  async createIfAbsent(edition: Edition): Promise<boolean> {
    const result = await this.db.query(SQL['create-if-absent'], [
      edition.id,
      edition.status,
      edition.cutoff,
      edition.windowStart,
      edition.subject,
      edition.preheader,
      JSON.stringify(edition.articleKeys),
      JSON.stringify(edition.html),
      JSON.stringify(edition.text),
      JSON.stringify(edition.links),
      edition.error ?? null,
      edition.createdAt,
      edition.createdBy,
    ]);
    return (result.rowCount ?? 0) === 1;
  }

  async get(id: string): Promise<Edition | null> {
    const [row] = (await this.db.query(SQL.get, [id])).rows;
    return row ? toEdition(row) : null;
  }

  async markSending(id: string): Promise<void> {
    await this.db.query(SQL['set-status'], [id, 'sending']);
  }

  /** The cut-off of the latest edition before `before`: where the next window starts. */
  async latestCutoffBefore(before: Date): Promise<Date | null> {
    const [row] = (await this.db.query<{ cutoff: Date | null }>(SQL['latest-cutoff-before'], [before])).rows;
    return row?.cutoff ?? null;
  }

  /** Editors' subject and preheader for the next edition (empty: generated from the articles). */
  async draft(): Promise<{ subject: string; preheader: string }> {
    const [row] = (await this.db.query<{ subject: string; preheader: string }>(SQL.draft)).rows;
    return { subject: row?.subject ?? '', preheader: row?.preheader ?? '' };
  }

  async setDraft(draft: { subject: string; preheader: string }): Promise<void> {
    await this.db.query(SQL['set-draft'], [draft.subject, draft.preheader]);
  }

  async clearDraft(): Promise<void> {
    await this.db.query(SQL['clear-draft']);
  }

  /** Ids, newest first. */
  async list(limit = 50): Promise<string[]> {
    return (await this.db.query<{ id: string }>(SQL.list, [limit])).rows.map((row) => row.id);
  }

  /** Subject, status and cut-off of each edition, in the order given, without reading the rendered bodies. */
  async summaries(ids: string[]): Promise<EditionSummary[]> {
    const { rows } = await this.db.query<{ id: string; status: EditionStatus; subject: string; cutoff: Date }>(SQL.summaries, [ids]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Editions cut before `before` whose per-recipient delivery records are still kept, oldest first. */
  async withRecordsCutBefore(before: Date): Promise<string[]> {
    return (await this.db.query<{ id: string }>(SQL['with-records-cut-before'], [before])).rows.map((row) => row.id);
  }

  /** An edition's tracked links, without reading the rest of it (every click reads them). */
  async links(id: string): Promise<string[] | null> {
    const cached = this.linksCache.get(id);
    if (cached) return cached;
    const [row] = (await this.db.query<{ links: string[] }>(SQL.links, [id])).rows;
    if (!row) return null;
    if (this.linksCache.size >= LINKS_CACHED) this.linksCache.delete(this.linksCache.keys().next().value ?? '');
    this.linksCache.set(id, row.links);
    return row.links;
  }

  async markRecordsRemoved(id: string, at: Date): Promise<void> {
    await this.db.query(SQL['mark-records-removed'], [id, at]);
  }

  /** Records a resend and gives it the edition's next run name (`r1`, `r2`, …). */
  async addResend(id: string, resend: Omit<ResendRecord, 'run' | 'recipients'>): Promise<string> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const [row] = (await this.db.query<{ number: number }>(SQL['add-resend'], [id, resend.scope, resend.email ?? null, resend.by, resend.at])).rows;
        return `r${row?.number ?? 0}`;
      } catch (error) {
        // Two resends asked at the same moment took the same number: the later one takes the next.
        if (attempt >= 5 || (error as { code?: string }).code !== '23505') throw error;
      }
    }
  }

  async setResendRecipients(id: string, run: string, recipients: number): Promise<void> {
    await this.db.query(SQL['set-resend-recipients'], [id, Number(run.slice(1)), recipients]);
  }

  async resends(id: string): Promise<ResendRecord[]> {
    const { rows } = await this.db.query<{ number: number; scope: ResendRecord['scope']; email: string | null; by: string; at: Date; recipients: number }>(SQL.resends, [id]);
    return rows.map((row) => ({ run: `r${row.number}`, scope: row.scope, ...(row.email ? { email: row.email } : {}), by: row.by, at: row.at.toISOString(), recipients: row.recipients }));
  }
}

function toEdition(row: Row): Edition {
  return {
    id: String(row.id),
    status: row.status as EditionStatus,
    cutoff: row.cutoff as Date,
    windowStart: row.window_start as Date,
    subject: String(row.subject),
    preheader: String(row.preheader),
    articleKeys: row.article_keys as string[],
    html: row.html as PersonalizedText,
    text: row.text as PersonalizedText,
    links: row.links as string[],
    createdAt: row.created_at as Date,
    createdBy: String(row.created_by),
    recordsRemovedAt: (row.records_removed_at as Date | null) ?? null,
    ...(row.error ? { error: String(row.error) } : {}),
  };
}
