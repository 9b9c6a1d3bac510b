import { Worker } from 'bullmq';
import type { App } from '../app.ts';
import { connectRedis } from '../platform/redis.ts';
import { type ConfirmationJob, type DeliveryJob, DELIVERY_QUEUE, TRANSACTIONAL_QUEUE } from './queues.ts';

export interface RunningWorkers {
  /** Stops taking jobs, lets the jobs in hand finish, then closes connections. */
  close(): Promise<void>;
}

/** The queue consumers of one worker process: edition batches and confirmation emails. */
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
  const delivery = new Worker<DeliveryJob>(DELIVERY_QUEUE, (job) => app.batchSender.deliver(job), {
    ...common,
    concurrency: config.WORKER_CONCURRENCY,
  });
  const transactional = new Worker<ConfirmationJob>(TRANSACTIONAL_QUEUE, (job) => app.batchSender.confirm(job), {
    ...common,
    concurrency: 2,
  });
  for (const worker of [delivery, transactional]) {
    worker.on('failed', (job, error) => {
      if (error.name !== 'DeferredDeliveries') logger.error({ job: job?.id, err: error.message }, 'job failed');
    });
    worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  }
  logger.info({ concurrency: config.WORKER_CONCURRENCY }, 'delivery workers started');
  return {
    async close() {
      await Promise.all([delivery.close(), transactional.close()]);
      await connection.quit().catch(() => undefined);
    },
  };
}
