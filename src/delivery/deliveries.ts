import type { Redis } from 'ioredis';
import { type Edition, type EditionStatus, type EditionStore, type ResendRecord, SENT_STATUSES } from '../editions/edition-store.ts';

/** Statuses whose edition has (or is getting) deliveries. */
const DELIVERED_STATUSES: readonly EditionStatus[] = ['ready', 'sending', 'sent'];
import { checkAddress } from '../subscribers/address.ts';
import type { SubscriberStore } from '../subscribers/subscriber-store.ts';
import type { FanOut, RecipientSource, RunSummary } from './fan-out.ts';
import type { DeliveryCounts, DeliveryLedger, FailureRecord, RunMode } from './ledger.ts';

export type ResendScope = { email: string } | { failed: true } | { all: true };

export type { ResendRecord };

export class DeliveryRecordsMissing extends Error {
  constructor(readonly edition: string) {
    super(`edition ${edition} was being delivered, but Redis holds no record of its delivery (restored or lost): it is not sent again by itself; resend it explicitly if readers are missing it`);
    this.name = 'DeliveryRecordsMissing';
  }
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
export interface DeliveriesDeps {
  /** Where runs keep their fixed upper bound (beside the ledger's run records). */
  redis: Redis;
  ledger: DeliveryLedger;
  fanOut: FanOut;
  subscribers: SubscriberStore;
  editions: EditionStore;
}

export class Deliveries {
  constructor(private readonly deps: DeliveriesDeps) {}

  /** The main run: everyone confirmed when it first started (later sign-ups wait for tomorrow). */
  /**
   * An edition already marked as sending whose run is unknown to Redis was delivered (or started)
   * before Redis lost its records (a restore, a Redis without persistence): starting again would
   * send it to everyone a second time, so it is refused; a resend is the explicit way.
   */
  async start(edition: Edition): Promise<RunSummary> {
    if (edition.status === 'sending' && !(await this.deps.redis.exists(this.deps.ledger.runKey(edition.id, 'main')))) throw new DeliveryRecordsMissing(edition.id);
    const maxId = await this.snapshotBound(edition.id, 'main');
    return this.deps.fanOut.run({ edition: edition.id, run: 'main', mode: 'normal', source: { kind: 'confirmed', maxId } });
  }

  async resend(editionId: string, scope: ResendScope, by: string): Promise<ResendResult> {
    const edition = await this.deps.editions.get(editionId);
    if (!edition) return { ok: false, status: 404, error: `no edition ${editionId}` };
    if (!SENT_STATUSES.includes(edition.status)) return { ok: false, status: 409, error: `edition ${editionId} has not been sent (status ${edition.status})` };
    if (edition.recordsRemovedAt) {
      return { ok: false, status: 409, error: `edition ${editionId} is past LEDGER_RETENTION_DAYS: its delivery records were removed, so it can no longer be resent (it stays readable at /editions/${editionId})` };
    }
    const target = await this.resendTarget(scope);
    if ('error' in target) return { ok: false, status: target.status, error: target.error };

    const at = new Date().toISOString();
    const run = await this.deps.editions.addResend(editionId, { scope: target.scope, ...(target.email ? { email: target.email } : {}), by, at });
    const source: RecipientSource =
      target.mode === 'failed'
        ? { kind: 'sorted-set', key: this.deps.ledger.failedIndexKey(editionId), maxId: Number.MAX_SAFE_INTEGER }
        : target.ids
          ? { kind: 'ids', ids: target.ids }
          : { kind: 'confirmed', maxId: await this.snapshotBound(editionId, run) };
    const summary = await this.deps.fanOut.run({ edition: editionId, run, mode: target.mode, source });
    await this.deps.editions.setResendRecipients(editionId, run, summary.recipients);
    const record: ResendRecord = { run, scope: target.scope, ...(target.email ? { email: target.email } : {}), by, at, recipients: summary.recipients };
    return { ok: true, resend: record };
  }

  async progress(editionId: string): Promise<Progress | null> {
    const edition = await this.deps.editions.get(editionId);
    if (!edition) return null;
    const [counts, resends, failures, failureReasons, mainDone] = await Promise.all([
      this.deps.ledger.counts(editionId),
      this.deps.editions.resends(editionId),
      this.deps.ledger.failures(editionId),
      this.deps.ledger.failureReasons(editionId),
      this.deps.redis.hget(this.deps.ledger.runKey(editionId, 'main'), 'done'),
    ]);
    return {
      edition: editionId,
      status: edition.status,
      counts,
      // An edition that never went out has nothing in flight; resend runs are recorded once their fan-out is done.
      finished: (!DELIVERED_STATUSES.includes(edition.status) || mainDone === '1') && counts.queued === 0 && counts.sending === 0 && counts.deferred === 0,
      resends,
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
    for (const id of await this.deps.editions.withRecordsCutBefore(before)) {
      if (!(await this.progress(id))?.finished) continue;
      const runs = ['main', ...(await this.deps.editions.resends(id)).map((resend) => resend.run)];
      await this.deps.ledger.removeRecords(id, runs, await this.deps.subscribers.highestId());
      await this.deps.editions.markRecordsRemoved(id, now);
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
      const id = await this.deps.subscribers.findIdByEmail(address.lookupKey);
      const subscriber = id ? await this.deps.subscribers.get(id) : null;
      if (!subscriber) return { status: 404, error: `no subscriber ${address.address}` };
      if (subscriber.state !== 'confirmed') return { status: 409, error: `${address.address} is ${subscriber.state}, not confirmed` };
      return { mode: 'all', scope: 'email', ids: [Number(subscriber.id)], email: subscriber.email };
    }
    return { status: 400, error: 'say one of {"email": ...}, {"failed": true} or {"all": true}' };
  }

  /** The highest subscriber id a run may reach, fixed when the run first starts so a resumed run covers the same people. */
  private async snapshotBound(editionId: string, run: string): Promise<number> {
    const metaKey = this.deps.ledger.runKey(editionId, run);
    await this.deps.redis.hsetnx(metaKey, 'maxId', await this.deps.subscribers.highestId());
    return Number(await this.deps.redis.hget(metaKey, 'maxId'));
  }
}
