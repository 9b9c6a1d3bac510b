import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { stopChild } from './children.ts';
import type { Config } from './config.ts';
import { withoutPassword } from './connection-url.ts';
import { embeddedFiles } from './embedded-postgres/files.ts';
import { findOrStartEmbeddedServer } from './embedded-postgres/launch.ts';
import type { Logger } from './logger.ts';

export interface DatabaseLocation {
  /** What this process connects to: DATABASE_URL, or the embedded server's address. */
  url: string;
  /** The embedded server, when this process started it (stopped on shutdown, like the local redis-server). */
  startedServer: ChildProcess | undefined;
  /**
   * With the embedded server, the lock file that migrations take: its connections share one
   * PostgreSQL session, so advisory locks do not keep them apart.
   */
  migrationLock: string | undefined;
}

/**
 * Development default, like ensureRedis: with DATABASE_URL, wait for it to answer (up to 30 s: it
 * may be restarting); without, find or start the embedded PostgreSQL under DATA_DIR/postgres.
 */
export async function ensureDatabase(
  config: Config,
  logger: Logger,
  options: { waitMs?: number } = {},
): Promise<DatabaseLocation> {
  const waitMs = options.waitMs ?? 30_000;
  if (config.DATABASE_URL) {
    await waitUntilAnswering(config.DATABASE_URL, 'PostgreSQL at DATABASE_URL', waitMs, logger);
    return { url: config.DATABASE_URL, startedServer: undefined, migrationLock: undefined };
  }
  if (config.NODE_ENV === 'production')
    logger.warn(
      'DATABASE_URL is not set: using the embedded PostgreSQL, which is meant for development (one session for all connections)',
    );
  const server = await findOrStartEmbeddedServer(config.DATA_DIR, logger);
  try {
    await waitUntilAnswering(
      server.url,
      `The embedded PostgreSQL (pid ${server.pid}; its log: ${embeddedFiles(config.DATA_DIR).log})`,
      waitMs,
      logger,
    );
  } catch (error) {
    await stopChild(server.child); // started here for nothing: a failed start leaves nothing running
    throw error;
  }
  return { url: server.url, startedServer: server.child, migrationLock: embeddedFiles(config.DATA_DIR).migrateLock };
}

/** `name` opens the error message, e.g. "PostgreSQL at DATABASE_URL". */
async function waitUntilAnswering(url: string, name: string, waitMs: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + waitMs;
  let warned = false;
  for (;;) {
    const problem = await probe(url);
    if (problem === null) return;
    if (!isTransient(problem))
      throw new Error(`${name} (${withoutPassword(url)}) refused the connection: ${problem.message}`);
    if (Date.now() >= deadline)
      throw new Error(`${name} (${withoutPassword(url)}) is not reachable (${problem.message}).`);
    if (!warned)
      logger.warn(
        { url: withoutPassword(url), err: problem.message },
        `PostgreSQL is not reachable yet; waiting up to ${Math.round(waitMs / 1000)} s`,
      );
    warned = true;
    await new Promise((done) => setTimeout(done, 500));
  }
}

/** null when the database answers a query, else why not. */
async function probe(url: string): Promise<Error | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Worth waiting for: network errors and PostgreSQL starting, shutting down or full. Any other
 * answer from PostgreSQL itself (a wrong password, a missing database) will not change by waiting.
 */
function isTransient(error: Error): boolean {
  if (!(error instanceof pg.DatabaseError)) return true;
  return error.code?.startsWith('57P') === true || error.code === '53300';
}
