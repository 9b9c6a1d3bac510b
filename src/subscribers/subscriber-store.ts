import type { Queryable, Row } from '../platform/database.ts';
import { loadQueries } from '../platform/sql.ts';
import { hasControlCharacter } from './address.ts';

export const SUBSCRIBER_STATES = ['pending', 'confirmed', 'unsubscribed', 'bounced', 'complained'] as const;
export type SubscriberState = (typeof SUBSCRIBER_STATES)[number];
export const MAIL_FORMATS = ['html', 'text'] as const;
/** What a reader chose to receive: the designed edition with its text twin, or plain text only. */
export type MailFormat = (typeof MAIL_FORMATS)[number];
/** States in which an address is never mailed until an admin lifts the suppression. */
export const SUPPRESSED_STATES: readonly SubscriberState[] = ['bounced', 'complained'];

export interface Subscriber {
  id: string;
  email: string;
  name: string;
  state: SubscriberState;
  /** `text`: the reader chose plain-text email. */
  format: MailFormat;
  /** Subscription generation: bumped by every new sign-up, so older confirmation links stop working. */
  version: number;
  createdAt: string;
  updatedAt: string;
  confirmedAt?: string;
  unsubscribedAt?: string;
  suppressedAt?: string;
  suppressionReason?: string;
  consentAt?: string;
  consentIp?: string;
  consentUserAgent?: string;
  confirmIp?: string;
  confirmUserAgent?: string;
}

export interface SubscriberEvent {
  at: string;
  from: SubscriberState | null;
  to: SubscriberState;
  reason: string;
  by?: string;
}

/** A subscriber as a delivery needs it: read right before a batch is claimed. */
export interface DeliveryRecipient {
  id: string;
  email: string;
  name: string;
  format: MailFormat;
  state: SubscriberState;
}

export interface SubscriberPage {
  subscribers: Subscriber[];
  /** Pass back as `after` for the next page; null on the last page. */
  next: string | null;
}

export type TransitionResult = { ok: true; from: SubscriberState } | { ok: false; current: SubscriberState | null };

/** Fields a state change may set along with the state (null or absent: kept). */
export type TransitionFields = Partial<
  Pick<
    Subscriber,
    | 'name'
    | 'confirmedAt'
    | 'unsubscribedAt'
    | 'suppressedAt'
    | 'suppressionReason'
    | 'consentAt'
    | 'consentIp'
    | 'consentUserAgent'
    | 'confirmIp'
    | 'confirmUserAgent'
  >
>;

export interface TransitionRequest {
  id: string;
  from: readonly SubscriberState[];
  to: SubscriberState;
  reason: string;
  by?: string;
  fields?: TransitionFields;
  newVersion?: boolean;
  now?: Date;
}

export interface NewSubscriber {
  email: string;
  name?: string;
  format?: MailFormat;
  consentAt?: string;
  consentIp?: string;
  consentUserAgent?: string;
}

const SQL = loadQueries(new URL('./queries.sql', import.meta.url), [
  'create',
  'id-by-email',
  'get',
  'get-many',
  'transition',
  'record-soft-bounce',
  'note',
  'history',
  'page-all',
  'page-in-state',
  'search',
  'update-profile',
  'erase',
  'counts',
  'confirmed-after',
  'highest-id',
  'for-delivery',
  'expire-pending',
]);

/** Subscribers in PostgreSQL, the system of record: one row each, with their history beside them. */
export class SubscriberStore {
  constructor(private readonly db: Queryable) {}

  /** The subscriber for an address (its lower-cased `lookupKey`), created pending if there was none. */
  async create(lookupKey: string, fields: NewSubscriber, now = new Date()): Promise<{ id: string; created: boolean }> {
    const params = [
      fields.email,
      lookupKey,
      fields.name ?? '',
      fields.format ?? 'html',
      fields.consentAt ?? null,
      fields.consentIp ?? null,
      fields.consentUserAgent ?? null,
      now,
    ];
    const [row] = (await this.db.query<{ id: string; created: boolean }>(SQL.create, params)).rows;
    if (row) return { id: String(row.id), created: row.created };
    // Created by a concurrent sign-up that committed after this statement began.
    const id = await this.findIdByEmail(lookupKey);
    if (!id) throw new Error('subscriber neither created nor found');
    return { id, created: false };
  }

  async findIdByEmail(lookupKey: string): Promise<string | null> {
    const [row] = (await this.db.query<{ id: string }>(SQL['id-by-email'], [lookupKey])).rows;
    return row ? String(row.id) : null;
  }

  async get(id: string): Promise<Subscriber | null> {
    if (!isId(id)) return null;
    const [row] = (await this.db.query(SQL.get, [id])).rows;
    return row ? toSubscriber(row) : null;
  }

  async getMany(ids: string[]): Promise<Subscriber[]> {
    const valid = ids.filter(isId);
    if (valid.length === 0) return [];
    return (await this.db.query(SQL['get-many'], [valid])).rows.map(toSubscriber);
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    if (!isId(request.id)) return { ok: false, current: null };
    const fields = request.fields ?? {};
    const [row] = (
      await this.db.query<{ from_state: SubscriberState | null; current_state: SubscriberState | null }>(
        SQL.transition,
        [
          request.id,
          request.from,
          request.to,
          request.now ?? new Date(),
          request.newVersion ? 1 : 0,
          request.reason,
          request.by ?? null,
          fields.name ?? null,
          fields.confirmedAt ?? null,
          fields.unsubscribedAt ?? null,
          fields.suppressedAt ?? null,
          fields.suppressionReason ?? null,
          fields.consentAt ?? null,
          fields.consentIp ?? null,
          fields.consentUserAgent ?? null,
          fields.confirmIp ?? null,
          fields.confirmUserAgent ?? null,
        ],
      )
    ).rows;
    if (row?.from_state) return { ok: true, from: row.from_state };
    return { ok: false, current: row?.current_state ?? null };
  }

  /** Records a soft bounce at `at`; returns how many fell inside the window since `windowStart`, this one included. */
  async recordSoftBounce(
    id: string,
    at: Date,
    windowStart: Date,
    reason: string,
  ): Promise<{ count: number; state: SubscriberState } | null> {
    const [row] = (
      await this.db.query<{ state: SubscriberState; count: string }>(SQL['record-soft-bounce'], [
        id,
        at,
        windowStart,
        reason,
      ])
    ).rows;
    return row ? { count: Number(row.count), state: row.state } : null;
  }

  /** Notes in the history what happened to the reader without changing their state. */
  async note(id: string, reason: string, by: string, at = new Date()): Promise<void> {
    if (isId(id)) await this.db.query(SQL.note, [id, at, reason, by]);
  }

  /** State changes and reported bounces, newest first (the last 200). */
  async history(id: string): Promise<SubscriberEvent[]> {
    if (!isId(id)) return [];
    const { rows } = await this.db.query<{
      at: Date;
      from_state: SubscriberState | null;
      to_state: SubscriberState;
      reason: string;
      by: string | null;
    }>(SQL.history, [id]);
    return rows.map((row) => ({
      at: row.at.toISOString(),
      from: row.from_state,
      to: row.to_state,
      reason: row.reason,
      ...(row.by ? { by: row.by } : {}),
    }));
  }

  /** One page of subscribers in id order, after the id `after`; by state, or all. */
  async page(options: { state?: SubscriberState; after?: string; limit: number }): Promise<SubscriberPage> {
    const after = options.after && isId(options.after) ? options.after : '0';
    const { rows } = options.state
      ? await this.db.query(SQL['page-in-state'], [options.state, after, options.limit + 1])
      : await this.db.query(SQL['page-all'], [after, options.limit + 1]);
    const subscribers = rows.slice(0, options.limit).map(toSubscriber);
    return {
      subscribers,
      next: rows.length > options.limit ? (subscribers[subscribers.length - 1]?.id ?? null) : null,
    };
  }

  /** Subscribers whose address starts with `prefix`, case-insensitive, in address order. */
  async search(prefix: string, limit: number): Promise<Subscriber[]> {
    const start = prefix.trim().toLowerCase();
    if (!start || hasControlCharacter(start)) return [];
    return (await this.db.query(SQL.search, [start, limit])).rows.map(toSubscriber);
  }

  /** Every subscriber in a state, a page at a time. */
  async *eachInState(state: SubscriberState): AsyncGenerator<Subscriber> {
    let after: string | undefined;
    for (;;) {
      const page = await this.page({ state, limit: 500, ...(after ? { after } : {}) });
      yield* page.subscribers;
      if (!page.next) return;
      after = page.next;
    }
  }

  /** Plain profile fields (never the state: that goes through `transition`). */
  async updateFields(id: string, fields: { name: string; format: MailFormat }): Promise<void> {
    await this.db.query(SQL['update-profile'], [id, fields.name, fields.format]);
  }

  /** Removes every trace of a subscriber (GDPR erasure); delivery ledgers keep only the bare id. */
  async erase(id: string): Promise<boolean> {
    if (!isId(id)) return false;
    return ((await this.db.query(SQL.erase, [id])).rowCount ?? 0) > 0;
  }

  async countsByState(): Promise<Record<SubscriberState, number>> {
    const { rows } = await this.db.query<{ state: SubscriberState; count: string }>(SQL.counts);
    const counts = Object.fromEntries(SUBSCRIBER_STATES.map((state) => [state, 0])) as Record<SubscriberState, number>;
    for (const row of rows) if (row.state in counts) counts[row.state] = Number(row.count);
    return counts;
  }

  /** Confirmed subscribers' ids after `after` and at most `maxId`, in order: what fan-out reads behind its cursor. */
  async confirmedIdsAfter(after: number, maxId: number, limit: number): Promise<number[]> {
    const { rows } = await this.db.query<{ id: string }>(SQL['confirmed-after'], [after, maxId, limit]);
    return rows.map((row) => Number(row.id));
  }

  /** The highest id given so far: the bound a run fixes when it starts, so a resumed run covers the same people. */
  async highestId(): Promise<number> {
    const [row] = (await this.db.query<{ id: string }>(SQL['highest-id'])).rows;
    return Number(row?.id ?? 0);
  }

  /** What delivering to these subscribers needs, read right before their batch is claimed (erased ones are missing). */
  async forDelivery(ids: readonly string[]): Promise<Map<string, DeliveryRecipient>> {
    const valid = ids.filter(isId);
    if (valid.length === 0) return new Map();
    const { rows } = await this.db.query<{
      id: string;
      email: string;
      name: string;
      format: MailFormat;
      state: SubscriberState;
    }>(SQL['for-delivery'], [valid]);
    return new Map(rows.map((row) => [String(row.id), { ...row, id: String(row.id) }]));
  }

  /** Removes pending sign-ups not touched since `before` (their confirmation link has expired). */
  async expirePendingBefore(before: Date): Promise<number> {
    return (await this.db.query(SQL['expire-pending'], [before])).rowCount ?? 0;
  }
}

/** Ids are positive integers; anything else (from a URL, a form) finds nobody instead of failing the query. */
function isId(id: string): boolean {
  return /^[1-9]\d{0,17}$/.test(id);
}

function iso(value: unknown): string | undefined {
  return value instanceof Date ? value.toISOString() : undefined;
}

function toSubscriber(row: Row): Subscriber {
  const text = (name: string) =>
    typeof row[name] === 'string' && row[name] !== '' ? (row[name] as string) : undefined;
  const optional = (key: keyof Subscriber, value: string | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    id: String(row.id),
    email: String(row.email),
    name: String(row.name ?? ''),
    state: row.state as SubscriberState,
    format: row.format === 'text' ? 'text' : 'html',
    version: Number(row.version),
    createdAt: iso(row.created_at) ?? '',
    updatedAt: iso(row.updated_at) ?? '',
    ...optional('confirmedAt', iso(row.confirmed_at)),
    ...optional('unsubscribedAt', iso(row.unsubscribed_at)),
    ...optional('suppressedAt', iso(row.suppressed_at)),
    ...optional('suppressionReason', text('suppression_reason')),
    ...optional('consentAt', iso(row.consent_at)),
    ...optional('consentIp', text('consent_ip')),
    ...optional('consentUserAgent', text('consent_user_agent')),
    ...optional('confirmIp', text('confirm_ip')),
    ...optional('confirmUserAgent', text('confirm_user_agent')),
  };
}
