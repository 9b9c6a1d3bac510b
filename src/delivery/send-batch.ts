import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DelayedError, type Job, RateLimitError } from 'bullmq';
import type { Edition, EditionStore } from '../editions/edition-store.ts';
import type { Logger } from '../platform/logger.ts';
import { emailsNotSent, emailsSent } from '../platform/metrics.ts';
import type { Subscriber, SubscriberStore } from '../subscribers/subscriber-store.ts';
import type { Subscriptions } from '../subscribers/subscriptions.ts';
import type { Claimed, DeliveryLedger } from './ledger.ts';
import { classifySendError, type MailSender, type SendFailure } from './mail-sender.ts';
import type { Messages, OutgoingMessage } from './messages.ts';
import { type ConfirmationJob, type DeliveryJob, deliveryJobId, type TransactionalJob, type WelcomeJob } from './queues.ts';
import type { SendRate } from './send-rate.ts';

export interface BatchReport {
  claimed: number;
  sent: number;
  deferred: number;
  failed: number;
}

/** Thrown so that BullMQ retries the batch later; only its deferred recipients are tried again. */
export class DeferredDeliveries extends Error {
  constructor(readonly report: BatchReport) {
    super(`${report.deferred} of ${report.claimed} deliveries deferred; retrying with backoff`);
    this.name = 'DeferredDeliveries';
  }
}

type SettledState = 'sent' | 'deferred' | 'failed';

export interface BatchSettings {
  /** How long a claimed recipient stays this attempt's before a retry of the job may take it back. */
  leaseSeconds: number;
  /** How long the whole queue pauses when the SMTP server refuses everything. */
  pauseMs: number;
  /** How many such pauses one batch may cause before its recipients are deferred like any other failure. */
  maxPauses: number;
  /** Messages of one batch in flight at once. */
  sendsPerBatch: number;
  /** The longest one send may take (SMTP timeouts); no send starts later than this before the lease ends. */
  sendTimeoutMs: number;
  /** SMTP connections of this process (SMTP_POOL_SIZE): edition sends in flight at once. */
  connections: number;
}

/** A counting semaphore: at most `size` holders at once, the rest wait in order. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}

async function forEachConcurrently<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** What the batch may ask of the worker running it. */
export interface QueueControl {
  /** Stops every worker of the queue taking jobs for `ms` (BullMQ's rate limit: global, in Redis). */
  pause(ms: number): Promise<void>;
}

interface SendHow {
  kind: 'edition' | 'confirmation' | 'welcome';
  /** On the last attempt a temporary failure is final. */
  lastAttempt: boolean;
  settle: (state: SettledState, reply: string, failure?: { code: number | null; reply: string; at: string }) => Promise<boolean>;
  onDeferred?: (failure: SendFailure) => void;
}

/** Connection trouble or 421 (service unavailable) says nothing about the recipient: the server is down or throttling. */
function isServerWide(failure: SendFailure): boolean {
  return failure.code === null || failure.code === 421;
}

function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** Sends one batch: claim under the ledger's lock, personalize, send, settle each recipient. */
export class BatchSender {
  private readonly editions = new Map<string, Edition>();
  private readonly connections: Slots;

  constructor(
    private readonly settings: BatchSettings,
    private readonly rate: SendRate,
    private readonly ledger: DeliveryLedger,
    private readonly editionStore: EditionStore,
    private readonly messages: Messages,
    private readonly sender: MailSender,
    private readonly subscriptions: Subscriptions,
    private readonly subscribers: SubscriberStore,
    private readonly logger: Logger,
  ) {
    this.connections = new Slots(settings.connections);
  }

  async deliver(job: Job<DeliveryJob>, token: string | undefined, queue: QueueControl): Promise<BatchReport> {
    const { edition: editionId, run, mode, batch } = job.data;
    // One owner per attempt: a late answer from an attempt that lost the job cannot settle the entries
    // the next attempt of the same job took back.
    const owner = `${deliveryJobId(job.data)}~${randomBytes(4).toString('hex')}`;
    const edition = await this.edition(editionId);
    const ids = await this.ledger.batchIds(editionId, run, batch);
    // Read right before the claim, so an unsubscribe or bounce committed until now is honoured.
    const subscribers = await this.subscribers.forDelivery(ids);
    const claimedAt = performance.now();
    const { claimed: claimedIds, heldSeconds } = await this.ledger.claim({
      edition: editionId,
      run,
      owner,
      mode,
      batch,
      batchSize: ids.length,
      recipients: ids.map((id) => ({ id, confirmed: subscribers.get(id)?.state === 'confirmed' })),
      leaseSeconds: this.settings.leaseSeconds,
    });
    const claimed = claimedIds.flatMap((id): Claimed[] => {
      const subscriber = subscribers.get(id);
      return subscriber ? [{ id, email: subscriber.email, name: subscriber.name, format: subscriber.format }] : [];
    });
    // A send may only start while it can end inside the lease: after that another worker may have
    // taken these recipients back (this process may have been frozen, or starved of CPU).
    const lastStart = claimedAt + this.settings.leaseSeconds * 1000 - this.settings.sendTimeoutMs;
    let outOfLease = 0;
    const lastAttempt = isLastAttempt(job);
    const report: BatchReport = { claimed: claimed.length, sent: 0, deferred: 0, failed: 0 };
    const deferrals: SendFailure[] = [];
    // A few sends at a time per batch: enough to keep the SMTP pool busy, and each message is only
    // composed when it is about to go, so memory does not grow with the batch.
    await forEachConcurrently(claimed, this.settings.sendsPerBatch, async (recipient) => {
      await this.rate.take();
      // One SMTP connection each: nothing waits inside nodemailer's queue, so the lease check below
      // is the last word before a message goes on the wire.
      const release = await this.connections.acquire();
      if (performance.now() > lastStart) {
        release();
        outOfLease += 1;
        return;
      }
      const outcome = await this.sendOne(this.messages.edition(edition, recipient, run), recipient, {
        kind: 'edition',
        lastAttempt,
        settle: (state, reply, failure) =>
          this.ledger.settle({
            edition: editionId,
            run,
            owner,
            subscriberId: recipient.id,
            state,
            reply,
            ...(failure ? { failure: { ...failure, attempt: job.attemptsMade + 1 } } : {}),
          }),
        onDeferred: (failure) => deferrals.push(failure),
      }).finally(release);
      report[outcome] += 1;
    });
    const log = this.logger.child({ edition: editionId, run, job: job.id, attempt: job.attemptsMade + 1 });
    log.info({ ...report, outOfLease }, 'batch delivered');
    const leaseLeftMs = outOfLease > 0 ? claimedAt + this.settings.leaseSeconds * 1000 - performance.now() : 0;
    if (heldSeconds > 0 || outOfLease > 0) {
      // Recipients still `sending` under a lease (a dead attempt's, or ours that ran out of time):
      // take them back once the lease has ended.
      await job.moveToDelayed(Date.now() + Math.max(heldSeconds * 1000, leaseLeftMs, 0) + 1000, token);
      throw new DelayedError();
    }
    if (report.deferred === 0) return report;
    if (report.sent === 0 && deferrals.every(isServerWide) && job.attemptsStarted - job.attemptsMade <= this.settings.maxPauses) {
      // The server refuses everything: pause the queue for every worker instead of burning retries.
      log.warn({ pauseMs: this.settings.pauseMs, reply: deferrals[0]?.reply }, 'SMTP server refuses all mail; pausing delivery');
      await queue.pause(this.settings.pauseMs);
      throw new RateLimitError();
    }
    throw new DeferredDeliveries(report);
  }

  /** A confirmation or welcome email (the transactional queue's other jobs are not mail: see workers.ts). */
  async transactional(job: Job<TransactionalJob>): Promise<'sent' | 'skipped'> {
    if (job.name === 'welcome') return this.welcome(job as Job<WelcomeJob>);
    return this.confirm(job as Job<ConfirmationJob>);
  }

  private async confirm(job: Job<ConfirmationJob>): Promise<'sent' | 'skipped'> {
    const subscriber = await this.subscribers.get(job.data.subscriberId);
    if (!subscriber || subscriber.state !== 'pending' || subscriber.version !== job.data.version) return 'skipped';
    return this.sendToSubscriber(job, subscriber, 'confirmation', (recipient) => this.messages.confirmation(recipient, subscriber.version));
  }

  private async welcome(job: Job<WelcomeJob>): Promise<'sent' | 'skipped'> {
    const subscriber = await this.subscribers.get(job.data.subscriberId);
    if (!subscriber || subscriber.state !== 'confirmed') return 'skipped';
    return this.sendToSubscriber(job, subscriber, 'welcome', (recipient) => this.messages.welcome(recipient));
  }

  /** One transactional email to a subscriber; a temporary failure retries the job. */
  private async sendToSubscriber(
    job: Job<TransactionalJob>,
    subscriber: Subscriber,
    kind: 'confirmation' | 'welcome',
    build: (recipient: Claimed) => Promise<OutgoingMessage>,
  ): Promise<'sent' | 'skipped'> {
    const recipient: Claimed = { id: subscriber.id, email: subscriber.email, name: subscriber.name, format: 'html' };
    const outcome = await this.sendOne(await build(recipient), recipient, { kind, lastAttempt: isLastAttempt(job), settle: async () => true });
    if (outcome === 'deferred') throw new Error(`${kind} email deferred; retrying`);
    this.logger.info({ job: job.id, subscriber: subscriber.id, outcome }, `${kind} email`);
    return outcome === 'sent' ? 'sent' : 'skipped';
  }

  private async sendOne(message: OutgoingMessage, recipient: Claimed, how: SendHow): Promise<SettledState> {
    try {
      const { reply } = await this.sender.send(message.envelope, message.raw);
      this.messages.recycle(message);
      await how.settle('sent', reply);
      emailsSent.inc({ kind: how.kind });
      return 'sent';
    } catch (error) {
      this.messages.recycle(message);
      const outcome = classifySendError(error);
      const state = outcome.kind === 'deferred' && !how.lastAttempt ? 'deferred' : 'failed';
      if (state === 'deferred') how.onDeferred?.(outcome);
      await how.settle(state, outcome.reply, { code: outcome.code, reply: outcome.reply, at: new Date().toISOString() });
      emailsNotSent.inc({ outcome: state, code: String(outcome.code ?? 'none') });
      if (outcome.bounce) await this.subscriptions.suppress(recipient.id, 'bounced', `SMTP ${outcome.code}: ${outcome.reply}`);
      return state;
    }
  }

  private async edition(id: string): Promise<Edition> {
    const cached = this.editions.get(id);
    if (cached) return cached;
    const edition = await this.editionStore.get(id);
    if (!edition) throw new Error(`edition ${id} does not exist`);
    if (this.editions.size >= 3) this.editions.delete(this.editions.keys().next().value ?? '');
    this.editions.set(id, edition);
    return edition;
  }
}
