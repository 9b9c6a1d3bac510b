import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
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
  const run = () =>
    runner({
      databaseUrl: url,
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
  const ran = options.lockFile ? await withFileLock(options.lockFile, run, { timeoutMs: 120_000 }) : await run();
  const names = ran.map((migration) => migration.name);
  if (names.length > 0) logger.info({ migrations: names }, `database migrated: ${names.length} migration(s) ran`);
  else logger.info('database schema is up to date');
  return names;
}
