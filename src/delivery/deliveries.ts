import type { Redis } from 'ioredis';
import {
  type Edition,
  type EditionStatus,
  type EditionStore,
  type ResendRecord,
  SENT_STATUSES,
} from '../editions/edition-store.ts';
import type { RedisKeys } from '../platform/redis-keys.ts';
import { checkAddress } from '../subscribers/address.ts';
import type { SubscriberStore } from '../subscribers/subscriber-store.ts';
import type { FanOut, RecipientSource, RunSummary } from './fan-out.ts';
import type { DeliveryCounts, DeliveryLedger, FailureRecord, RunMode } from './ledger.ts';
import type { PaceSnapshot } from './pacing/pacer.ts';
import type { TransportHealth } from './transports.ts';

function nothingInFlight(counts: DeliveryCounts): boolean {
  return counts.queued === 0 && counts.sending === 0 && counts.waiting === 0 && counts.deferred === 0;
}

/** Statuses whose edition has (or is getting) deliveries. */
const DELIVERED_STATUSES: readonly EditionStatus[] = ['ready', 'sending', 'sent'];

export type ResendScope = { email: string } | { failed: true } | { all: true };

export type { ResendRecord };

export class DeliveryRecordsMissing extends Error {
  constructor(readonly edition: string) {
    super(
      `edition ${edition} was being delivered, but Redis holds no record of its delivery (restored or lost): it is not sent again by itself; resend it explicitly if readers are missing it`,
    );
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
  /** How sending goes while it goes (null once finished, or before it started). */
  pace: DeliveryPace | null;
}

/** Where an edition's sending stands: per destination and transport, and when it should end. */
export interface DeliveryPace {
  /** Destinations that are paced (throttled lately, or with a limit of their own) or have recipients waiting. */
  destinations: Array<{
    destination: string;
    /** Recipients of this edition waiting for it. */
    waiting: number;
    /** Messages per second allowed now (the slowest of its transports); null when it is not paced. */
    ratePerSecond: number | null;
    throttledSince: string | null;
    pausedUntil: string | null;
  }>;
  transports: Array<{ name: string; inRotation: boolean; outUntil: string | null; outages: number }>;
  /** Messages sent per second since the run began. */
  sentPerSecond: number;
  /** When the last recipient should be sent, at the rate so far and the paces of the waiting destinations. */
  estimatedFinish: string | null;
}

/** Delivery runs of an edition: the first send to every confirmed subscriber, and explicit resends. */
export interface DeliveriesDeps {
  /** Where runs keep their fixed upper bound (beside the ledger's run records). */
  redis: Redis;
  keys: Pick<RedisKeys, 'run' | 'failedIndex'>;
  ledger: DeliveryLedger;
  fanOut: FanOut;
  /** The paces all workers keep (DestinationPacer.snapshot). */
  paces: { snapshot(): Promise<PaceSnapshot[]> };
  transports: { status(): Promise<TransportHealth[]> };
  subscribers: SubscriberStore;
  editions: EditionStore;
}

export class Deliveries {
  constructor(private readonly deps: DeliveriesDeps) {}

  /**
   * The main run: everyone confirmed when it first started (later sign-ups wait for tomorrow). An
   * edition already marked as sending whose run is unknown to Redis was delivered (or started)
   * before Redis lost its records (a restore, a Redis without persistence): starting again would
   * send it to everyone a second time, so it is refused; a resend is the explicit way.
   */
  async start(edition: Edition): Promise<RunSummary> {
    if (edition.status === 'sending' && !(await this.deps.redis.exists(this.deps.keys.run(edition.id, 'main'))))
      throw new DeliveryRecordsMissing(edition.id);
    const maxId = await this.snapshotBound(edition.id, 'main');
    return this.deps.fanOut.run({
      edition: edition.id,
      run: 'main',
      mode: 'normal',
      source: { kind: 'confirmed', maxId },
    });
  }

  /** Delivery of an edition that went out is over: its main run was queued in full and nothing is queued, being sent or waiting for a retry. */
  async finished(editionId: string): Promise<boolean> {
    const [counts, mainDone] = await Promise.all([
      this.deps.ledger.counts(editionId),
      this.deps.redis.hget(this.deps.keys.run(editionId, 'main'), 'done'),
    ]);
    return mainDone === '1' && nothingInFlight(counts);
  }

  async resend(editionId: string, scope: ResendScope, by: string): Promise<ResendResult> {
    const edition = await this.deps.editions.get(editionId);
    if (!edition) return { ok: false, status: 404, error: `no edition ${editionId}` };
    if (!SENT_STATUSES.includes(edition.status))
      return { ok: false, status: 409, error: `edition ${editionId} has not been sent (status ${edition.status})` };
    if (edition.recordsRemovedAt) {
      return {
        ok: false,
        status: 409,
        error: `edition ${editionId} is past LEDGER_RETENTION_DAYS: its delivery records were removed, so it can no longer be resent (it stays readable at /editions/${editionId})`,
      };
    }
    const target = await this.resendTarget(scope);
    if ('error' in target) return { ok: false, status: target.status, error: target.error };

    const at = new Date().toISOString();
    const run = await this.deps.editions.addResend(editionId, {
      scope: target.scope,
      ...(target.email ? { email: target.email } : {}),
      by,
      at,
    });
    const source: RecipientSource =
      target.mode === 'failed'
        ? { kind: 'sorted-set', key: this.deps.keys.failedIndex(editionId), maxId: Number.MAX_SAFE_INTEGER }
        : target.ids
          ? { kind: 'ids', ids: target.ids }
          : { kind: 'confirmed', maxId: await this.snapshotBound(editionId, run) };
    const summary = await this.deps.fanOut.run({ edition: editionId, run, mode: target.mode, source });
    await this.deps.editions.setResendRecipients(editionId, run, summary.recipients);
    const record: ResendRecord = {
      run,
      scope: target.scope,
      ...(target.email ? { email: target.email } : {}),
      by,
      at,
      recipients: summary.recipients,
    };
    return { ok: true, resend: record };
  }

  async progress(editionId: string): Promise<Progress | null> {
    const edition = await this.deps.editions.get(editionId);
    if (!edition) return null;
    const [counts, resends, failures, failureReasons, [mainDone, startedAt]] = await Promise.all([
      this.deps.ledger.counts(editionId),
      this.deps.editions.resends(editionId),
      this.deps.ledger.failures(editionId),
      this.deps.ledger.failureReasons(editionId),
      this.deps.redis.hmget(this.deps.keys.run(editionId, 'main'), 'done', 'startedAt'),
    ]);
    // An edition that never went out has nothing in flight; resend runs are recorded once their fan-out is done.
    const finished = (!DELIVERED_STATUSES.includes(edition.status) || mainDone === '1') && nothingInFlight(counts);
    return {
      edition: editionId,
      status: edition.status,
      counts,
      finished,
      resends,
      failureReasons,
      failures: Object.entries(failures).map(([subscriberId, failure]) => ({ subscriberId, ...failure })),
      recordsRemovedAt: edition.recordsRemovedAt?.toISOString() ?? null,
      error: edition.error ?? null,
      pace: finished || !startedAt ? null : await this.pace(editionId, counts, Date.parse(startedAt)),
    };
  }

  private async pace(editionId: string, counts: DeliveryCounts, startedAt: number): Promise<DeliveryPace> {
    const [waiting, paces, transports] = await Promise.all([
      this.deps.ledger.waitingByDestination(editionId),
      this.deps.paces.snapshot(),
      this.deps.transports.status(),
    ]);
    const names = new Set([...waiting.keys(), ...paces.map((pace) => pace.destination)]);
    const destinations = [...names].sort().map((destination) => {
      const own = paces.filter((pace) => pace.destination === destination);
      const throttled = own.map((pace) => pace.throttledSince).filter((at): at is Date => at !== null);
      const paused = own.map((pace) => pace.pausedUntil).filter((at): at is Date => at !== null);
      return {
        destination,
        waiting: waiting.get(destination) ?? 0,
        ratePerSecond: own.length ? Math.round(own.reduce((sum, pace) => sum + pace.rate, 0) * 10) / 10 : null,
        throttledSince: throttled.length ? new Date(Math.min(...throttled.map(Number))).toISOString() : null,
        pausedUntil: paused.length ? new Date(Math.max(...paused.map(Number))).toISOString() : null,
      };
    });
    const now = Date.now();
    const sentPerSecond = counts.sent / Math.max(1, (now - startedAt) / 1000);
    const left = counts.queued + counts.sending + counts.waiting + counts.deferred;
    // The slowest of: everyone left at the rate so far, and each waiting destination at its own pace.
    const seconds = Math.max(
      sentPerSecond > 0 ? left / sentPerSecond : Number.POSITIVE_INFINITY,
      ...destinations.map((entry) =>
        entry.waiting > 0 && entry.ratePerSecond ? entry.waiting / entry.ratePerSecond : 0,
      ),
    );
    return {
      destinations,
      transports: transports.map((transport) => ({
        ...transport,
        outUntil: transport.outUntil?.toISOString() ?? null,
      })),
      sentPerSecond: Math.round(sentPerSecond * 10) / 10,
      estimatedFinish: Number.isFinite(seconds) ? new Date(now + seconds * 1000).toISOString() : null,
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
  ): Promise<
    | { mode: RunMode; scope: ResendRecord['scope']; ids?: number[]; email?: string }
    | { status: 400 | 404 | 409; error: string }
  > {
    if ('failed' in scope && scope.failed === true) return { mode: 'failed', scope: 'failed' };
    if ('all' in scope && scope.all === true) return { mode: 'all', scope: 'all' };
    if ('email' in scope) {
      const address = checkAddress(scope.email);
      if (!address.ok) return { status: 400, error: `email: ${address.reason}` };
      const id = await this.deps.subscribers.findIdByEmail(address.lookupKey);
      const subscriber = id ? await this.deps.subscribers.get(id) : null;
      if (!subscriber) return { status: 404, error: `no subscriber ${address.address}` };
      if (subscriber.state !== 'confirmed')
        return { status: 409, error: `${address.address} is ${subscriber.state}, not confirmed` };
      return { mode: 'all', scope: 'email', ids: [Number(subscriber.id)], email: subscriber.email };
    }
    return { status: 400, error: 'say one of {"email": ...}, {"failed": true} or {"all": true}' };
  }

  /** The highest subscriber id a run may reach, fixed when the run first starts so a resumed run covers the same people. */
  private async snapshotBound(editionId: string, run: string): Promise<number> {
    const metaKey = this.deps.keys.run(editionId, run);
    await this.deps.redis.hsetnx(metaKey, 'maxId', await this.deps.subscribers.highestId());
    return Number(await this.deps.redis.hget(metaKey, 'maxId'));
  }
}
