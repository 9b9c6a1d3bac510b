import type { Redis } from 'ioredis';
import { type Keyspace, LuaScript, readHashes } from '../platform/redis.ts';

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

const EVENTS_KEPT = 200;

/**
 * Creates the subscriber for an address, or returns the existing one. Atomic, so that two sign-ups
 * of one address at once make one subscriber.
 * KEYS: email index, id sequence, counts. ARGV: lookup key, prefix, now, event JSON, field/value pairs...
 */
const CREATE = new LuaScript(`
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {existing, 0} end
local id = tostring(redis.call('INCR', KEYS[2]))
redis.call('HSET', KEYS[1], ARGV[1], id)
local subKey = ARGV[2] .. ':sub:' .. id
redis.call('HSET', subKey, 'id', id, 'createdAt', ARGV[3], 'updatedAt', ARGV[3], 'state', 'pending', 'version', '1')
for i = 5, #ARGV, 2 do redis.call('HSET', subKey, ARGV[i], ARGV[i + 1]) end
redis.call('HINCRBY', KEYS[3], 'pending', 1)
redis.call('ZADD', ARGV[2] .. ':subs:state:pending', tonumber(id), id)
redis.call('ZADD', ARGV[2] .. ':subs:emails', 0, ARGV[1])
redis.call('LPUSH', subKey .. ':events', ARGV[4])
return {id, 1}
`);

/**
 * Moves a subscriber between states if it is in one of the allowed ones, keeping the per-state
 * counters, the per-state sorted sets of ids (the confirmed one is what fan-out reads; all of them
 * page the admin lists) and the history in step.
 * KEYS: subscriber hash, counts, events. ARGV: allowed states (comma list), new state,
 * now, event JSON, bump version (1/0), key prefix, fields to set...
 */
const TRANSITION = new LuaScript(`
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return {'missing'} end
local allowed = false
for state in string.gmatch(ARGV[1], '[^,]+') do if state == current then allowed = true end end
if not allowed then return {'refused', current} end
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updatedAt', ARGV[3])
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[1], 'version', 1) end
if current ~= ARGV[2] then
  redis.call('HINCRBY', KEYS[2], current, -1)
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  redis.call('ZREM', ARGV[6] .. ':subs:state:' .. current, id)
  redis.call('ZADD', ARGV[6] .. ':subs:state:' .. ARGV[2], tonumber(id), id)
end
local event = cjson.decode(ARGV[4])
event['from'] = current
redis.call('LPUSH', KEYS[3], cjson.encode(event))
redis.call('LTRIM', KEYS[3], 0, ${EVENTS_KEPT - 1})
return {'ok', current}
`);

/**
 * Removes every trace of a subscriber but the bare id in delivery ledgers (GDPR erasure).
 * KEYS: subscriber hash, events, email index, email lex index, counts. ARGV: key prefix.
 */
const ERASE = new LuaScript(`
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
local id = redis.call('HGET', KEYS[1], 'id')
local lookup = string.lower(redis.call('HGET', KEYS[1], 'email') or '')
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[3], lookup)
redis.call('ZREM', KEYS[4], lookup)
redis.call('HINCRBY', KEYS[5], state, -1)
redis.call('ZREM', ARGV[1] .. ':subs:state:' .. state, id)
return 1
`);

/**
 * Counts a soft bounce: keeps the times of the last ones inside the window in the subscriber's
 * `softBounces` field and notes it in the history (a soft bounce changes no state by itself).
 * KEYS: subscriber hash, events. ARGV: time (unix s), window start (unix s), how many to keep, event JSON.
 * Returns: 'missing', or 'ok', the soft bounces inside the window, the current state.
 */
const SOFT_BOUNCE = new LuaScript(`
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
local kept = {}
for at in string.gmatch(redis.call('HGET', KEYS[1], 'softBounces') or '', '[^,]+') do
  if tonumber(at) >= tonumber(ARGV[2]) then kept[#kept + 1] = at end
end
kept[#kept + 1] = ARGV[1]
while #kept > tonumber(ARGV[3]) do table.remove(kept, 1) end
redis.call('HSET', KEYS[1], 'softBounces', table.concat(kept, ','))
local event = cjson.decode(ARGV[4])
event['from'] = state
event['to'] = state
redis.call('LPUSH', KEYS[2], cjson.encode(event))
redis.call('LTRIM', KEYS[2], 0, ${EVENTS_KEPT - 1})
return {'ok', #kept, state}
`);

export interface SubscriberPage {
  subscribers: Subscriber[];
  /** Pass back as `after` for the next page; null on the last page. */
  next: string | null;
}

export type TransitionResult = { ok: true; from: SubscriberState } | { ok: false; current: SubscriberState | null };

export interface TransitionRequest {
  id: string;
  from: readonly SubscriberState[];
  to: SubscriberState;
  reason: string;
  by?: string;
  fields?: Record<string, string>;
  newVersion?: boolean;
  now?: Date;
}

export class SubscriberStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  subscriberKey(id: string): string {
    return this.keys.key('sub', id);
  }

  /** Sorted set of confirmed subscriber ids (score = id): the recipients of the next fan-out. */
  get confirmedKey(): string {
    return this.stateKey('confirmed');
  }

  /** Sorted set of the ids in one state (score = id), for cursor paging. */
  stateKey(state: SubscriberState): string {
    return this.keys.key('subs', 'state', state);
  }

  async create(lookupKey: string, fields: Record<string, string>, now = new Date()): Promise<{ id: string; created: boolean }> {
    const at = now.toISOString();
    const event: SubscriberEvent = { at, from: null, to: 'pending', reason: 'subscribed' };
    const [id, created] = (await CREATE.run(
      this.redis,
      [this.keys.key('subs', 'by-email'), this.keys.key('subs', 'seq'), this.keys.key('subs', 'counts')],
      [lookupKey, this.keys.prefix, at, JSON.stringify(event), ...Object.entries(fields).flat()],
    )) as [string, number];
    return { id, created: created === 1 };
  }

  async findIdByEmail(lookupKey: string): Promise<string | null> {
    return this.redis.hget(this.keys.key('subs', 'by-email'), lookupKey);
  }

  async get(id: string): Promise<Subscriber | null> {
    const hash = await this.redis.hgetall(this.subscriberKey(id));
    return hash.id ? toSubscriber(hash) : null;
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    const at = (request.now ?? new Date()).toISOString();
    const event: Omit<SubscriberEvent, 'from'> = { at, to: request.to, reason: request.reason, ...(request.by ? { by: request.by } : {}) };
    const subKey = this.subscriberKey(request.id);
    const [status, current] = (await TRANSITION.run(
      this.redis,
      [subKey, this.keys.key('subs', 'counts'), `${subKey}:events`],
      [
        request.from.join(','),
        request.to,
        at,
        JSON.stringify(event),
        request.newVersion ? '1' : '0',
        this.keys.prefix,
        ...Object.entries(request.fields ?? {}).flat(),
      ],
    )) as [string, string | undefined];
    if (status === 'ok') return { ok: true, from: current as SubscriberState };
    return { ok: false, current: (current as SubscriberState | undefined) ?? null };
  }

  /** Records a soft bounce at `at`; returns how many fell inside the window since `windowStart` (at most `keep`). */
  async recordSoftBounce(id: string, at: Date, windowStart: Date, keep: number, reason: string): Promise<{ count: number; state: SubscriberState } | null> {
    const subKey = this.subscriberKey(id);
    const event = { at: at.toISOString(), reason, by: 'bounce-report' };
    const [status, count, state] = (await SOFT_BOUNCE.run(
      this.redis,
      [subKey, `${subKey}:events`],
      [Math.floor(at.getTime() / 1000), Math.floor(windowStart.getTime() / 1000), keep, JSON.stringify(event)],
    )) as [string, number?, string?];
    return status === 'ok' ? { count: Number(count), state: state as SubscriberState } : null;
  }

  /** State changes, newest first. */
  async history(id: string): Promise<SubscriberEvent[]> {
    const raw = await this.redis.lrange(`${this.subscriberKey(id)}:events`, 0, -1);
    return raw.map((line) => JSON.parse(line) as SubscriberEvent);
  }

  /** One page of subscribers in id order, after the id `after`; by state, or all. Never scans. */
  async page(options: { state?: SubscriberState; after?: string; limit: number }): Promise<SubscriberPage> {
    const after = Number(options.after ?? 0);
    let found: Subscriber[];
    if (options.state) {
      const ids = await this.redis.zrangebyscore(this.stateKey(options.state), `(${after}`, '+inf', 'LIMIT', 0, options.limit + 1);
      found = await this.getMany(ids);
    } else {
      // Ids are a sequence; erased ones leave gaps, so read windows of ids until the page is full.
      const highest = Number((await this.redis.get(this.keys.key('subs', 'seq'))) ?? 0);
      found = [];
      for (let from = after + 1; from <= highest && found.length <= options.limit; from += options.limit + 1) {
        const ids = Array.from({ length: Math.min(options.limit + 1, highest - from + 1) }, (_, index) => String(from + index));
        found.push(...(await this.getMany(ids)));
      }
    }
    const subscribers = found.slice(0, options.limit);
    return { subscribers, next: found.length > options.limit ? (subscribers[subscribers.length - 1]?.id ?? null) : null };
  }

  /** Subscribers whose address starts with `prefix` (case-insensitive), from a sorted index: no scan. */
  async search(prefix: string, limit: number): Promise<Subscriber[]> {
    const start = prefix.trim().toLowerCase();
    if (!start) return [];
    const lookups = await this.redis.zrangebylex(this.keys.key('subs', 'emails'), `[${start}`, `[${start}\xff`, 'LIMIT', 0, limit);
    if (lookups.length === 0) return [];
    const ids = await this.redis.hmget(this.keys.key('subs', 'by-email'), ...lookups);
    return this.getMany(ids.filter((id): id is string => id !== null));
  }

  async getMany(ids: string[]): Promise<Subscriber[]> {
    const hashes = await readHashes(this.redis, ids.map((id) => this.subscriberKey(id)));
    return hashes.filter((hash) => hash.id).map(toSubscriber);
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
    await this.redis.hset(this.subscriberKey(id), { ...fields, updatedAt: new Date().toISOString() });
  }

  async erase(id: string): Promise<boolean> {
    const subKey = this.subscriberKey(id);
    const erased = await ERASE.run(
      this.redis,
      [subKey, `${subKey}:events`, this.keys.key('subs', 'by-email'), this.keys.key('subs', 'emails'), this.keys.key('subs', 'counts')],
      [this.keys.prefix],
    );
    return erased === 1;
  }

  async countsByState(): Promise<Record<SubscriberState, number>> {
    const raw = await this.redis.hgetall(this.keys.key('subs', 'counts'));
    return Object.fromEntries(SUBSCRIBER_STATES.map((state) => [state, Number(raw[state] ?? 0)])) as Record<SubscriberState, number>;
  }
}

function toSubscriber(hash: Record<string, string>): Subscriber {
  const optional = (name: string) => (hash[name] ? { [name]: hash[name] } : {});
  return {
    id: hash.id ?? '',
    email: hash.email ?? '',
    name: hash.name ?? '',
    state: (hash.state ?? 'pending') as SubscriberState,
    format: hash.format === 'text' ? 'text' : 'html',
    version: Number(hash.version ?? 1),
    createdAt: hash.createdAt ?? '',
    updatedAt: hash.updatedAt ?? '',
    ...optional('confirmedAt'),
    ...optional('unsubscribedAt'),
    ...optional('suppressedAt'),
    ...optional('suppressionReason'),
    ...optional('consentAt'),
    ...optional('consentIp'),
    ...optional('consentUserAgent'),
    ...optional('confirmIp'),
    ...optional('confirmUserAgent'),
  };
}
