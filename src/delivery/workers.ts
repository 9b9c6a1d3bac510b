import { type Job, Worker } from 'bullmq';
import type { App } from '../app.ts';
import { connectRedis } from '../platform/redis.ts';
import type { SignupRequest } from '../subscribers/subscriptions.ts';
import {
  type AlertJob,
  type DeliveryJob,
  DELIVERY_QUEUE,
  type FeedbackJob,
  type ImportJob,
  type SnsConfirmJob,
  TRANSACTIONAL_QUEUE,
  type TransactionalJob,
} from './queues.ts';

/** How long a stopping worker lets the batches in hand finish before handing them back. */
const GRACEFUL_CLOSE_MS = 15_000;

export interface RunningWorkers {
  /** Stops taking jobs, lets the jobs in hand finish, then closes connections. */
  close(): Promise<void>;
}

/** The transactional queue's jobs by name: sign-ups, imports and feedback reports to apply, notices to the desk, SNS subscriptions to confirm, confirmation and welcome emails. */
async function transactionalJob(app: App, job: Job<TransactionalJob>): Promise<unknown> {
  if (job.name === 'signup') return app.subscriptions.processSignup(job.data as SignupRequest);
  if (job.name === 'import') return (await app.imports.merge((job.data as ImportJob).importId))?.status;
  if (job.name === 'alert-webhook') return app.alertNotices.webhook(job.data as AlertJob);
  if (job.name === 'alert-email') return app.alertNotices.email(job.data as AlertJob);
  if (job.name === 'feedback') return app.feedback.applyQueued(job.data as FeedbackJob);
  if (job.name === 'sns-confirm') return app.relays.confirmSubscription((job.data as SnsConfirmJob).subscribeUrl);
  return app.transactionalMail.send(job);
}

/** The queue consumers of one worker process: edition batches, and the transactional queue's jobs. */
export function startDeliveryWorkers(app: App): RunningWorkers {
  const { config, logger } = app;
  const connection = connectRedis(config.redisUrl, { forQueue: true });
  connection.on('error', (error) => logger.warn({ err: error.message }, 'redis (worker) connection error'));
  const common = {
    connection,
    prefix: `${config.REDIS_PREFIX}-queue`,
    lockDuration: config.DELIVERY_LOCK_MS,
    stalledInterval: config.DELIVERY_LOCK_MS,
    // A stalled batch is one whose worker died; the ledger makes taking it again safe.
    maxStalledCount: 20,
  };
  const delivery: Worker<DeliveryJob> = new Worker<DeliveryJob>(
    DELIVERY_QUEUE,
    (job, token) => app.editionBatches.deliver(job, token),
    { ...common, concurrency: config.WORKER_CONCURRENCY },
  );
  const transactional = new Worker<TransactionalJob>(TRANSACTIONAL_QUEUE, (job) => transactionalJob(app, job), {
    ...common,
    concurrency: 2,
  });
  // The batch that settles an edition's last recipient makes it `sent` at once (the scheduler's sweep would within a minute).
  const afterBatch = (job: Job<DeliveryJob> | undefined) => {
    if (!job || job.data.run !== 'main') return;
    void app.deliveries
      .finished(job.data.edition)
      .then((finished) => (finished ? app.desk.batchFinished(job.data.edition) : undefined))
      .catch((error: unknown) =>
        logger.warn(
          { edition: job.data.edition, job: job.id, err: error instanceof Error ? error.message : String(error) },
          'could not record the edition as delivered',
        ),
      );
  };
  delivery.on('completed', afterBatch);
  delivery.on('failed', afterBatch);
  for (const worker of [delivery, transactional]) {
    worker.on('failed', (job, error) => {
      if (error.name !== 'DeferredDeliveries') logger.error({ job: job?.id, err: error.message }, 'job failed');
    });
    worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  }
  logger.info({ concurrency: config.WORKER_CONCURRENCY }, 'delivery workers started');
  return {
    async close() {
      const drained = Promise.all([delivery.close(), transactional.close()]).then(() => true);
      const timedOut = new Promise<false>((done) => setTimeout(() => done(false), GRACEFUL_CLOSE_MS).unref());
      if (!(await Promise.race([drained, timedOut]))) {
        // Jobs still in hand go back to the queue as stalled; their leases make the retry safe.
        logger.warn({ afterMs: GRACEFUL_CLOSE_MS }, 'in-flight batches did not finish; closing workers by force');
        await Promise.all([delivery.close(true), transactional.close(true)]);
      }
      await connection.quit().catch(() => undefined);
    },
  };
}
