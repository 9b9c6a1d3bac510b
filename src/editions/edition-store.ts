import { typedText } from '../articles/article.ts';
import type { Database, Queryable, Row } from '../platform/database.ts';
import type { PersonalizedText } from '../platform/personal-fields.ts';
import { loadQueries } from '../platform/sql.ts';

/**
 * An edition's day (see README "The day of an edition"): `open` is not cut yet (stored only once an
 * editor acted on it ahead of its cut-off, skipped and reopened it), `held` waits (for articles, an editor's
 * approval, or a decision once it is no longer fresh), `approved` goes out at its cut-off, `ready`
 * has its content fixed and is about to be delivered, `sending` is being delivered, `sent` was
 * delivered to everyone; `skipped` was not sent (by whom and why is in its events); `failed` could
 * not be composed into email.
 */
export const EDITION_STATUSES = ['open', 'held', 'approved', 'ready', 'sending', 'sent', 'skipped', 'failed'] as const;
export type EditionStatus = (typeof EDITION_STATUSES)[number];
export type HoldReason = 'too-few-articles' | 'awaiting-approval' | 'stale';
/** Content fixed: the edition is (being) delivered, it can be resent and read in the archive. */
export const SENT_STATUSES: readonly EditionStatus[] = ['sending', 'sent'];

export interface Edition {
  id: string;
  status: EditionStatus;
  holdReason: HoldReason | null;
  cutoff: Date;
  windowStart: Date;
  subject: string;
  preheader: string;
  articleKeys: string[];
  /** Rendered once when the content is fixed, with the positions of the per-reader values (see personal-fields.ts). */
  html: PersonalizedText;
  /** The browser version (`/editions/:id`): every article, where the email may have left the last ones out to stay light. */
  web: PersonalizedText;
  text: PersonalizedText;
  /** Tracked article links (TRACKING), by their index in `/t/<edition>/<index>/...`. */
  links: string[];
  createdAt: Date;
  createdBy: string;
  sendingAt: Date | null;
  sentAt: Date | null;
  /** When the per-recipient delivery records were removed (LEDGER_RETENTION_DAYS); null while kept. */
  recordsRemovedAt: Date | null;
  /** What a `skipped` edition was before the skip, which reopening restores (absent for skips recorded before it was kept). */
  skippedFrom?: { status: EditionStatus; holdReason: HoldReason | null };
  /** Why a `failed` edition could not be composed. */
  error?: string;
}

/** What is fixed when an edition is sent; its `cutoff` is the moment it was sent when that was before its own (cut early). */
export type EditionContent = Pick<
  Edition,
  'cutoff' | 'windowStart' | 'subject' | 'preheader' | 'articleKeys' | 'html' | 'web' | 'text' | 'links'
>;

/** One thing that happened to an edition: who (an editor, `scheduler`, `api`), what, from which status to which. */
export interface EditionEvent {
  at: string;
  by: string;
  action: string;
  from: EditionStatus | null;
  to: EditionStatus;
  note: string;
}

export interface EventInput {
  by: string;
  action: string;
  note?: string;
  at?: Date;
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

export type TransitionOutcome = { ok: true; from: EditionStatus } | { ok: false; current: EditionStatus | null };

const EMPTY_BODY: PersonalizedText = { parts: [''], fields: [] };

const SQL = loadQueries(new URL('./queries.sql', import.meta.url), [
  'create-if-absent',
  'get',
  'lock',
  'transition',
  'fix-content',
  'claim-articles',
  'add-event',
  'events',
  'unfinished',
  'previous-sent',
  'earliest-window-start',
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

/** Every click reads an edition's links; they never change once it is sent, so a process keeps the latest few. */
const LINKS_CACHED = 16;
/** The longest subject or preheader an editor may set, in characters (the console's field takes as many). */
const DRAFT_MAX = 200;

/** Editions in PostgreSQL: their status and events, content rendered once, and the resends made of them. */
export class EditionStore {
  private readonly linksCache = new Map<string, string[]>();

  constructor(private readonly db: Database) {}

  /** Stores a new edition (with its first event) unless one with its id exists: of two schedulers, exactly one wins. */
  async createIfAbsent(
    edition: Pick<Edition, 'id' | 'status' | 'holdReason' | 'cutoff' | 'windowStart' | 'createdAt' | 'createdBy'> & {
      error?: string;
    },
    event: { action: string; note?: string },
  ): Promise<boolean> {
    const result = await this.db.query(SQL['create-if-absent'], [
      edition.id,
      edition.status,
      edition.holdReason,
      edition.cutoff,
      edition.windowStart,
      '',
      '',
      '[]',
      JSON.stringify(EMPTY_BODY),
      JSON.stringify(EMPTY_BODY),
      '[]',
      edition.error ?? null,
      edition.createdAt,
      edition.createdBy,
      event.action,
      event.note ?? '',
    ]);
    return (result.rowCount ?? 0) === 1;
  }

  async get(id: string): Promise<Edition | null> {
    const [row] = (await this.db.query(SQL.get, [id])).rows;
    return row ? toEdition(row) : null;
  }

  /** Moves the edition from one of `from` to `to`, recording who and why; of two processes trying at once, one wins. */
  async transition(
    id: string,
    from: readonly EditionStatus[],
    to: EditionStatus,
    event: EventInput,
    fields: { holdReason?: HoldReason; error?: string } = {},
  ): Promise<TransitionOutcome> {
    const [row] = (
      await this.db.query<{ from_status: EditionStatus | null; current_status: EditionStatus | null }>(SQL.transition, [
        id,
        from,
        to,
        fields.holdReason ?? null,
        fields.error ?? null,
        event.at ?? new Date(),
        event.by,
        event.action,
        event.note ?? '',
      ])
    ).rows;
    return row?.from_status ? { ok: true, from: row.from_status } : { ok: false, current: row?.current_status ?? null };
  }

  /**
   * Fixes the content of an edition that is in one of `from` and makes it `ready`, and gives it the
   * articles of its window, in one transaction: an article belongs to one edition at most.
   */
  async fixContent(
    id: string,
    from: readonly EditionStatus[],
    content: EditionContent,
    windowArticles: string[],
    event: EventInput,
  ): Promise<TransitionOutcome> {
    return this.db.transaction(async (tx) => {
      const current = (await tx.query<{ status: EditionStatus }>(SQL.lock, [id])).rows[0]?.status ?? null;
      if (!current || !from.includes(current)) return { ok: false, current };
      await tx.query(SQL['fix-content'], [
        id,
        content.windowStart,
        content.subject,
        content.preheader,
        JSON.stringify(content.articleKeys),
        JSON.stringify(content.html),
        JSON.stringify(content.text),
        JSON.stringify(content.links),
        content.cutoff,
        JSON.stringify(content.web),
      ]);
      await tx.query(SQL['claim-articles'], [id, windowArticles]);
      await addEvent(tx, id, current, 'ready', event);
      return { ok: true, from: current };
    });
  }

  async events(id: string): Promise<EditionEvent[]> {
    const { rows } = await this.db.query<{
      at: Date;
      by: string;
      action: string;
      from_status: EditionStatus | null;
      to_status: EditionStatus;
      note: string;
    }>(SQL.events, [id]);
    return rows.map((row) => ({
      at: row.at.toISOString(),
      by: row.by,
      action: row.action,
      from: row.from_status,
      to: row.to_status,
      note: row.note,
    }));
  }

  /** Editions not done yet (open, held, approved, ready, sending), oldest cut-off first. */
  async unfinished(): Promise<Edition[]> {
    return (await this.db.query(SQL.unfinished)).rows.map(toEdition);
  }

  /** The latest edition before `before` whose content was fixed: the next window starts at its cut-off. */
  async previousSent(before: Date): Promise<{ cutoff: Date; windowStart: Date } | null> {
    const [row] = (await this.db.query<{ cutoff: Date; window_start: Date }>(SQL['previous-sent'], [before])).rows;
    return row ? { cutoff: row.cutoff, windowStart: row.window_start } : null;
  }

  /** Where the first window starts when no edition was sent yet: the earliest edition's, or null if there is none. */
  async earliestWindowStart(before: Date): Promise<Date | null> {
    const [row] = (await this.db.query<{ start: Date | null }>(SQL['earliest-window-start'], [before])).rows;
    return row?.start ?? null;
  }

  /** Editors' subject and preheader for the next edition (empty: generated from the articles). */
  async draft(): Promise<{ subject: string; preheader: string }> {
    const [row] = (await this.db.query<{ subject: string; preheader: string }>(SQL.draft)).rows;
    return { subject: row?.subject ?? '', preheader: row?.preheader ?? '' };
  }

  /** Each as one line of text as an editor typed it (a NUL byte, which PostgreSQL refuses, or a line break becomes a space). */
  async setDraft(draft: { subject: string; preheader: string }): Promise<void> {
    await this.db.query(SQL['set-draft'], [typedText(draft.subject, DRAFT_MAX), typedText(draft.preheader, DRAFT_MAX)]);
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
    const { rows } = await this.db.query<{ id: string; status: EditionStatus; subject: string; cutoff: Date }>(
      SQL.summaries,
      [ids],
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Sent editions cut before `before` whose per-recipient delivery records are still kept, oldest first. */
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
        const [row] = (
          await this.db.query<{ number: number }>(SQL['add-resend'], [
            id,
            resend.scope,
            resend.email ?? null,
            resend.by,
            resend.at,
          ])
        ).rows;
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
    const { rows } = await this.db.query<{
      number: number;
      scope: ResendRecord['scope'];
      email: string | null;
      by: string;
      at: Date;
      recipients: number;
    }>(SQL.resends, [id]);
    return rows.map((row) => ({
      run: `r${row.number}`,
      scope: row.scope,
      ...(row.email ? { email: row.email } : {}),
      by: row.by,
      at: row.at.toISOString(),
      recipients: row.recipients,
    }));
  }
}

async function addEvent(
  db: Queryable,
  id: string,
  from: EditionStatus | null,
  to: EditionStatus,
  event: EventInput,
): Promise<void> {
  await db.query(SQL['add-event'], [id, event.at ?? new Date(), event.by, event.action, from, to, event.note ?? '']);
}

function toEdition(row: Row): Edition {
  return {
    id: String(row.id),
    status: row.status as EditionStatus,
    holdReason: (row.hold_reason as HoldReason | null) ?? null,
    cutoff: row.cutoff as Date,
    windowStart: row.window_start as Date,
    subject: String(row.subject),
    preheader: String(row.preheader),
    articleKeys: row.article_keys as string[],
    html: row.html as PersonalizedText,
    web: row.web_html as PersonalizedText,
    text: row.text as PersonalizedText,
    links: row.links as string[],
    createdAt: row.created_at as Date,
    createdBy: String(row.created_by),
    sendingAt: (row.sending_at as Date | null) ?? null,
    sentAt: (row.sent_at as Date | null) ?? null,
    recordsRemovedAt: (row.records_removed_at as Date | null) ?? null,
    ...(row.skipped_from_status
      ? {
          skippedFrom: {
            status: row.skipped_from_status as EditionStatus,
            holdReason: (row.skipped_from_hold_reason as HoldReason | null) ?? null,
          },
        }
      : {}),
    ...(row.error ? { error: String(row.error) } : {}),
  };
}
