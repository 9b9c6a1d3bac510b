import type { Job } from 'bullmq';
import type { Edition, EditionStore } from '../editions/edition-store.ts';
import type { Logger } from '../platform/logger.ts';
import { emailsNotSent, emailsSent } from '../platform/metrics.ts';
import type { SubscriberStore } from '../subscribers/subscriber-store.ts';
import type { Subscriptions } from '../subscribers/subscriptions.ts';
import type { Claimed, DeliveryLedger } from './ledger.ts';
import { classifySendError, type MailSender } from './mail-sender.ts';
import type { Messages, OutgoingMessage } from './messages.ts';
import { type ConfirmationJob, type DeliveryJob, deliveryJobId } from './queues.ts';

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

interface SendHow {
  kind: 'edition' | 'confirmation';
  /** On the last attempt a temporary failure is final. */
  lastAttempt: boolean;
  settle: (state: SettledState, reply: string, failure?: { code: number | null; reply: string; at: string }) => Promise<boolean>;
}

function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** Sends one batch: claim under the ledger's lock, personalize, send, settle each recipient. */
export class BatchSender {
  private readonly editions = new Map<string, Edition>();

  constructor(
    private readonly ledger: DeliveryLedger,
    private readonly editionStore: EditionStore,
    private readonly messages: Messages,
    private readonly sender: MailSender,
    private readonly subscriptions: Subscriptions,
    private readonly subscribers: SubscriberStore,
    private readonly logger: Logger,
  ) {}

  async deliver(job: Job<DeliveryJob>): Promise<BatchReport> {
    const { edition: editionId, run, mode, batch } = job.data;
    const owner = deliveryJobId(job.data);
    const edition = await this.edition(editionId);
    const ids = await this.ledger.batchIds(editionId, run, batch);
    const claimed = await this.ledger.claim({ edition: editionId, run, owner, mode, batch, ids });
    const lastAttempt = isLastAttempt(job);
    const report: BatchReport = { claimed: claimed.length, sent: 0, deferred: 0, failed: 0 };
    await Promise.all(
      claimed.map(async (recipient) => {
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
        });
        report[outcome] += 1;
      }),
    );
    this.logger.info({ edition: editionId, run, job: job.id, attempt: job.attemptsMade + 1, ...report }, 'batch delivered');
    if (report.deferred > 0) throw new DeferredDeliveries(report);
    return report;
  }

  async confirm(job: Job<ConfirmationJob>): Promise<'sent' | 'skipped'> {
    const subscriber = await this.subscribers.get(job.data.subscriberId);
    if (!subscriber || subscriber.state !== 'pending' || subscriber.version !== job.data.version) return 'skipped';
    const recipient: Claimed = { id: subscriber.id, email: subscriber.email, name: subscriber.name };
    const outcome = await this.sendOne(await this.messages.confirmation(recipient, subscriber.version), recipient, {
      kind: 'confirmation',
      lastAttempt: isLastAttempt(job),
      settle: async () => true,
    });
    if (outcome === 'deferred') throw new Error('confirmation email deferred; retrying');
    this.logger.info({ job: job.id, subscriber: subscriber.id, outcome }, 'confirmation email');
    return outcome === 'sent' ? 'sent' : 'skipped';
  }

  private async sendOne(message: OutgoingMessage, recipient: Claimed, how: SendHow): Promise<SettledState> {
    try {
      const { reply } = await this.sender.send(message.envelope, message.raw);
      await how.settle('sent', reply);
      emailsSent.inc({ kind: how.kind });
      return 'sent';
    } catch (error) {
      const outcome = classifySendError(error);
      const state = outcome.kind === 'deferred' && !how.lastAttempt ? 'deferred' : 'failed';
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
