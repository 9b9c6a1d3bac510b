import { type Config, ConfigError, loadConfig } from './config.ts';
import { type DatabaseLocation, ensureDatabase } from './ensure-database.ts';
import type { Logger } from './logger.ts';
import { migrate } from './migrations.ts';

// The start of every process before Redis and the app (src/process.ts): settings and PostgreSQL.
// Kept apart from the app so that `digest migrate` and small tools load in a fraction of the time.

export interface PreparedDatabase extends DatabaseLocation {
  /** The migrations this process ran (usually none: another process, or an earlier start, ran them). */
  ran: string[];
}

/** The settings, or exit 78 with every bad one named. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee the settings table in README.md.\n`);
      process.exit(78);
    }
    throw error;
  }
}

/**
 * PostgreSQL reachable and migrated: exit 69 when it does not answer (like Redis), 70 when a
 * migration fails (a schema this code cannot run on).
 */
export async function prepareDatabase(config: Config, logger: Logger): Promise<PreparedDatabase> {
  let location: DatabaseLocation;
  try {
    location = await ensureDatabase(config, logger);
  } catch (error) {
    logger.fatal(error instanceof Error ? error.message : String(error));
    process.exit(69);
  }
  try {
    return { ...location, ran: await migrate(location.url, logger, { lockFile: location.migrationLock }) };
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'database migration failed');
    process.exit(70);
  }
}
