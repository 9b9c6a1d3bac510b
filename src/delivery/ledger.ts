import type { Redis } from 'ioredis';
import { type Keyspace, LuaScript } from '../platform/redis.ts';
import type { MailFormat } from '../subscribers/subscriber-store.ts';

export const DELIVERY_STATES = ['queued', 'sending', 'sent', 'deferred', 'failed', 'skipped'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];
export type DeliveryCounts = Record<DeliveryState, number>;

/** How a run picks whom to (re)send to among recipients that already have a ledger entry. */
export type RunMode = 'normal' | 'failed' | 'all';

export interface LedgerEntry {
  state: Exclude<DeliveryState, 'queued'>;
  at: Date;
  run: string;
  /** The job holding a `sending` entry; the SMTP reply (shortened) for the others. */
  info: string;
}

export interface ClaimResult {
  /** The ids this attempt now owns for sending. */
  claimed: string[];
  /** Seconds until this job's own in-flight entries from a previous attempt may be taken back (0: none held). */
  heldSeconds: number;
}

export interface Claimed {
  id: string;
  email: string;
  name: string;
  format: MailFormat;
}

export interface FailureRecord {
  code: number | null;
  reply: string;
  at: string;
  attempt: number;
  /** The group it is counted under (set by the ledger). */
  reason?: string;
}

/**
 * Entries live in hashes of BUCKET ids each, small enough for Redis's compact listpack encoding
 * (hash-max-listpack-entries 128, values under 64 bytes): about 30 bytes per delivery.
 */
export const BUCKET = 128;
const MAX_VALUE = 63;

/**
 * Takes the recipients of one batch for sending, under the ledger's status lock: an entry moves to
 * `sending` (owned by this job) only if nobody delivered it in this run and no other job holds it.
 * This job's own `sending` entries are taken back only once their lease ran out: then the attempt
 * that claimed them is known to be dead (a live one would have settled them). Whether each
 * subscriber is still confirmed comes with the ids, read from PostgreSQL just before this step, so
 * an unsubscribe or bounce committed before the batch is claimed is honoured: such recipients are
 * `skipped`. The batch's `queued` count is taken off once, however often the job runs.
 * KEYS: counts, consumed-batches, failed index, failures, failure reasons.
 * ARGV: ledger prefix, run, owner, mode, now, batch id, batch size, lease seconds, then id and confirmed (1/0) pairs.
 * Returns: seconds until the last held lease ends (0 if none), then the ids claimed for sending.
 */
const CLAIM = new LuaScript(`
local counts, consumed, failedIndex, failures, reasons = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ledgerPrefix, run, owner, mode, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('HSETNX', consumed, ARGV[6], '1') == 1 then redis.call('HINCRBY', counts, 'queued', -tonumber(ARGV[7])) end
local lease = tonumber(ARGV[8])
local out = {0}
for i = 9, #ARGV, 2 do
  local id = ARGV[i]
  local confirmed = ARGV[i + 1] == '1'
  local bucket = ledgerPrefix .. math.floor(tonumber(id) / ${BUCKET})
  local entry = redis.call('HGET', bucket, id)
  local state, since, entryRun, info
  if entry then state, since, entryRun, info = string.match(entry, '^([^|]*)|([^|]*)|([^|]*)|(.*)$') end
  local from = nil
  if not entry then
    from = 'new'
  elseif state == 'sending' then
    -- Owners are job~attempt: only this job may take its entries back, and only once the lease ran out.
    if string.match(info, '^[^~]*') == string.match(owner, '^[^~]*') then
      local left = tonumber(since) + lease - tonumber(now)
      if left <= 0 then from = 'sending' elseif left > out[1] then out[1] = left end
    end
  elseif entryRun == run then
    if state == 'deferred' then from = 'deferred' end
  elseif mode == 'failed' then
    if state == 'failed' then from = state end
  elseif mode == 'all' then
    if state == 'sent' or state == 'failed' or state == 'skipped' then from = state end
  end
  if from then
    local to = 'sending'
    if not confirmed then to = 'skipped' end
    if to == 'skipped' and from ~= 'new' and from ~= 'sending' and from ~= 'deferred' then
      to = nil
    end
    if to then
      local value = to .. '|' .. now .. '|' .. run .. '|' .. (to == 'sending' and owner or 'not subscribed')
      redis.call('HSET', bucket, id, value)
      if from ~= 'new' then redis.call('HINCRBY', counts, from, -1) end
      redis.call('HINCRBY', counts, to, 1)
      if from == 'failed' then
        redis.call('ZREM', failedIndex, id)
        local failure = redis.call('HGET', failures, id)
        if failure then redis.call('HINCRBY', reasons, cjson.decode(failure)['reason'] or '?', -1) end
      end
      if to == 'sending' then out[#out + 1] = id end
    end
  end
end
return out
`);

/**
 * Records how a send ended, only if the entry is still this job's `sending` (a late answer from a
 * job that lost its lock changes nothing).
 * A failure is counted under its reason (code and reply), so the admins' grouping never scans.
 * KEYS: bucket, counts, failed index, failures, failure reasons. ARGV: id, owner, new state, value, failure JSON.
 */
const SETTLE = new LuaScript(`
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
local state, info = string.match(entry, '^([^|]*)|[^|]*|[^|]*|(.*)$')
if state ~= 'sending' or info ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('HINCRBY', KEYS[2], 'sending', -1)
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
if ARGV[3] == 'failed' then
  redis.call('ZADD', KEYS[3], tonumber(ARGV[1]), ARGV[1])
  redis.call('HINCRBY', KEYS[5], cjson.decode(ARGV[5])['reason'], 1)
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[5]) else redis.call('HDEL', KEYS[4], ARGV[1]) end
return 1
`);

/**
 * Records a run's next batches and moves its cursor in one step, so that an interrupted fan-out,
 * re-run, neither loses nor doubles a batch. A batch recorded for the first time adds its size to `queued`.
 * KEYS: batches, run meta, counts. ARGV: new cursor, batch id, ids (comma list), ...
 */
const RECORD_BATCHES = new LuaScript(`
local added = 0
for i = 2, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    local _, commas = string.gsub(ARGV[i + 1], ',', '')
    added = added + commas + 1
  end
end
if added > 0 then
  redis.call('HINCRBY', KEYS[3], 'queued', added)
  redis.call('HINCRBY', KEYS[2], 'recipients', added)
end
redis.call('HSET', KEYS[2], 'cursor', ARGV[1])
return added
`);

export class DeliveryLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  private editionKey(edition: string, ...parts: string[]): string {
    return this.keys.key('edition', edition, ...parts);
  }

  bucketKey(edition: string, subscriberId: string | number): string {
    return this.keys.key('ledger', edition, Math.floor(Number(subscriberId) / BUCKET));
  }

  countsKey(edition: string): string {
    return this.editionKey(edition, 'counts');
  }

  failedIndexKey(edition: string): string {
    return this.editionKey(edition, 'failed');
  }

  runKey(edition: string, run: string, ...parts: string[]): string {
    return this.editionKey(edition, 'run', run, ...parts);
  }

  async recordBatches(edition: string, run: string, cursor: number, batches: Array<{ id: string; ids: number[] }>): Promise<number> {
    const added = await RECORD_BATCHES.run(
      this.redis,
      [this.runKey(edition, run, 'batches'), this.runKey(edition, run), this.countsKey(edition)],
      [cursor, ...batches.flatMap((batch) => [batch.id, batch.ids.join(',')])],
    );
    return Number(added);
  }

  async batchIds(edition: string, run: string, batch: string): Promise<string[]> {
    const csv = await this.redis.hget(this.runKey(edition, run, 'batches'), batch);
    return csv ? csv.split(',') : [];
  }

  async batchesAfter(edition: string, run: string, after: number): Promise<Array<{ id: string; ids: string[] }>> {
    const all = await this.redis.hgetall(this.runKey(edition, run, 'batches'));
    return Object.entries(all)
      .filter(([id]) => Number(id) > after)
      .map(([id, csv]) => ({ id, ids: csv.split(',') }));
  }

  async claim(args: {
    edition: string;
    run: string;
    owner: string;
    mode: RunMode;
    batch: string;
    batchSize: number;
    recipients: Array<{ id: string; confirmed: boolean }>;
    leaseSeconds: number;
  }): Promise<ClaimResult> {
    const [heldSeconds, ...claimed] = (await CLAIM.run(
      this.redis,
      [
        this.countsKey(args.edition),
        this.runKey(args.edition, args.run, 'consumed'),
        this.failedIndexKey(args.edition),
        this.editionKey(args.edition, 'failures'),
        this.editionKey(args.edition, 'failure-reasons'),
      ],
      [
        this.keys.key('ledger', args.edition, ''),
        args.run,
        args.owner,
        args.mode,
        nowSeconds(),
        args.batch,
        args.batchSize,
        args.leaseSeconds,
        ...args.recipients.flatMap((recipient) => [recipient.id, recipient.confirmed ? '1' : '0']),
      ],
    )) as [number, ...Array<string | number>];
    return { claimed: claimed.map(String), heldSeconds: Number(heldSeconds) };
  }

  async settle(args: {
    edition: string;
    run: string;
    owner: string;
    subscriberId: string;
    state: 'sent' | 'deferred' | 'failed';
    reply: string;
    failure?: FailureRecord;
  }): Promise<boolean> {
    const value = `${args.state}|${nowSeconds()}|${args.run}|${compact(args.reply)}`.slice(0, MAX_VALUE);
    const settled = await SETTLE.run(
      this.redis,
      [
        this.bucketKey(args.edition, args.subscriberId),
        this.countsKey(args.edition),
        this.failedIndexKey(args.edition),
        this.editionKey(args.edition, 'failures'),
        this.editionKey(args.edition, 'failure-reasons'),
      ],
      [args.subscriberId, args.owner, args.state, value, args.failure ? JSON.stringify({ ...args.failure, reason: failureReason(args.failure) }) : ''],
    );
    return settled === 1;
  }

  async entry(edition: string, subscriberId: string): Promise<LedgerEntry | null> {
    const raw = await this.redis.hget(this.bucketKey(edition, subscriberId), subscriberId);
    if (!raw) return null;
    const [state, at, run, ...info] = raw.split('|');
    return { state: state as LedgerEntry['state'], at: new Date(Number(at) * 1000), run: run ?? '', info: info.join('|') };
  }

  async counts(edition: string): Promise<DeliveryCounts> {
    const raw = await this.redis.hgetall(this.countsKey(edition));
    return Object.fromEntries(DELIVERY_STATES.map((state) => [state, Number(raw[state] ?? 0)])) as DeliveryCounts;
  }

  /** Up to `limit` current failure records (the latest error of deferred deliveries too). */
  async failures(edition: string, limit = 100): Promise<Record<string, FailureRecord>> {
    const [, flat] = await this.redis.hscan(this.editionKey(edition, 'failures'), 0, 'COUNT', limit);
    const records: Record<string, FailureRecord> = {};
    for (let index = 0; index < flat.length && index < limit * 2; index += 2) records[flat[index] ?? ''] = JSON.parse(flat[index + 1] ?? '{}') as FailureRecord;
    return records;
  }

  /**
   * Deletes an edition's per-recipient records: its entries, the runs' recorded batches, the failed
   * index and failure details. Counts, failures counted by reply and run summaries stay.
   */
  async removeRecords(edition: string, runs: string[], maxSubscriberId: number): Promise<number> {
    const keys = [this.failedIndexKey(edition), this.editionKey(edition, 'failures')];
    for (const run of runs) keys.push(this.runKey(edition, run, 'batches'), this.runKey(edition, run, 'consumed'), this.runKey(edition, run, 'lock'));
    for (let bucket = 0; bucket <= Math.floor(maxSubscriberId / BUCKET); bucket += 1) keys.push(this.keys.key('ledger', edition, bucket));
    let removed = 0;
    for (let start = 0; start < keys.length; start += 1000) removed += await this.redis.unlink(...keys.slice(start, start + 1000));
    return removed;
  }

  /** Failed deliveries counted by reason (SMTP code and reply), kept as deliveries settle. */
  async failureReasons(edition: string): Promise<Array<{ reason: string; count: number }>> {
    const raw = await this.redis.hgetall(this.editionKey(edition, 'failure-reasons'));
    return Object.entries(raw)
      .map(([reason, count]) => ({ reason, count: Number(count) }))
      .filter((group) => group.count > 0)
      .sort((a, b) => b.count - a.count);
  }

}

/** How failures are grouped: the reply, led by its code. */
export function failureReason(failure: { code: number | null; reply: string }): string {
  const reply = compact(failure.reply).slice(0, 120);
  return failure.code !== null && !reply.startsWith(String(failure.code)) ? `${failure.code} ${reply}` : reply || 'no reply';
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** One short ASCII line without the field separator, for the compact ledger value. */
function compact(reply: string): string {
   
  return reply.replace(/[^\x20-\x7e]|\|/g, ' ').replace(/\s+/g, ' ').trim();
}
