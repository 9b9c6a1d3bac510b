import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { withFileLock } from './file-lock.ts';
import type { Logger } from './logger.ts';

/** SQL files with `-- Up Migration` and `-- Down Migration` sections, run in the order of their numeric prefix. */
export const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations');
/** node-pg-migrate's record of what ran, one row per migration. */
export const MIGRATIONS_TABLE = 'pgmigrations';

export interface MigrateOptions {
  /** A lock file to hold as well (the embedded server: see DatabaseLocation.migrationLock). */
  lockFile?: string;
}

/**
 * Brings the schema up to date and returns the names of the migrations that ran (none when it
 * was). Safe to call from every process at start, several at once: node-pg-migrate holds a
 * PostgreSQL advisory lock while it reads what ran and runs the rest in one transaction, and the
 * others wait for it, then find nothing left to do.
 */
export async function migrate(url: string, logger: Logger, options: MigrateOptions = {}): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  // Without a listener, a connection lost mid-migration would end the process instead of failing the migration.
  client.on('error', (error) => logger.warn({ err: error.message }, 'migration connection failed'));
  await client.connect();
  try {
    const ran = (await isUpToDate(client)) ? [] : await runPending(client, logger, options.lockFile);
    if (ran.length > 0) logger.info({ migrations: ran }, `database migrated: ${ran.length} migration(s) ran`);
    else logger.info('database schema is up to date');
    return ran;
  } finally {
    await client.end();
  }
}

/** Every file already recorded: the common case at a process start, answered without node-pg-migrate or its lock. */
async function isUpToDate(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    MIGRATIONS_TABLE,
  ]);
  if (!rows[0]?.present) return false;
  const recorded = new Set(
    (await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`)).rows.map((row) => row.name),
  );
  return migrationNames().every((name) => recorded.has(name));
}

export function migrationNames(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => file.slice(0, -'.sql'.length))
    .sort();
}

async function runPending(client: pg.Client, logger: Logger, lockFile: string | undefined): Promise<string[]> {
  // Loaded only when there is something to run (a tenth of a second at every start otherwise).
  const { runner } = await import('node-pg-migrate');
  const run = () =>
    runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      migrationsTable: MIGRATIONS_TABLE,
      direction: 'up',
      singleTransaction: true,
      // The default, 'fail', would stop every process but the first when several start at once.
      advisoryLockMode: 'wait',
      logger: {
        debug: (message: string) => logger.debug({ migrate: message }),
        info: (message: string) => logger.debug({ migrate: message }),
        warn: (message: string) => logger.warn({ migrate: message }),
        error: (message: string) => logger.error({ migrate: message }),
      },
    });
  const ran = lockFile ? await withFileLock(lockFile, run, { timeoutMs: 120_000 }) : await run();
  return ran.map((migration) => migration.name);
}
