import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedFiles, readServerRecord, type ServerRecord } from '../../src/platform/embedded-postgres/files.ts';
import { isRunning } from '../../src/platform/file-lock.ts';
import { stopEmbeddedServer } from '../support/embedded.ts';
import { type ServiceProcess, startService, stopAllServices } from '../support/processes.ts';

/**
 * The development default, as it runs: short-lived processes with DATABASE_URL unset and their own
 * DATA_DIR share one embedded PostgreSQL, which outlives them. The test stops that server itself.
 */
describe('the embedded PostgreSQL (DATABASE_URL unset)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'digest-embedded-pg-'));
  const files = embeddedFiles(dataDir);
  let server: ServerRecord | null = null;

  afterAll(async () => {
    await stopAllServices();
    const record = server ?? readServerRecord(files.server);
    if (record) await stopEmbeddedServer(record.pid);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** tests/support/database-process.ts running `statements`; resolves with its URL and rows once it exited 0. */
  function databaseProcess(
    name: string,
    statements: string[],
    env: Record<string, string> = {},
  ): { process: ServiceProcess; result: Promise<{ url: string; rows: unknown[] }> } {
    const service = startService('tests/support/database-process.ts', {
      name,
      args: statements,
      env: { NODE_ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: dataDir, ...env },
    });
    const result = service.waitForExit(90_000).then((exit) => {
      const line = service.text.find((text) => text.startsWith('RESULT '));
      if (exit.code !== 0 || !line) throw new Error(`${name} failed (${JSON.stringify(exit)}):\n${service.tail(30)}`);
      return JSON.parse(line.slice('RESULT '.length)) as { url: string; rows: unknown[] };
    });
    return { process: service, result };
  }

  it('two processes starting at once make one server, read each other’s writes, and leave it running for the CLI', async () => {
    // Each writes its note, then reads until it sees the other's too.
    const writer = (note: string) =>
      databaseProcess(
        `writer-${note}`,
        [
          'CREATE TABLE IF NOT EXISTS notes (body text NOT NULL)',
          `INSERT INTO notes VALUES ('from ${note}')`,
          'SELECT body FROM notes ORDER BY body',
        ],
        { UNTIL_ROWS: '2' },
      );
    const [a, b] = [writer('a'), writer('b')];
    const [fromA, fromB] = await Promise.all([a.result, b.result]);
    server = readServerRecord(files.server);
    expect(server, 'the server wrote its pid and port').not.toBeNull();
    expect(fromA).toEqual({
      url: `postgres://postgres@127.0.0.1:${server?.port}/postgres`,
      rows: [{ body: 'from a' }, { body: 'from b' }],
    });
    expect(fromB).toEqual(fromA);
    const starters = [a.process, b.process].filter(
      (p) => p.logsMatching('starting the embedded PostgreSQL (PGlite) for development').length > 0,
    );
    expect(starters).toHaveLength(1);
    const migrators = [a.process, b.process].filter((p) => p.logsMatching(/^database migrated/).length > 0);
    expect(migrators, 'the migration lock let one of them migrate').toHaveLength(1);
    expect(isRunning(server?.pid ?? 0), 'the server outlives the processes that used it').toBe(true);

    const cli = startService('src/cli.ts', {
      name: 'digest-migrate',
      args: ['migrate'],
      env: { NODE_ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: dataDir },
    });
    expect(await cli.waitForExit(30_000), cli.tail()).toEqual({ code: 0, signal: null });
    expect(cli.text).toContain('The database schema is up to date.');
    expect(cli.logsMatching(/^starting the embedded/)).toHaveLength(0);
    expect(readServerRecord(files.server)).toEqual(server);
  });

  it('keeps each connection’s query and transaction together while several connections run at once', async () => {
    if (!server) throw new Error('needs the server of the first test');
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${server.port}/postgres`, max: 6 });
    try {
      // Large parameters arrive in several reads: pglite-socket's own queue let another connection's Parse in between.
      const big = 'x'.repeat(300_000);
      const answers = await Promise.all(
        Array.from({ length: 60 }, async (_, n) => {
          const { rows } =
            n % 2
              ? await pool.query(`SELECT $1::int AS n, length($2::text) AS len, '${n}' AS tag`, [n, big])
              : await pool.query(`SELECT '${n}' AS tag, $1::int AS n`, [n]);
          return rows[0] as { n: number; tag: string };
        }),
      );
      expect(answers.filter((row, n) => row.n !== n || row.tag !== String(n))).toEqual([]);
      expect(answers).toHaveLength(60);

      // Read-modify-write transactions on six connections at once: none sees another's half.
      await pool.query('CREATE TABLE counter (n int NOT NULL); INSERT INTO counter VALUES (0)');
      await Promise.all(
        Array.from({ length: 30 }, async () => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            const { rows } = await client.query<{ n: number }>('SELECT n FROM counter');
            await new Promise((done) => setTimeout(done, 1));
            await client.query('UPDATE counter SET n = $1', [(rows[0]?.n ?? 0) + 1]);
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        }),
      );
      expect((await pool.query('SELECT n FROM counter')).rows).toEqual([{ n: 30 }]);

      // A connection that dies inside a transaction is rolled back, and nobody waits for it.
      const dying = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${server.port}/postgres` });
      dying.on('error', () => undefined);
      await dying.connect();
      await dying.query('BEGIN');
      await dying.query('UPDATE counter SET n = 999');
      dying.connection.stream.destroy();
      expect((await pool.query('SELECT n FROM counter')).rows).toEqual([{ n: 30 }]);

      // The limit that makes migrations take a lock file: one session, so advisory locks do not exclude each other.
      const [first, second] = await Promise.all([pool.connect(), pool.connect()]);
      try {
        expect((await first.query('SELECT pg_try_advisory_lock(42) AS got')).rows).toEqual([{ got: true }]);
        expect((await second.query('SELECT pg_try_advisory_lock(42) AS got')).rows).toEqual([{ got: true }]);
        await first.query('SELECT pg_advisory_unlock(42), pg_advisory_unlock(42)');
      } finally {
        first.release();
        second.release();
      }
    } finally {
      await pool.end();
    }
  });
});
