import type { Redis } from 'ioredis';
import type { Edition, EditionStore } from '../editions/edition-store.ts';
import type { Keyspace } from '../platform/redis.ts';
import { checkAddress } from '../subscribers/address.ts';
import type { SubscriberStore } from '../subscribers/subscriber-store.ts';
import type { FanOut, RecipientSource, RunSummary } from './fan-out.ts';
import type { DeliveryCounts, DeliveryLedger, FailureRecord, RunMode } from './ledger.ts';

export type ResendScope = { email: string } | { failed: true } | { all: true };

export interface ResendRecord {
  run: string;
  scope: 'email' | 'failed' | 'all';
  email?: string;
  by: string;
  at: string;
  recipients: number;
}

export type ResendResult = { ok: true; resend: ResendRecord } | { ok: false; status: 400 | 404 | 409; error: string };

export interface Progress {
  edition: string;
  status: Edition['status'];
  counts: DeliveryCounts;
  /** True once nothing is queued, sending or waiting for a retry. */
  finished: boolean;
  resends: ResendRecord[];
  /** Failed deliveries grouped by SMTP reply, largest group first. */
  failureReasons: Array<{ reason: string; count: number }>;
  /** The first 100 failure records (failed, or the last error of a deferred delivery). */
  failures: Array<{ subscriberId: string } & FailureRecord>;
  /** When the per-recipient records were removed (LEDGER_RETENTION_DAYS): the counts stay, resends are no longer possible. */
  recordsRemovedAt: string | null;
  /** Why a `failed` edition could not be composed (nothing was sent). */
  error: string | null;
}

/** Delivery runs of an edition: the first send to every confirmed subscriber, and explicit resends. */
export class Deliveries {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly ledger: DeliveryLedger,
    private readonly fanOut: FanOut,
    private readonly subscribers: SubscriberStore,
    private readonly editions: EditionStore,
  ) {}

  /** The main run: everyone confirmed when it first started (later sign-ups wait for tomorrow). */
  async start(edition: Edition): Promise<RunSummary> {
    const maxId = await this.snapshotBound(edition.id, 'main');
    return this.fanOut.run({ edition: edition.id, run: 'main', mode: 'normal', source: { kind: 'sorted-set', key: this.subscribers.confirmedKey, maxId } });
  }

  async resend(editionId: string, scope: ResendScope, by: string): Promise<ResendResult> {
    const edition = await this.editions.get(editionId);
    if (!edition) return { ok: false, status: 404, error: `no edition ${editionId}` };
    if (edition.status !== 'sending') return { ok: false, status: 409, error: `edition ${editionId} has not been sent (status ${edition.status})` };
    if (edition.recordsRemovedAt) {
      return { ok: false, status: 409, error: `edition ${editionId} is past LEDGER_RETENTION_DAYS: its delivery records were removed, so it can no longer be resent (it stays readable at /editions/${editionId})` };
    }
    const target = await this.resendTarget(scope);
    if ('error' in target) return { ok: false, status: target.status, error: target.error };

    const run = `r${await this.redis.hincrby(this.keys.key('edition', editionId), 'resends', 1)}`;
    const source: RecipientSource =
      target.mode === 'failed'
        ? { kind: 'sorted-set', key: this.ledger.failedIndexKey(editionId), maxId: Number.MAX_SAFE_INTEGER }
        : target.ids
          ? { kind: 'ids', ids: target.ids }
          : { kind: 'sorted-set', key: this.subscribers.confirmedKey, maxId: await this.snapshotBound(editionId, run) };
    const summary = await this.fanOut.run({ edition: editionId, run, mode: target.mode, source });
    const record: ResendRecord = {
      run,
      scope: target.scope,
      ...(target.email ? { email: target.email } : {}),
      by,
      at: new Date().toISOString(),
      recipients: summary.recipients,
    };
    await this.redis.rpush(this.keys.key('edition', editionId, 'resends'), JSON.stringify(record));
    return { ok: true, resend: record };
  }

  async progress(editionId: string): Promise<Progress | null> {
    const edition = await this.editions.get(editionId);
    if (!edition) return null;
    const [counts, rawResends, failures, failureReasons, mainDone] = await Promise.all([
      this.ledger.counts(editionId),
      this.redis.lrange(this.keys.key('edition', editionId, 'resends'), 0, -1),
      this.ledger.failures(editionId),
      this.ledger.failureReasons(editionId),
      this.redis.hget(this.ledger.runKey(editionId, 'main'), 'done'),
    ]);
    return {
      edition: editionId,
      status: edition.status,
      counts,
      // Resend runs are recorded once their fan-out is done; the main run says so itself.
      finished: (edition.status === 'empty' || edition.status === 'failed' || mainDone === '1') && counts.queued === 0 && counts.sending === 0 && counts.deferred === 0,
      resends: rawResends.map((line) => JSON.parse(line) as ResendRecord),
      failureReasons,
      failures: Object.entries(failures).map(([subscriberId, failure]) => ({ subscriberId, ...failure })),
      recordsRemovedAt: edition.recordsRemovedAt?.toISOString() ?? null,
      error: edition.error ?? null,
    };
  }

  /**
   * Removes the per-recipient records of finished editions cut before `before`, because at a million
   * subscribers each edition's ledger holds ~65 MB of Redis memory. Returns the editions it cleared.
   */
  async removeRecordsBefore(before: Date, now = new Date()): Promise<string[]> {
    const cleared: string[] = [];
    for (const id of await this.editions.withRecordsCutBefore(before)) {
      if (!(await this.progress(id))?.finished) continue;
      const resends = Number((await this.redis.hget(this.keys.key('edition', id), 'resends')) ?? 0);
      const runs = ['main', ...Array.from({ length: resends }, (_, index) => `r${index + 1}`)];
      await this.ledger.removeRecords(id, runs, await this.highestSubscriberId());
      await this.editions.markRecordsRemoved(id, now);
      cleared.push(id);
    }
    return cleared;
  }

  private async resendTarget(
    scope: ResendScope,
  ): Promise<{ mode: RunMode; scope: ResendRecord['scope']; ids?: number[]; email?: string } | { status: 400 | 404 | 409; error: string }> {
    if ('failed' in scope && scope.failed === true) return { mode: 'failed', scope: 'failed' };
    if ('all' in scope && scope.all === true) return { mode: 'all', scope: 'all' };
    if ('email' in scope) {
      const address = checkAddress(scope.email);
      if (!address.ok) return { status: 400, error: `email: ${address.reason}` };
      const id = await this.subscribers.findIdByEmail(address.lookupKey);
      const subscriber = id ? await this.subscribers.get(id) : null;
      if (!subscriber) return { status: 404, error: `no subscriber ${address.address}` };
      if (subscriber.state !== 'confirmed') return { status: 409, error: `${address.address} is ${subscriber.state}, not confirmed` };
      return { mode: 'all', scope: 'email', ids: [Number(subscriber.id)], email: subscriber.email };
    }
    return { status: 400, error: 'say one of {"email": ...}, {"failed": true} or {"all": true}' };
  }

  /** The highest subscriber id a run may reach, fixed when the run first starts so a resumed run covers the same people. */
  private async snapshotBound(editionId: string, run: string): Promise<number> {
    const metaKey = this.ledger.runKey(editionId, run);
    await this.redis.hsetnx(metaKey, 'maxId', await this.highestSubscriberId());
    return Number(await this.redis.hget(metaKey, 'maxId'));
  }

  private async highestSubscriberId(): Promise<number> {
    return Number((await this.redis.get(this.keys.key('subs', 'seq'))) ?? 0);
  }
}
