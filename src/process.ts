import type { ChildProcess } from 'node:child_process';
import { type App, createApp } from './app.ts';
import { createLogger, type DestinationStream, type Logger } from './platform/logger.ts';
import { collectProcessMetrics } from './platform/metrics.ts';
import { ensureRedis, warnAboutRedisSafety } from './platform/redis.ts';
import { loadConfigOrExit, prepareDatabase } from './platform/startup.ts';

export interface Booted {
  app: App;
  logger: Logger;
  /** Registers what to stop, in order, on SIGTERM/SIGINT (within DRAIN_SECONDS, then exit 1). */
  onShutdown(stop: () => Promise<void>): void;
}

const DRAIN_SECONDS = 25;

/**
 * The start of every process: configuration, logging, Redis (a local one in development), PostgreSQL
 * (an embedded one in development) brought up to date, the app. Logs go to stdout unless `options.logs`
 * says otherwise (the CLI: stderr).
 */
export async function boot(processName: string, options: { logs?: DestinationStream } = {}): Promise<Booted> {
  const config = loadConfigOrExit();
  const logger = createLogger(processName, config.LOG_LEVEL, options.logs);
  let localRedis: ChildProcess | undefined;
  try {
    localRedis = await ensureRedis(config, logger);
  } catch (error) {
    logger.fatal(error instanceof Error ? error.message : String(error));
    process.exit(69);
  }
  const database = await prepareDatabase(config, logger);
  const app = createApp(config, logger, database.url);
  collectProcessMetrics();
  await warnAboutRedisSafety(app.redis, logger);
  if (config.useDevMailbox) logger.warn(`no SMTP_URL: outgoing mail goes to the dev mailbox at ${config.PUBLIC_URL}/dev/mailbox`);
  if (!process.env.ADMIN_TOKEN) logger.warn('ADMIN_TOKEN is not set: using the development token "dev-admin-token-change-me"');

  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, DRAIN_SECONDS * 1000);
    timer.unref();
    for (const stop of stops) await stop().catch((error: unknown) => logger.error({ err: String(error) }, 'error while stopping'));
    await app.close();
    localRedis?.kill('SIGTERM');
    database.startedServer?.kill('SIGTERM');
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  return { app, logger, onShutdown: (stop) => stops.push(stop) };
}
