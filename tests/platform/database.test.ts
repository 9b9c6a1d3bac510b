import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/platform/config.ts';
import { Database } from '../../src/platform/database.ts';
import { ensureDatabase } from '../../src/platform/ensure-database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { migrate, migrationNames, MIGRATIONS_TABLE } from '../../src/platform/migrations.ts';
import { createTestDatabase } from '../support/database.ts';
import { startService, stopAllServices } from '../support/processes.ts';
import { freePort } from '../support/redis-server.ts';

const logger = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');
const MIGRATION_NAMES = migrationNames();

const opened: Database[] = [];
afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
});

/** Given, so that no development secret is written under DATA_DIR. */
const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

function configWith(url: string) {
  return loadConfig({ DATABASE_URL: url, APP_SECRET: TEST_SECRET });
}

function open(url: string): Database {
  const db = new Database(url, logger);
  opened.push(db);
  return db;
}

/** What the migrations table and the first migration's table hold. */
async function migrationState(db: Database): Promise<{ ran: string[]; schemaInfo: number }> {
  const ran = await db.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`);
  const info = await db.query<{ count: string }>('SELECT count(*) FROM schema_info');
  return { ran: ran.rows.map((row) => row.name), schemaInfo: Number(info.rows[0]?.count) };
}

describe('migrations', () => {
  afterEach(() => stopAllServices());

  it('run once: a second run finds nothing to do', async () => {
    const url = await createTestDatabase({ migrated: false });
    expect(MIGRATION_NAMES.length).toBeGreaterThan(0);
    expect(await migrate(url, logger)).toEqual(MIGRATION_NAMES);
    expect(await migrate(url, logger)).toEqual([]);
    expect(await migrationState(open(url))).toEqual({ ran: MIGRATION_NAMES, schemaInfo: 1 });
  });

  it('three processes migrating the same empty database at once all succeed, and the schema is migrated once', async () => {
    const url = await createTestDatabase({ migrated: false });
    const env = { NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: url, APP_SECRET: TEST_SECRET };
    const processes = [1, 2, 3].map((n) =>
      startService('tests/support/database-process.ts', { env, name: `process-${n}` }),
    );
    const exits = await Promise.all(processes.map((service) => service.waitForExit(30_000)));
    expect(exits, processes.map((service) => service.tail()).join('\n---\n')).toEqual(
      [1, 2, 3].map(() => ({ code: 0, signal: null })),
    );
    const migrated = processes.filter((service) => service.logsMatching(/^database migrated/).length === 1);
    const upToDate = processes.filter((service) => service.logsMatching('database schema is up to date').length === 1);
    expect([migrated.length, upToDate.length]).toEqual([1, 2]);
    expect(migrated[0]?.logsMatching(/^database migrated/)[0]?.migrations).toEqual(MIGRATION_NAMES);
    expect(await migrationState(open(url))).toEqual({ ran: MIGRATION_NAMES, schemaInfo: 1 });
  });
});

describe('Database', () => {
  it('binds parameters and commits a transaction', async () => {
    const db = open(await createTestDatabase());
    await db.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
    const written = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO notes VALUES ($1, $2)', [1, "it's 'quoted'; DROP TABLE notes"]);
      return (await tx.query('INSERT INTO notes VALUES ($1, $2)', [2, 'two'])).rowCount;
    });
    expect(written).toBe(1);
    const { rows } = await db.query<{ id: number; body: string }>('SELECT id, body FROM notes ORDER BY id');
    expect(rows).toEqual([
      { id: 1, body: "it's 'quoted'; DROP TABLE notes" },
      { id: 2, body: 'two' },
    ]);
  });

  it('rolls a transaction back when its work throws, and rethrows', async () => {
    const db = open(await createTestDatabase());
    await db.query('CREATE TABLE notes (id int PRIMARY KEY)');
    const failing = db.transaction(async (tx) => {
      await tx.query('INSERT INTO notes VALUES (1)');
      throw new Error('changed my mind');
    });
    await expect(failing).rejects.toThrow('changed my mind');
    await expect(db.transaction((tx) => tx.query('INSERT INTO notes VALUES (1), (1)'))).rejects.toThrow(
      /duplicate key/,
    );
    expect((await db.query('SELECT count(*)::int AS n FROM notes')).rows).toEqual([{ n: 0 }]);
  });
});

describe('ensureDatabase with DATABASE_URL', () => {
  it('answers with DATABASE_URL when it answers', async () => {
    const url = await createTestDatabase();
    const location = await ensureDatabase(configWith(url), logger);
    expect(location).toEqual({ url, startedServer: undefined, migrationLock: undefined });
  });

  it('waits for an unreachable one, then fails naming DATABASE_URL', async () => {
    const config = configWith(`postgres://digest:secret@127.0.0.1:${await freePort()}/digest`);
    const started = Date.now();
    await expect(ensureDatabase(config, logger, { waitMs: 600 })).rejects.toThrow(
      /^PostgreSQL at DATABASE_URL \(postgres:\/\/digest:\*\*\*@127\.0\.0\.1:\d+\/digest\) is not reachable/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('does not wait for an answer that waiting cannot change (a missing database)', async () => {
    const missing = new URL(inject('postgresUrl'));
    missing.pathname = '/no_such_database';
    await expect(ensureDatabase(configWith(missing.toString()), logger, { waitMs: 20_000 })).rejects.toThrow(
      /refused the connection: database "no_such_database" does not exist/,
    );
  });
});
