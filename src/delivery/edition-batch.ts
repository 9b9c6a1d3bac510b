import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DelayedError, type Job } from 'bullmq';
import type { Edition, EditionStore } from '../editions/edition-store.ts';
import type { FeedbackLoop } from '../feedback/feedback-loop.ts';
import { refusalReport } from '../feedback/send-refusal.ts';
import type { Logger } from '../platform/logger.ts';
import { emailsNotSent, emailsSent } from '../platform/metrics.ts';
import type { DeliveryRecipient, SubscriberStore } from '../subscribers/subscriber-store.ts';
import { comebackMs, type PutAsideAttempt } from './comeback.ts';
import { forEachConcurrently } from './concurrency.ts';
import { type InlineWaitSettings, type Lane, LaneRouter, type RoutedAttempt } from './lane-router.ts';
import type { Claimed, DeliveryLedger, FailureRecord } from './ledger.ts';
import type { SendFailure } from './mail-sender.ts';
import type { Messages } from './messages.ts';
import { destinationOf } from './pacing/destinations.ts';
import type { Pacing } from './pacing/pacing.ts';
import { type DeliveryJob, deliveryJobId } from './queues.ts';
import type { SendRate } from './send-rate.ts';
import { type SendTrouble, troubleOf } from './send-outcome.ts';
import type { Transport, Transports } from './transports.ts';

export interface BatchReport {
  claimed: number;
  sent: number;
  /** Put aside for their destination's pace, or because no transport could be reached: no attempt spent. */
  waiting: number;
  deferred: number;
  failed: number;
}

/** Thrown so that BullMQ retries the batch later; only its deferred (and waiting) recipients are tried again. */
export class DeferredDeliveries extends Error {
  constructor(readonly report: BatchReport) {
    super(`${report.deferred} of ${report.claimed} deliveries deferred; retrying with backoff`);
    this.name = 'DeferredDeliveries';
  }
}

export interface EditionBatchSettings extends InlineWaitSettings {
  /** How long a claimed recipient stays this attempt's before a retry of the job may take it back. */
  leaseSeconds: number;
  /** The longest one send may take (SMTP timeouts); no send starts later than this before the lease ends. */
  sendTimeoutMs: number;
  /**
   * Recipients of one destination of a batch being routed or sent at once. Messages are composed
   * only once they hold an SMTP connection, so the connections bound the memory they take.
   */
  sendsPerBatch: number;
}

export interface EditionBatchDeps {
  settings: EditionBatchSettings;
  ledger: DeliveryLedger;
  editions: EditionStore;
  subscribers: SubscriberStore;
  /** Where a server's permanent refusal goes: what it does to the reader is the feedback loop's to decide. */
  feedback: Pick<FeedbackLoop, 'apply'>;
  messages: Messages;
  transports: Transports;
  pacing: Pacing;
  rate: SendRate;
  logger: Logger;
}

/** A claimed recipient with where the pacer counts it. */
interface Recipient extends Claimed {
  destination: string;
}

/** One attempt at one batch: what it claimed, until when it may start sends, and how it went. */
interface Attempt extends RoutedAttempt, PutAsideAttempt {
  job: Job<DeliveryJob>;
  edition: Edition;
  /** This attempt's name in the ledger (job~random): a late answer from an earlier attempt cannot settle what this one took back. */
  owner: string;
  recipients: Recipient[];
  /** Seconds until entries a dead attempt of this job still holds may be taken back. */
  heldSeconds: number;
  claimedAt: number;
  lastAttempt: boolean;
  report: BatchReport;
  /** Recipients whose lease ran out before their send could start (they stay `sending` until it ends). */
  outOfLease: number;
  /** Sends the relay turned away (throttled, or the transport unreachable). */
  refused: number;
  /** As in PutAsideAttempt, filled in while the attempt's sends go. */
  paces: Map<string, { waitMs: number; rate: number }>;
  /** Written to the ledger together once the attempt's sends are done. */
  aside: Array<{ subscriberId: string; destination: string; reply: string }>;
  waitingFor: Map<string, number>;
}

/**
 * Delivers one batch of an edition: claim (under the ledger's lock) → for each recipient: route
 * (`LaneRouter`: a transport in rotation, the destination's pace, the rates) → compose → send →
 * settle → and in the end conclude: done, retried with backoff (deferred recipients), or delayed
 * without spending an attempt (recipients waiting for their destination's pace or for a transport).
 */
export class EditionBatchSender {
  private readonly editions = new Map<string, Edition>();
  private untried = { edition: '', at: 0, value: 0 };
  private lastRefusalWarning = 0;
  private readonly router: LaneRouter;

  constructor(private readonly deps: EditionBatchDeps) {
    this.router = new LaneRouter(deps);
  }

  async deliver(job: Job<DeliveryJob>, token: string | undefined): Promise<BatchReport> {
    const attempt = await this.claim(job);
    await this.sendAll(attempt);
    return this.conclude(attempt, token);
  }

  /** Reads the batch's recipients from PostgreSQL right before the claim, so an unsubscribe committed until now is honoured. */
  private async claim(job: Job<DeliveryJob>): Promise<Attempt> {
    const { edition: editionId, run, mode, batch } = job.data;
    const { settings, ledger, subscribers } = this.deps;
    const owner = `${deliveryJobId(job.data)}~${randomBytes(4).toString('hex')}`;
    const edition = await this.edition(editionId);
    const ids = await ledger.batchIds(editionId, run, batch);
    const found = await subscribers.forDelivery(ids);
    const byId = new Map([...found].map(([id, subscriber]) => [id, recipientOf(subscriber)]));
    const untried = await this.untriedOf(editionId);
    const claimedAt = performance.now();
    const { claimed, heldSeconds } = await ledger.claim({
      edition: editionId,
      run,
      owner,
      mode,
      batch,
      batchSize: ids.length,
      recipients: ids.map((id) => ({
        id,
        confirmed: found.get(id)?.state === 'confirmed',
        destination: byId.get(id)?.destination ?? '',
      })),
      leaseSeconds: settings.leaseSeconds,
    });
    const recipients = claimed.flatMap((id) => byId.get(id) ?? []);
    return {
      job,
      edition,
      owner,
      recipients,
      heldSeconds,
      claimedAt,
      lastStart: claimedAt + settings.leaseSeconds * 1000 - settings.sendTimeoutMs,
      inlineUntil: claimedAt + (untried > 0 ? settings.busyInlineWaitMs : settings.idleInlineWaitMs),
      unpacedLanes: 0,
      unpacedDoneAt: claimedAt,
      lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      report: { claimed: recipients.length, sent: 0, waiting: 0, deferred: 0, failed: 0 },
      outOfLease: 0,
      refused: 0,
      soonestMs: Number.POSITIVE_INFINITY,
      asideDestinations: new Set(),
      paces: new Map(),
      aside: [],
      waitingFor: new Map(),
    };
  }

  /** Each destination of the batch in its own lane, so a slow one never holds up the others. */
  private async sendAll(attempt: Attempt): Promise<void> {
    const byDestination = new Map<string, Recipient[]>();
    for (const recipient of attempt.recipients) {
      const group = byDestination.get(recipient.destination);
      if (group) group.push(recipient);
      else byDestination.set(recipient.destination, [recipient]);
    }
    const lanes = this.router.lanes(attempt, byDestination.keys());
    try {
      await Promise.all(lanes.map((lane) => this.sendLane(attempt, lane, byDestination.get(lane.destination) ?? [])));
    } finally {
      // A throttled destination's lane puts most of its recipients aside: one ledger call for all
      // of them, not one each, keeps a paced edition's Redis work (and the workers' CPU) for sending.
      const { edition, run } = attempt.job.data;
      attempt.waitingFor = (
        await this.deps.ledger.putAside({ edition, run, owner: attempt.owner, recipients: attempt.aside })
      ).waiting;
    }
  }

  private async sendLane(attempt: Attempt, lane: Lane, recipients: Recipient[]): Promise<void> {
    try {
      await forEachConcurrently(recipients, this.deps.settings.sendsPerBatch, (recipient) =>
        this.sendOne(attempt, lane, recipient),
      );
    } finally {
      this.router.laneDone(attempt, lane);
    }
  }

  private async sendOne(attempt: Attempt, lane: Lane, recipient: Recipient): Promise<void> {
    const route = await this.router.route(attempt, lane);
    if (route === 'aside') return this.putAside(attempt, recipient, null, 'waiting for its destination');
    if ('waitMs' in route) {
      attempt.asideDestinations.add(recipient.destination);
      if (route.rate === undefined) return this.putAside(attempt, recipient, route.waitMs, 'waiting for a transport');
      attempt.paces.set(recipient.destination, { waitMs: route.waitMs, rate: route.rate });
      return this.putAside(attempt, recipient, null, 'waiting for its destination');
    }
    let reply: string | null;
    try {
      // The last word before a message goes on the wire: past this, another worker may already
      // have taken the recipient back (this process was frozen, or starved of CPU).
      if (performance.now() > attempt.lastStart) {
        attempt.outOfLease += 1;
        return;
      }
      reply = await this.send(attempt, recipient, route.transport);
    } finally {
      // The connection's next message need not wait for this one's bookkeeping.
      route.release();
    }
    if (reply !== null) await this.sent(attempt, recipient, route.transport, reply);
  }

  /**
   * The recipient's message through `transport`: the server's reply when it took the message, or
   * null once what went wrong is recorded (while the connection is still held, so that a throttle
   * reaches the pacer before the connection's next message goes).
   */
  private async send(attempt: Attempt, recipient: Recipient, transport: Transport): Promise<string | null> {
    const { messages } = this.deps;
    const message = messages.edition(attempt.edition, recipient, attempt.job.data.run);
    try {
      return (await transport.sender.send(message.envelope, message.raw, message.messageId)).reply;
    } catch (error) {
      await this.notSent(attempt, recipient, transport, troubleOf(error));
      return null;
    } finally {
      messages.recycle(message);
    }
  }

  /**
   * Accepted: what fails from here on is our bookkeeping, never the send. It propagates and ends
   * the attempt; the entry stays `sending` and its lease decides (the known window for a copy too many).
   */
  private async sent(attempt: Attempt, recipient: Recipient, transport: Transport, reply: string): Promise<void> {
    const { pacing, transports } = this.deps;
    await Promise.all([pacing.succeeded(transport.name, recipient.destination), transports.reached(transport)]);
    await this.settle(attempt, recipient, 'sent', reply);
    attempt.report.sent += 1;
    emailsSent.inc({ kind: 'edition' });
  }

  private async notSent(
    attempt: Attempt,
    recipient: Recipient,
    transport: Transport,
    trouble: SendTrouble,
  ): Promise<void> {
    emailsNotSent.inc({ outcome: trouble.kind, code: String(trouble.code ?? 'none') });
    if (trouble.kind === 'throttled' || trouble.kind === 'unreachable' || trouble.kind === 'unsent') {
      attempt.refused += 1;
      if (trouble.kind === 'throttled')
        await this.deps.pacing.throttled(transport.name, recipient.destination, trouble.pauseMs);
      else await this.deps.transports.notReached(transport, trouble);
      if (trouble.kind === 'unsent') await this.deps.pacing.connectionBroke(transport.name, recipient.destination);
      return this.putAside(attempt, recipient, null, trouble.reply);
    }
    // Only a real temporary failure spends an attempt; on the last one it is final.
    const state = trouble.kind === 'deferred' && !attempt.lastAttempt ? 'deferred' : 'failed';
    // Before the settle: once the ledger says `failed`, a resend of the failed ones must find the
    // reader as the refusal left them (a gone address suppressed, a policy block's reader not).
    if (trouble.kind === 'failed') await this.reportRefusal(attempt, recipient, trouble);
    await this.settle(attempt, recipient, state, trouble.reply, {
      code: trouble.code,
      reply: trouble.reply,
      at: new Date().toISOString(),
      attempt: attempt.job.attemptsMade + 1,
    });
    attempt.report[state] += 1;
  }

  /**
   * A permanent refusal takes the path of every bounce report and is classified by the same rules: a
   * gone address is suppressed, a policy block (5.7.x: our authentication, reputation, content)
   * suppresses nobody, counts in the edition's feedback and is told to the desk. The delivery is
   * `failed` either way, tried again only by a resend of the failed ones. One report per reader and
   * run: an attempt that takes the recipient back after a crash finds it applied already.
   */
  private async reportRefusal(
    attempt: Attempt,
    recipient: Recipient,
    refusal: Extract<SendFailure, { kind: 'failed' }>,
  ): Promise<void> {
    const { edition, run } = attempt.job.data;
    const event = refusalReport({
      ...refusal,
      email: recipient.email,
      edition,
      eventId: `${edition}/${run}/${recipient.id}`,
      at: new Date(),
    });
    await this.deps.feedback.apply(event, { by: 'sender' });
  }

  /** Back to the ledger as `waiting` (once the attempt's sends are done): tried again when the batch comes back, at no attempt's cost. */
  private putAside(attempt: Attempt, recipient: Recipient, waitMs: number | null, why: string): void {
    if (waitMs !== null) attempt.soonestMs = Math.min(attempt.soonestMs, waitMs);
    attempt.aside.push({ subscriberId: recipient.id, destination: recipient.destination, reply: why });
    attempt.report.waiting += 1;
  }

  private async settle(
    attempt: Attempt,
    recipient: Recipient,
    state: 'sent' | 'deferred' | 'failed',
    reply: string,
    failure?: FailureRecord,
  ): Promise<void> {
    const { edition, run } = attempt.job.data;
    await this.deps.ledger.settle({
      edition,
      run,
      owner: attempt.owner,
      subscriberId: recipient.id,
      state,
      reply,
      ...(failure ? { failure } : {}),
    });
  }

  /**
   * Done when everyone claimed was settled for good. Otherwise the batch comes back: after the
   * lease of recipients still held, with backoff (an attempt spent) for deferred ones, or, for
   * recipients only waiting, when the soonest of them may go (no attempt spent).
   */
  private async conclude(attempt: Attempt, token: string | undefined): Promise<BatchReport> {
    const { job, report } = attempt;
    const log = this.deps.logger.child({
      edition: job.data.edition,
      run: job.data.run,
      job: job.id,
      attempt: job.attemptsMade + 1,
    });
    log.info({ ...report, outOfLease: attempt.outOfLease, refused: attempt.refused }, 'batch delivered');
    if (attempt.heldSeconds > 0 || attempt.outOfLease > 0) {
      const leaseLeftMs =
        attempt.outOfLease > 0 ? attempt.claimedAt + this.deps.settings.leaseSeconds * 1000 - performance.now() : 0;
      return this.comeBack(job, token, Math.max(attempt.heldSeconds * 1000, leaseLeftMs, 0) + 1000);
    }
    if (report.deferred > 0) throw new DeferredDeliveries(report);
    if (report.waiting === 0) return report;
    // A relay that refuses everything gets a pace of its own (throttled) or leaves the rotation
    // (unreachable): the batch waits for that instead of spending its attempts.
    if (report.sent === 0 && attempt.refused > 0 && performance.now() - this.lastRefusalWarning >= 1000) {
      // At most once a second per process: under throttling many small batches come back empty-handed.
      this.lastRefusalWarning = performance.now();
      log.warn({ waiting: report.waiting, refused: attempt.refused }, 'SMTP server refuses all mail; pausing delivery');
    }
    return this.comeBack(job, token, comebackMs(attempt));
  }

  /** Recipients of the edition in batches not yet claimed once (the ledger's `queued`), read at most once a second per process. */
  private async untriedOf(edition: string): Promise<number> {
    if (this.untried.edition !== edition || performance.now() - this.untried.at >= 1000) {
      this.untried = { edition, at: performance.now(), value: (await this.deps.ledger.counts(edition)).queued };
    }
    return this.untried.value;
  }

  private async comeBack(job: Job<DeliveryJob>, token: string | undefined, afterMs: number): Promise<never> {
    await job.moveToDelayed(Date.now() + afterMs, token);
    throw new DelayedError();
  }

  private async edition(id: string): Promise<Edition> {
    const cached = this.editions.get(id);
    if (cached) return cached;
    const edition = await this.deps.editions.get(id);
    if (!edition) throw new Error(`edition ${id} does not exist`);
    if (this.editions.size >= 3) this.editions.delete(this.editions.keys().next().value ?? '');
    this.editions.set(id, edition);
    return edition;
  }
}

function recipientOf(subscriber: DeliveryRecipient): Recipient {
  return {
    id: subscriber.id,
    email: subscriber.email,
    name: subscriber.name,
    format: subscriber.format,
    destination: destinationOf(subscriber.email),
  };
}
