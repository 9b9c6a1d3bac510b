import { type ChildProcess, spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './redis-server.ts';

export interface PostgresServer {
  /** The `postgres` database, for administration (creating the tests' databases). */
  url: string;
  port: number;
  /** The URL of another database of this cluster. */
  urlOf(database: string): string;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'The tests need the PostgreSQL server binaries (initdb, postgres). Debian/Ubuntu: apt-get install -y postgresql. .ci/run installs them.';

/** initdb and postgres: the newest /usr/lib/postgresql/<version>/bin, else `pg_config --bindir`. */
export function postgresBinaries(): string {
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian)
    ? readdirSync(debian)
        .filter((name) => /^\d+$/.test(name))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const candidates = versions.map((version) => join(debian, version, 'bin'));
  const fromPgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (!fromPgConfig.error && fromPgConfig.status === 0) candidates.push(fromPgConfig.stdout.trim());
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
  if (!found) throw new Error(INSTALL_HINT);
  return found;
}

/** initdb and postgres refuse to run as root: then they run as the `postgres` user. */
function unprivilegedUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0)
    throw new Error(
      `Running as root, the tests start PostgreSQL as the user "postgres", which does not exist. ${INSTALL_HINT}`,
    );
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * A throwaway cluster for one test run: initdb into a temporary directory (trust authentication,
 * no fsync anywhere), postgres on a free 127.0.0.1 port with its socket in that directory. `stop()`
 * ends it and removes the directory, with every database the run created in it.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinaries();
  const user = unprivilegedUser();
  const dir = mkdtempSync(join(tmpdir(), 'digest-test-pg-'));
  const data = join(dir, 'data');
  if (user) chownSync(dir, user.uid, user.gid);
  const asUser: SpawnOptions = user ? { uid: user.uid, gid: user.gid } : {};
  const initdb = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C'],
    {
      ...asUser,
      encoding: 'utf8',
    },
  );
  if (initdb.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${initdb.error?.message ?? `exit ${initdb.status}`}):\n${initdb.stderr}`);
  }
  const port = await freePort();
  const settings = [
    'listen_addresses=127.0.0.1',
    `port=${port}`,
    `unix_socket_directories=${dir}`,
    'fsync=off',
    'synchronous_commit=off',
    'full_page_writes=off',
    'max_connections=400',
    'shared_buffers=64MB',
  ];
  const child = spawn(join(bin, 'postgres'), ['-D', data, ...settings.flatMap((setting) => ['-c', setting])], {
    ...asUser,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const output: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const server: PostgresServer = {
    url,
    port,
    urlOf: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async stop() {
      await stopPostgres(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForPostgres(url, child, output);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

async function waitForPostgres(url: string, child: ChildProcess, output: string[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`postgres did not start:\n${output.join('').slice(-2000)}`);
      await new Promise((done) => setTimeout(done, 50));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** SIGINT is PostgreSQL's fast shutdown: it ends the sessions still open (a smart SIGTERM would wait for them). */
async function stopPostgres(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}

/** Runs statements on a database of the cluster, one connection, then closes it. */
export async function onDatabase(url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A new database's name: CREATE DATABASE takes no parameters, so it is made of safe characters only. */
export function databaseName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}
