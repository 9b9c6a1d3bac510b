import cron from 'node-cron';
import type { App } from '../app.ts';

export interface RunningScheduler {
  close(): Promise<void>;
}

/**
 * Cuts editions on DIGEST_CRON (in DIGEST_TZ) and polls feeds on FEED_POLL_CRON. A one-minute
 * sweep follows every edition not done yet (held ones go out once they qualify, deadlines raise
 * alerts, delivery is followed until everyone has it), so a scheduler started after 18:30 catches
 * up and an interrupted fan-out resumes. Hourly, pending sign-ups whose link expired are removed, and so are the delivery
 * records of editions older than LEDGER_RETENTION_DAYS. Several schedulers may run: the edition
 * store and fan-out make that safe, and both clean-ups are idempotent.
 */
export function startScheduler(app: App): RunningScheduler {
  const { config, logger, desk, feeds } = app;
  let busy: Promise<unknown> = Promise.resolve();
  const serial = (name: string, work: () => Promise<unknown>) => {
    busy = busy
      .then(work)
      .catch((error: unknown) =>
        logger.error(
          { task: name, err: error instanceof Error ? error.message : String(error) },
          'scheduled task failed',
        ),
      );
    return busy;
  };
  const runDue = () => serial('edition', () => desk.runDue());
  const pollFeeds = () => serial('feeds', () => feeds.pollAll(config.FEEDS));
  const hourly = () => serial('housekeeping', () => housekeeping(app));

  const tasks = [
    cron.schedule(config.DIGEST_CRON, runDue, { timezone: config.DIGEST_TZ, name: 'edition' }),
    cron.schedule('* * * * *', runDue, { name: 'edition-sweep' }),
    cron.schedule('17 * * * *', hourly, { name: 'housekeeping' }),
    ...(config.FEEDS.length > 0 ? [cron.schedule(config.FEED_POLL_CRON, pollFeeds, { name: 'feeds' })] : []),
  ];
  logger.info(
    {
      cron: config.DIGEST_CRON,
      tz: config.DIGEST_TZ,
      next: app.schedule.next(app.clock.now()),
      now: app.clock.now(),
      feeds: config.FEEDS.length,
    },
    'scheduler started',
  );
  if (config.FEEDS.length > 0) void pollFeeds();
  void runDue();
  return {
    async close() {
      for (const task of tasks) await task.stop();
      await busy;
    },
  };
}

/** The hourly clean-up: expired unconfirmed sign-ups, and delivery records past LEDGER_RETENTION_DAYS. */
export async function housekeeping(app: App, now = app.clock.now()): Promise<void> {
  const { config, logger } = app;
  const removed = await app.subscriptions.expirePending(now);
  if (removed > 0) logger.info({ removed }, 'expired pending sign-ups removed');
  if (config.LEDGER_RETENTION_DAYS === 0) return;
  const cleared = await app.deliveries.removeRecordsBefore(
    new Date(now.getTime() - config.LEDGER_RETENTION_DAYS * 24 * 3600_000),
    now,
  );
  for (const edition of cleared)
    logger.info({ edition, retentionDays: config.LEDGER_RETENTION_DAYS }, 'delivery records of an old edition removed');
}
