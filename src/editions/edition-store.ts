import type { Redis } from 'ioredis';
import type { PersonalizedText } from '../platform/personal-fields.ts';
import { type Keyspace, LuaScript } from '../platform/redis.ts';

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

/** KEYS: edition hash, editions index. ARGV: cutoff score, field/value pairs. Returns 1 if created. */
const CREATE_IF_ABSENT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[1], redis.call('HGET', KEYS[1], 'id'))
return 1
`);

export class EditionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  editionKey(id: string): string {
    return this.keys.key('edition', id);
  }

  private get index(): string {
    return this.keys.key('editions');
  }

  /** Stores the edition unless one with its id exists: with two schedulers, exactly one wins. */
  async createIfAbsent(edition: Edition): Promise<boolean> {
    const fields: Record<string, string> = {
      id: edition.id,
      status: edition.status,
      cutoff: String(edition.cutoff.getTime()),
      windowStart: String(edition.windowStart.getTime()),
      subject: edition.subject,
      preheader: edition.preheader,
      articleKeys: JSON.stringify(edition.articleKeys),
      html: JSON.stringify(edition.html),
      text: JSON.stringify(edition.text),
      links: JSON.stringify(edition.links),
      createdAt: String(edition.createdAt.getTime()),
      createdBy: edition.createdBy,
      ...(edition.error ? { error: edition.error } : {}),
    };
    const created = await CREATE_IF_ABSENT.run(this.redis, [this.editionKey(edition.id), this.index], [
      edition.cutoff.getTime(),
      ...Object.entries(fields).flat(),
    ]);
    return created === 1;
  }

  async get(id: string): Promise<Edition | null> {
    const hash = await this.redis.hgetall(this.editionKey(id));
    return hash.id ? toEdition(hash) : null;
  }

  async markSending(id: string): Promise<void> {
    await this.redis.hset(this.editionKey(id), 'status', 'sending');
  }

  /** The cut-off of the latest edition before `before`: where the next window starts. */
  async latestCutoffBefore(before: Date): Promise<Date | null> {
    const [, score] = await this.redis.zrevrangebyscore(this.index, `(${before.getTime()}`, '-inf', 'WITHSCORES', 'LIMIT', 0, 1);
    return score === undefined ? null : new Date(Number(score));
  }

  /** Editors' subject and preheader for the next edition (empty: generated from the articles). */
  async draft(): Promise<{ subject: string; preheader: string }> {
    const draft = await this.redis.hgetall(this.keys.key('edition-draft'));
    return { subject: draft.subject ?? '', preheader: draft.preheader ?? '' };
  }

  async setDraft(draft: { subject: string; preheader: string }): Promise<void> {
    await this.redis.hset(this.keys.key('edition-draft'), draft);
  }

  async clearDraft(): Promise<void> {
    await this.redis.del(this.keys.key('edition-draft'));
  }

  /** Newest first. */
  async list(limit = 50): Promise<string[]> {
    return this.redis.zrevrange(this.index, 0, limit - 1);
  }

  /** Subject, status and cut-off of each edition, in the order given, without reading the rendered bodies. */
  async summaries(ids: string[]): Promise<EditionSummary[]> {
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.editionKey(id), 'id', 'status', 'subject', 'cutoff');
    const replies = (await pipeline.exec()) ?? [];
    return replies.flatMap(([, fields]) => {
      const [id, status, subject, cutoff] = fields as Array<string | null>;
      return id ? [{ id, status: (status ?? 'ready') as EditionStatus, subject: subject ?? '', cutoff: new Date(Number(cutoff)) }] : [];
    });
  }

  /** Editions cut before `before` whose per-recipient delivery records are still kept, oldest first. */
  async withRecordsCutBefore(before: Date): Promise<string[]> {
    const ids = await this.redis.zrangebyscore(this.index, '-inf', `(${before.getTime()}`);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hexists(this.editionKey(id), 'recordsRemovedAt');
    const removed = (await pipeline.exec()) ?? [];
    return ids.filter((_, index) => removed[index]?.[1] === 0);
  }

  /** An edition's tracked links, without reading the rest of it (every click reads them). */
  async links(id: string): Promise<string[] | null> {
    const links = await this.redis.hget(this.editionKey(id), 'links');
    return links === null ? null : (JSON.parse(links) as string[]);
  }

  async markRecordsRemoved(id: string, at: Date): Promise<void> {
    await this.redis.hset(this.editionKey(id), 'recordsRemovedAt', String(at.getTime()));
  }
}

const EMPTY_BODY = '{"parts":[""],"fields":[]}';

function toEdition(hash: Record<string, string>): Edition {
  return {
    id: hash.id ?? '',
    status: (hash.status ?? 'ready') as EditionStatus,
    cutoff: new Date(Number(hash.cutoff)),
    windowStart: new Date(Number(hash.windowStart)),
    subject: hash.subject ?? '',
    preheader: hash.preheader ?? '',
    articleKeys: JSON.parse(hash.articleKeys ?? '[]') as string[],
    html: JSON.parse(hash.html ?? EMPTY_BODY) as PersonalizedText,
    text: JSON.parse(hash.text ?? EMPTY_BODY) as PersonalizedText,
    links: JSON.parse(hash.links ?? '[]') as string[],
    createdAt: new Date(Number(hash.createdAt)),
    createdBy: hash.createdBy ?? '',
    recordsRemovedAt: hash.recordsRemovedAt ? new Date(Number(hash.recordsRemovedAt)) : null,
    ...(hash.error ? { error: hash.error } : {}),
  };
}
