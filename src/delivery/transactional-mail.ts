import type { Job } from 'bullmq';
import type { FeedbackLoop } from '../feedback/feedback-loop.ts';
import { refusalReport } from '../feedback/send-refusal.ts';
import type { Logger } from '../platform/logger.ts';
import { emailsNotSent, emailsSent } from '../platform/metrics.ts';
import type { Subscriber, SubscriberStore } from '../subscribers/subscriber-store.ts';
import type { Claimed } from './ledger.ts';
import type { MailSender } from './mail-sender.ts';
import type { Messages, OutgoingMessage } from './messages.ts';
import type { ConfirmationJob, TransactionalJob, WelcomeJob } from './queues.ts';
import { troubleOf } from './send-outcome.ts';

export interface TransactionalMailDeps {
  subscribers: SubscriberStore;
  /** Where a server's permanent refusal goes, as an edition's would (src/delivery/edition-batch.ts). */
  feedback: Pick<FeedbackLoop, 'apply'>;
  messages: Messages;
  /** The transports in rotation (confirmations are few: no pacing). */
  sender: MailSender;
  logger: Logger;
}

/**
 * Confirmation and welcome emails, one job each. A temporary failure retries the job (BullMQ's
 * backoff); a permanent refusal is reported like an edition's: a gone address is suppressed, a
 * policy block is told to the desk (under the latest edition) and leaves the reader as they are.
 */
export class TransactionalMail {
  constructor(private readonly deps: TransactionalMailDeps) {}

  async send(job: Job<TransactionalJob>): Promise<'sent' | 'skipped'> {
    if (job.name === 'welcome') return this.welcome(job as Job<WelcomeJob>);
    return this.confirm(job as Job<ConfirmationJob>);
  }

  private async confirm(job: Job<ConfirmationJob>): Promise<'sent' | 'skipped'> {
    const subscriber = await this.deps.subscribers.get(job.data.subscriberId);
    if (!subscriber || subscriber.state !== 'pending') return 'skipped';
    // The link is drawn now, with the subscriber's version now, whichever sign-up asked: sign-ups in
    // quick succession each get their email, and each email has the one link that works.
    return this.sendTo(job, subscriber, 'confirmation', (recipient) =>
      this.deps.messages.confirmation(recipient, subscriber.version),
    );
  }

  private async welcome(job: Job<WelcomeJob>): Promise<'sent' | 'skipped'> {
    const subscriber = await this.deps.subscribers.get(job.data.subscriberId);
    if (!subscriber || subscriber.state !== 'confirmed') return 'skipped';
    return this.sendTo(job, subscriber, 'welcome', (recipient) => this.deps.messages.welcome(recipient));
  }

  private async sendTo(
    job: Job<TransactionalJob>,
    subscriber: Subscriber,
    kind: 'confirmation' | 'welcome',
    build: (recipient: Claimed) => Promise<OutgoingMessage>,
  ): Promise<'sent' | 'skipped'> {
    const { messages, sender, logger } = this.deps;
    const message = await build({ id: subscriber.id, email: subscriber.email, name: subscriber.name, format: 'html' });
    try {
      await sender.send(message.envelope, message.raw, message.messageId);
      emailsSent.inc({ kind });
    } catch (error) {
      const trouble = troubleOf(error);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      emailsNotSent.inc({
        outcome: trouble.kind === 'failed' || lastAttempt ? 'failed' : trouble.kind,
        code: String(trouble.code ?? 'none'),
      });
      if (trouble.kind !== 'failed')
        throw new Error(`${kind} email not sent (${trouble.reply}); retrying`, { cause: error });
      const refusal = {
        ...trouble,
        email: subscriber.email,
        edition: null,
        eventId: `${job.name}/${job.id}/${subscriber.id}`,
        at: new Date(),
      };
      await this.deps.feedback.apply(refusalReport(refusal), { by: 'sender' });
      logger.info({ job: job.id, subscriber: subscriber.id, outcome: 'failed' }, `${kind} email`);
      return 'skipped';
    } finally {
      messages.recycle(message);
    }
    logger.info({ job: job.id, subscriber: subscriber.id, outcome: 'sent' }, `${kind} email`);
    return 'sent';
  }
}
