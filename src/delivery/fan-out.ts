import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../platform/logger.ts';
import type { RedisKeys } from '../platform/redis-keys.ts';
import { LuaScript } from '../platform/redis.ts';
import type { DeliveryLedger, RunMode } from './ledger.ts';
import { type DeliveryJob, deliveryJobId } from './queues.ts';

/**
 * Where a run's recipients come from: the confirmed subscribers (PostgreSQL) up to a fixed bound, a
 * sorted set of ids in Redis (an edition's failed recipients), or a fixed list.
 */
export type RecipientSource =
  | { kind: 'confirmed'; maxId: number }
  | { kind: 'sorted-set'; key: string; maxId: number }
  | { kind: 'ids'; ids: number[] };

/** The confirmed subscribers' ids, in order behind a cursor (the subscriber store). */
export interface ConfirmedRecipients {
  confirmedIdsAfter(after: number, maxId: number, limit: number): Promise<number[]>;
}

export interface RunRequest {
  edition: string;
  run: string;
  mode: RunMode;
  source: RecipientSource;
}

export interface RunSummary {
  run: string;
  recipients: number;
  batches: number;
  alreadyRunning?: boolean;
}

/** How many batches are recorded and queued per round trip. */
const BATCHES_PER_STEP = 50;
const LOCK_MS = 15_000;

const RENEW_LOCK = LuaScript.fromFile(new URL('./scripts/renew-lock.lua', import.meta.url));

/**
 * Turns a run into delivery jobs: recipients are read in id order behind a cursor, grouped into
 * batches, recorded in the ledger together with the cursor, then added to the queue in bulk under
 * deterministic job ids. Re-running an interrupted fan-out continues where it stopped.
 */
export class FanOut {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<RedisKeys, 'run' | 'runLock'>,
    private readonly ledger: DeliveryLedger,
    private readonly queue: Queue<DeliveryJob>,
    private readonly confirmed: ConfirmedRecipients,
    private readonly batchSize: number,
    private readonly logger: Logger,
  ) {}

  async run(request: RunRequest): Promise<RunSummary> {
    const lock = { key: this.keys.runLock(request.edition, request.run), value: randomUUID() };
    if ((await this.redis.set(lock.key, lock.value, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      return { run: request.run, recipients: 0, batches: 0, alreadyRunning: true };
    }
    try {
      return await this.fanOut(request, lock);
    } finally {
      await RENEW_LOCK.run(this.redis, [lock.key], [lock.value, 0]);
    }
  }

  private async fanOut(request: RunRequest, lock: { key: string; value: string }): Promise<RunSummary> {
    const metaKey = this.keys.run(request.edition, request.run);
    await this.redis.hsetnx(metaKey, 'startedAt', new Date().toISOString());
    const meta = await this.redis.hgetall(metaKey);
    if (meta.done === '1') return { run: request.run, recipients: Number(meta.recipients ?? 0), batches: 0 };
    let cursor = Number(meta.cursor ?? 0);
    const enqueued = Number(meta.enqueued ?? 0);
    let batches = 0;
    if (cursor > enqueued) {
      // An earlier fan-out recorded batches but died before queueing them.
      const pending = await this.ledger.batchesAfter(request.edition, request.run, enqueued);
      await this.enqueue(
        request,
        pending.map((batch) => batch.id),
      );
      batches += pending.length;
    }
    const log = this.logger.child({ edition: request.edition, run: request.run });
    log.info({ cursor }, 'fan-out started');
    for (;;) {
      // A short lock, renewed each step: a fan-out killed mid-way is resumed within seconds.
      if ((await RENEW_LOCK.run(this.redis, [lock.key], [lock.value, LOCK_MS])) !== 1)
        throw new Error('lost the fan-out lock');
      const ids = await this.nextRecipients(request.source, cursor, this.batchSize * BATCHES_PER_STEP);
      if (ids.length === 0) break;
      const step = chunk(ids, this.batchSize).map((group) => ({ id: String(group[0]), ids: group }));
      cursor = ids[ids.length - 1] ?? cursor;
      await this.ledger.recordBatches(request.edition, request.run, cursor, step);
      await this.enqueue(
        request,
        step.map((batch) => batch.id),
      );
      await this.redis.hset(metaKey, 'enqueued', cursor);
      batches += step.length;
    }
    await this.redis.hset(metaKey, 'done', '1', 'doneAt', new Date().toISOString());
    const recipients = Number(await this.redis.hget(metaKey, 'recipients'));
    log.info({ recipients, batches }, 'fan-out finished');
    return { run: request.run, recipients, batches };
  }

  private async enqueue(request: RunRequest, batchIds: string[]): Promise<void> {
    if (batchIds.length === 0) return;
    await this.queue.addBulk(
      batchIds.map((batch) => {
        const data: DeliveryJob = { edition: request.edition, run: request.run, mode: request.mode, batch };
        return { name: 'deliver', data, opts: { jobId: deliveryJobId(data) } };
      }),
    );
  }

  private async nextRecipients(source: RecipientSource, after: number, limit: number): Promise<number[]> {
    if (source.kind === 'ids') return source.ids.filter((id) => id > after).slice(0, limit);
    if (source.kind === 'confirmed') return this.confirmed.confirmedIdsAfter(after, source.maxId, limit);
    const ids = await this.redis.zrangebyscore(source.key, `(${after}`, source.maxId, 'LIMIT', 0, limit);
    return ids.map(Number);
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let index = 0; index < items.length; index += size) groups.push(items.slice(index, index + size));
  return groups;
}
