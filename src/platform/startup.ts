import { stopChild } from './children.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { type DatabaseLocation, ensureDatabase } from './ensure-database.ts';
import type { Logger } from './logger.ts';
import { migrate } from './migrations.ts';

// The start of every process before Redis and the app (src/process.ts): settings and PostgreSQL, and
// how a start that cannot go on says so. Kept apart from the app so that `digest migrate` and small
// tools load in a fraction of the time.

/** Exit codes of a failed start (sysexits.h), as the README's operations notes list them. */
export const EXIT = {
  /** Redis or PostgreSQL does not answer. */
  unavailable: 69,
  /** A migration failed: a schema this code cannot run on. */
  software: 70,
  /** A setting is wrong, or what it names is taken (a port in use). */
  config: 78,
} as const;

/** A start that cannot go on, said for the person starting it: what failed and what to do about it. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

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
      process.exit(EXIT.config);
    }
    throw error;
  }
}

/**
 * PostgreSQL reachable and migrated, or a StartupError: `unavailable` when it does not answer (like
 * Redis), `software` when a migration fails. An embedded server started here for a migration that
 * failed is stopped again.
 */
export async function prepareDatabase(config: Config, logger: Logger): Promise<PreparedDatabase> {
  let location: DatabaseLocation;
  try {
    location = await ensureDatabase(config, logger);
  } catch (error) {
    throw new StartupError(messageOf(error), EXIT.unavailable);
  }
  try {
    return { ...location, ran: await migrate(location.url, logger, { lockFile: location.migrationLock }) };
  } catch (error) {
    await stopChild(location.startedServer);
    throw new StartupError(`The database migration failed: ${messageOf(error)}`, EXIT.software);
  }
}

/** The settings that place a listener, named when it cannot listen: the person starting it changes one of them. */
export interface ListenerSettings {
  port: { name: string; value: number };
  host: { name: string; value: string };
}

/**
 * Runs `listen` (a server's start on the address of `settings`); a port in use, a port that needs
 * privileges or a host that is not this machine's becomes a StartupError naming the setting to change.
 */
export async function listening<T>(settings: ListenerSettings, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    throw bindFailure(error, settings) ?? error;
  }
}

function bindFailure(error: unknown, { port, host }: ListenerSettings): StartupError | null {
  const at = `${host.value}:${port.value}`;
  switch ((error as NodeJS.ErrnoException | null)?.code) {
    case 'EADDRINUSE':
      return new StartupError(
        `Port ${port.value} (${port.name}) is already in use on ${host.value}: set ${port.name} to a free port, or stop the program listening there.`,
        EXIT.config,
      );
    case 'EACCES':
      return new StartupError(
        `Not allowed to listen on ${at} (${port.name}): ports below 1024 need privileges; set ${port.name} to 1024 or above.`,
        EXIT.config,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new StartupError(
        `${host.value} (${host.name}) is not an address of this machine: set ${host.name} to one of its addresses, or 0.0.0.0 for all of them.`,
        EXIT.config,
      );
    default:
      return null;
  }
}

/** An error's message, for the one line a failed start says. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
