import type { ChildProcess } from 'node:child_process';
import { type App, createApp } from './app.ts';
import { stopChild } from './platform/children.ts';
import { createLogger, type DestinationStream, type Logger } from './platform/logger.ts';
import { collectProcessMetrics } from './platform/metrics.ts';
import { ensureRedis, warnAboutRedisSafety } from './platform/redis.ts';
import { loadConfigOrExit, messageOf, prepareDatabase, StartupError } from './platform/startup.ts';

export interface Booted {
  app: App;
  logger: Logger;
  /** Registers what to stop, in order, on SIGTERM/SIGINT (within DRAIN_SECONDS, then exit 1) or when the start fails. */
  onShutdown(stop: () => Promise<void>): void;
  /**
   * The rest of this process's start: its servers and loops, each registering its stop as soon as
   * it exists. Should it fail, the process says what failed (see `failedStart`), stops what it had
   * started and exits.
   */
  start<T>(steps: () => Promise<T>): Promise<T>;
}

const DRAIN_SECONDS = 25;

/** What this process has started so far, stopped in one go: on shutdown, or when its start fails. */
class Started {
  readonly stops: Array<() => Promise<void>> = [];
  app: App | undefined;
  /** The local redis-server and the embedded PostgreSQL, when this process started them. */
  readonly servers: Array<ChildProcess | undefined> = [];

  constructor(private readonly logger: Logger) {}

  async stopAll(): Promise<void> {
    for (const stop of this.stops)
      await stop().catch((error: unknown) => this.logger.error({ err: String(error) }, 'error while stopping'));
    await this.app?.close();
    await Promise.all(this.servers.map((server) => stopChild(server)));
  }

  /** Stops everything, then exits with `code`; exits anyway (1 at most) should stopping take longer than DRAIN_SECONDS. */
  async stopThenExit(code: number): Promise<never> {
    setTimeout(() => {
      this.logger.error('stopping took too long; exiting');
      process.exit(code || 1);
    }, DRAIN_SECONDS * 1000);
    await this.stopAll();
    this.logger.info('stopped');
    process.exit(code);
  }
}

/**
 * The start of every process: configuration, logging, Redis (a local one in development), PostgreSQL
 * (an embedded one in development) brought up to date, the app. Logs go to stdout unless `options.logs`
 * says otherwise (the CLI: stderr).
 */
export async function boot(processName: string, options: { logs?: DestinationStream } = {}): Promise<Booted> {
  const config = loadConfigOrExit();
  const logger = createLogger(processName, config.LOG_LEVEL, options.logs);
  const started = new Started(logger);
  const start = async <T>(steps: () => Promise<T>): Promise<T> => {
    try {
      return await steps();
    } catch (error) {
      return failedStart(processName, error, logger, started);
    }
  };

  const app = await start(async () => {
    started.servers.push(await ensureRedis(config, logger));
    const database = await prepareDatabase(config, logger);
    started.servers.push(database.startedServer);
    started.app = createApp(config, logger, database.url);
    collectProcessMetrics();
    await warnAboutRedisSafety(started.app.redis, logger);
    return started.app;
  });
  if (config.useDevMailbox)
    logger.warn(`no SMTP_URL: outgoing mail goes to the dev mailbox at ${config.PUBLIC_URL}/dev/mailbox`);
  if (!process.env.ADMIN_TOKEN)
    logger.warn('ADMIN_TOKEN is not set: using the development token "dev-admin-token-change-me"');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await started.stopThenExit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  return { app, logger, onShutdown: (stop) => started.stops.push(stop), start };
}

/**
 * A start that failed: one line on stderr for the person starting it (what failed and what to do,
 * as a StartupError says it; anything else is a bug, shown with its stack), the same in the log, then
 * everything it had started stopped and the exit code of the failure.
 */
async function failedStart(processName: string, error: unknown, logger: Logger, started: Started): Promise<never> {
  const message = messageOf(error);
  const exitCode = error instanceof StartupError ? error.exitCode : 1;
  logger.fatal({ exitCode }, `did not start: ${message}`);
  process.stderr.write(`Evening Digest (${processName}) did not start: ${message}\n`);
  if (!(error instanceof StartupError) && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  return started.stopThenExit(exitCode);
}
