import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertNotice } from '../editions/alerts.ts';
import type { FeedbackJob } from '../feedback/feedback-loop.ts';
import type { SignupRequest } from '../subscribers/subscriptions.ts';

export const DELIVERY_QUEUE = 'delivery';
export const TRANSACTIONAL_QUEUE = 'transactional';

/** One batch of one run of one edition; the recipients' ids are in the ledger, not in the job. */
export interface DeliveryJob {
  edition: string;
  run: string;
  mode: 'normal' | 'failed' | 'all';
  batch: string;
}

/** Jobs queued before links were drawn at sending time carry a `version` too; it is not read. */
export interface ConfirmationJob {
  subscriberId: string;
}

export interface WelcomeJob {
  subscriberId: string;
}

/** A received subscriber list to merge (src/subscribers/imports.ts). */
export interface ImportJob {
  importId: string;
}

/** A notice to the desk: to the webhook (`alert-webhook`) or by email (`alert-email`), each retried on its own. */
export interface AlertJob {
  notice: AlertNotice;
  /** ALERT_WEBHOOK_URL or ALERT_EMAIL when the notice was raised. */
  to: string;
}

/**
 * Alerts are retried longer than email, as a chat service may be down for hours: 12 attempts, the
 * first retry after DELIVERY_BACKOFF_MS (at most 5 s) and doubling, about 5 hours in all.
 */
export function alertJobOptions(backoffMs: number) {
  return {
    attempts: 12,
    backoff: { type: 'exponential', delay: Math.min(backoffMs, 5_000) },
    removeOnComplete: { age: 24 * 3600 },
  };
}

/** An Amazon SNS subscription to confirm (`sns-confirm`): the SubscribeURL of a verified SubscriptionConfirmation. */
export interface SnsConfirmJob {
  subscribeUrl: string;
}

export type { FeedbackJob };

/**
 * Told apart by the job's name: `signup`, `import`, `confirm`, `welcome`, `alert-webhook`,
 * `alert-email`, `feedback` (reports from a relay's webhook or the bounce listener) or `sns-confirm`.
 */
export type TransactionalJob =
  SignupRequest | ImportJob | ConfirmationJob | WelcomeJob | AlertJob | FeedbackJob | SnsConfirmJob;

/** Reports hold readers' addresses: kept no longer than it takes to apply them (a failed one a week, to look into). */
export const FEEDBACK_JOB_OPTIONS = { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } };

/** A sign-up holds a person's address and IP: kept no longer than it takes to apply it. */
export const SIGNUP_JOB_OPTIONS = { removeOnComplete: true, removeOnFail: { age: 24 * 3600 } };

export interface QueueSettings {
  prefix: string;
  attempts: number;
  backoffMs: number;
}

/** BullMQ job ids may not contain ':'; edition ids, run names and batch ids never do. */
export function deliveryJobId(job: DeliveryJob): string {
  return `${job.edition}-${job.run}-${job.batch}`;
}

export function createDeliveryQueue(connection: Redis, settings: QueueSettings): Queue<DeliveryJob> {
  return new Queue<DeliveryJob>(DELIVERY_QUEUE, {
    connection,
    prefix: settings.prefix,
    defaultJobOptions: {
      attempts: settings.attempts,
      backoff: { type: 'exponential', delay: settings.backoffMs },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 14 * 24 * 3600 },
    },
  });
}

export function createTransactionalQueue(connection: Redis, settings: QueueSettings): Queue<TransactionalJob> {
  return new Queue<TransactionalJob>(TRANSACTIONAL_QUEUE, {
    connection,
    prefix: settings.prefix,
    defaultJobOptions: {
      attempts: settings.attempts,
      backoff: { type: 'exponential', delay: Math.min(settings.backoffMs, 10_000) },
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  });
}
