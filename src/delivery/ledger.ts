import type { Redis } from 'ioredis';
import type { RedisKeys } from '../platform/redis-keys.ts';
import { LuaScript } from '../platform/redis.ts';
import { sleep } from './concurrency.ts';
import type { MailFormat } from '../subscribers/subscriber-store.ts';

/**
 * `waiting`: put aside until its destination's pace allows it (a throttled relay); it costs no
 * attempt. `deferred`: a temporary failure, retried with backoff, counted toward DELIVERY_ATTEMPTS.
 */
export const DELIVERY_STATES = ['queued', 'sending', 'sent', 'waiting', 'deferred', 'failed', 'skipped'] as const;
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

export interface PutAside {
  settled: number;
  /** Recipients of the edition waiting for each destination of those put aside, counting them. */
  waiting: Map<string, number>;
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

const script = (name: string, include: URL[] = []) =>
  LuaScript.fromFile(new URL(`./scripts/${name}`, import.meta.url), include);
/** settle_entry, shared by the scripts that settle entries. */
const ENTRY = new URL('./scripts/ledger-entry.lua', import.meta.url);
const CLAIM = script('claim.lua');
const SETTLE = script('settle.lua', [ENTRY]);
const RECORD_BATCHES = script('record-batches.lua');
const PUT_ASIDE = script('put-aside.lua', [ENTRY]);

/** The Redis keys the ledger writes (see RedisKeys). */
export type LedgerKeys = Pick<
  RedisKeys,
  | 'ledgerBucket'
  | 'ledgerBucketPrefix'
  | 'deliveryCounts'
  | 'run'
  | 'runBatches'
  | 'runConsumed'
  | 'runLock'
  | 'failedIndex'
  | 'failures'
  | 'failureReasons'
  | 'waitingByDestination'
>;

/** A send's outcome, for `settle`. */
export interface Settlement {
  edition: string;
  run: string;
  owner: string;
  subscriberId: string;
  state: 'sent' | 'deferred' | 'failed';
  reply: string;
  failure?: FailureRecord;
}

/** Outcomes settled in one call at most (ARGV stays small). */
const SETTLE_GROUP = 64;
/**
 * How long outcomes gather before a settle call takes them. Without the wait, a worker sending ~2,000
 * messages a second made a call (and a socket write, ~15 µs of its CPU on the benchmark's VM) per one
 * or two messages; with it, one per several. The price: a worker that dies in those milliseconds
 * leaves the outcomes unrecorded, and their recipients get a second copy (README, "The known limits").
 */
const SETTLE_LINGER_MS = 2;

interface PendingSettlement {
  settlement: Settlement;
  done: (settled: boolean) => void;
  fail: (error: unknown) => void;
}

function settleArguments(settlement: Settlement): string[] {
  const { state, failure } = settlement;
  const value = `${state}|${nowSeconds()}|${settlement.run}|${compact(settlement.reply)}`.slice(0, MAX_VALUE);
  return [
    settlement.subscriberId,
    settlement.owner,
    state,
    value,
    failure ? JSON.stringify({ ...failure, reason: failureReason(failure) }) : '',
  ];
}

/** The delivery state of every recipient of every run of an edition, and its counts, in Redis. */
export class DeliveryLedger {
  /** Per edition: outcomes waiting for the settle call in flight to return. */
  private readonly settling = new Map<string, PendingSettlement[]>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: LedgerKeys,
  ) {}

  private bucketOf(edition: string, subscriberId: string | number): string {
    return this.keys.ledgerBucket(edition, Math.floor(Number(subscriberId) / BUCKET));
  }

  async recordBatches(
    edition: string,
    run: string,
    cursor: number,
    batches: Array<{ id: string; ids: number[] }>,
  ): Promise<number> {
    const added = await RECORD_BATCHES.run(
      this.redis,
      [this.keys.runBatches(edition, run), this.keys.run(edition, run), this.keys.deliveryCounts(edition)],
      [cursor, ...batches.flatMap((batch) => [batch.id, batch.ids.join(',')])],
    );
    return Number(added);
  }

  async batchIds(edition: string, run: string, batch: string): Promise<string[]> {
    const csv = await this.redis.hget(this.keys.runBatches(edition, run), batch);
    return csv ? csv.split(',') : [];
  }

  async batchesAfter(edition: string, run: string, after: number): Promise<Array<{ id: string; ids: string[] }>> {
    const all = await this.redis.hgetall(this.keys.runBatches(edition, run));
    return Object.entries(all)
      .filter(([id]) => Number(id) > after)
      .map(([id, csv]) => ({ id, ids: csv.split(',') }));
  }

  /** See claim.lua. Each recipient comes with whether it is still confirmed and its destination. */
  async claim(args: {
    edition: string;
    run: string;
    owner: string;
    mode: RunMode;
    batch: string;
    batchSize: number;
    recipients: Array<{ id: string; confirmed: boolean; destination: string }>;
    leaseSeconds: number;
  }): Promise<ClaimResult> {
    const { edition, run } = args;
    const [heldSeconds, ...claimed] = (await CLAIM.run(
      this.redis,
      [
        this.keys.deliveryCounts(edition),
        this.keys.runConsumed(edition, run),
        this.keys.failedIndex(edition),
        this.keys.failures(edition),
        this.keys.failureReasons(edition),
        this.keys.waitingByDestination(edition),
      ],
      [
        this.keys.ledgerBucketPrefix(edition),
        run,
        args.owner,
        args.mode,
        nowSeconds(),
        args.batch,
        args.batchSize,
        args.leaseSeconds,
        BUCKET,
        ...args.recipients.flatMap((recipient) => [
          recipient.id,
          recipient.confirmed ? '1' : '0',
          recipient.destination,
        ]),
      ],
    )) as [number, ...Array<string | number>];
    return { claimed: claimed.map(String), heldSeconds: Number(heldSeconds) };
  }

  /**
   * See settle.lua: false when the entry is no longer this owner's. Outcomes go to Redis in groups,
   * one call at a time per edition: each call takes what came in until `SETTLE_LINGER_MS` after the
   * previous one returned (or after the first outcome, when none was on its way).
   */
  settle(settlement: Settlement): Promise<boolean> {
    return new Promise((done, fail) => {
      const pending = this.settling.get(settlement.edition);
      if (pending) return void pending.push({ settlement, done, fail });
      this.settling.set(settlement.edition, [{ settlement, done, fail }]);
      void this.settleInTurn(settlement.edition);
    });
  }

  /** Settles the edition's waiting outcomes, a group per call, each gathered for `SETTLE_LINGER_MS`, until none is left. */
  private async settleInTurn(edition: string): Promise<void> {
    for (;;) {
      await sleep(SETTLE_LINGER_MS);
      const pending = this.settling.get(edition) ?? [];
      if (pending.length === 0) return void this.settling.delete(edition);
      const group = pending.splice(0, SETTLE_GROUP);
      try {
        const settled = (await SETTLE.run(
          this.redis,
          [
            this.keys.deliveryCounts(edition),
            this.keys.failedIndex(edition),
            this.keys.failures(edition),
            this.keys.failureReasons(edition),
            ...group.map(({ settlement }) => this.bucketOf(edition, settlement.subscriberId)),
          ],
          group.flatMap(({ settlement }) => settleArguments(settlement)),
        )) as number[];
        group.forEach((item, index) => item.done(settled[index] === 1));
      } catch (error) {
        for (const item of group) item.fail(error);
      }
    }
  }

  /**
   * See put-aside.lua: settles many recipients of one attempt as `waiting` (for their destination's
   * pace) in one call, as `settle` would one by one. Returns how many were still this owner's, and
   * how many recipients of the edition wait for each of their destinations now.
   */
  async putAside(args: {
    edition: string;
    run: string;
    owner: string;
    recipients: Array<{ subscriberId: string; destination: string; reply: string }>;
  }): Promise<PutAside> {
    if (args.recipients.length === 0) return { settled: 0, waiting: new Map() };
    const { edition } = args;
    const at = nowSeconds();
    const [settled, ...waiting] = (await PUT_ASIDE.run(
      this.redis,
      [
        this.keys.deliveryCounts(edition),
        this.keys.waitingByDestination(edition),
        ...args.recipients.map((recipient) => this.bucketOf(edition, recipient.subscriberId)),
      ],
      [
        args.owner,
        ...args.recipients.flatMap((recipient) => [
          recipient.subscriberId,
          `waiting|${at}|${args.run}|${compact(recipient.reply)}`.slice(0, MAX_VALUE),
          recipient.destination,
        ]),
      ],
    )) as [number, ...Array<string | number>];
    const counts = new Map<string, number>();
    for (let index = 0; index + 1 < waiting.length; index += 2)
      counts.set(String(waiting[index]), Number(waiting[index + 1]));
    return { settled: Number(settled), waiting: counts };
  }

  async entry(edition: string, subscriberId: string): Promise<LedgerEntry | null> {
    const raw = await this.redis.hget(this.bucketOf(edition, subscriberId), subscriberId);
    if (!raw) return null;
    const [state, at, run, ...info] = raw.split('|');
    return {
      state: state as LedgerEntry['state'],
      at: new Date(Number(at) * 1000),
      run: run ?? '',
      info: info.join('|'),
    };
  }

  async counts(edition: string): Promise<DeliveryCounts> {
    const raw = await this.redis.hgetall(this.keys.deliveryCounts(edition));
    return Object.fromEntries(DELIVERY_STATES.map((state) => [state, Number(raw[state] ?? 0)])) as DeliveryCounts;
  }

  /** Recipients waiting for their destination's pace, by destination (none left out: zero counts are dropped). */
  async waitingByDestination(edition: string): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(this.keys.waitingByDestination(edition));
    return new Map(
      Object.entries(raw)
        .map(([destination, count]): [string, number] => [destination, Number(count)])
        .filter(([, count]) => count > 0),
    );
  }

  /** Up to `limit` current failure records (the latest error of deferred deliveries too). */
  async failures(edition: string, limit = 100): Promise<Record<string, FailureRecord>> {
    const [, flat] = await this.redis.hscan(this.keys.failures(edition), 0, 'COUNT', limit);
    const records: Record<string, FailureRecord> = {};
    for (let index = 0; index < flat.length && index < limit * 2; index += 2)
      records[flat[index] ?? ''] = JSON.parse(flat[index + 1] ?? '{}') as FailureRecord;
    return records;
  }

  /**
   * Deletes an edition's per-recipient records: its entries, the runs' recorded batches, the failed
   * index and failure details. Counts, failures counted by reply and run summaries stay.
   */
  async removeRecords(edition: string, runs: string[], maxSubscriberId: number): Promise<number> {
    const keys = [this.keys.failedIndex(edition), this.keys.failures(edition), this.keys.waitingByDestination(edition)];
    for (const run of runs)
      keys.push(
        this.keys.runBatches(edition, run),
        this.keys.runConsumed(edition, run),
        this.keys.runLock(edition, run),
      );
    for (let bucket = 0; bucket <= Math.floor(maxSubscriberId / BUCKET); bucket += 1)
      keys.push(this.keys.ledgerBucket(edition, bucket));
    let removed = 0;
    for (let start = 0; start < keys.length; start += 1000)
      removed += await this.redis.unlink(...keys.slice(start, start + 1000));
    return removed;
  }

  /** Failed deliveries counted by reason (SMTP code and reply), kept as deliveries settle. */
  async failureReasons(edition: string): Promise<Array<{ reason: string; count: number }>> {
    const raw = await this.redis.hgetall(this.keys.failureReasons(edition));
    return Object.entries(raw)
      .map(([reason, count]) => ({ reason, count: Number(count) }))
      .filter((group) => group.count > 0)
      .sort((a, b) => b.count - a.count);
  }
}

/** How failures are grouped: the reply, led by its code. */
export function failureReason(failure: { code: number | null; reply: string }): string {
  const reply = compact(failure.reply).slice(0, 120);
  return failure.code !== null && !reply.startsWith(String(failure.code))
    ? `${failure.code} ${reply}`
    : reply || 'no reply';
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** One short ASCII line without the field separator, for the compact ledger value. */
function compact(reply: string): string {
  return reply
    .replace(/[^\x20-\x7e]|\|/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
