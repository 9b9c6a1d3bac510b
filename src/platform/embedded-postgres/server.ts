import { rmSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { isRunning } from '../file-lock.ts';
import { createLogger } from '../logger.ts';
import { embeddedFiles, readServerRecord, writeServerRecord } from './files.ts';
import { SessionQueue } from './session-queue.ts';

/**
 * The embedded PostgreSQL of development, started detached by ensureDatabase when DATABASE_URL is
 * unset: PGlite with its data under DATA_DIR/postgres, served over the PostgreSQL wire protocol on
 * 127.0.0.1 (a free port) to every process of the machine. Runs until SIGTERM or SIGINT.
 *
 *   node --import tsx src/platform/embedded-postgres/server.ts <DATA_DIR>
 */

// A few processes with pools of 5, the migration and probe connections, and psql: 64 leaves room.
const MAX_CONNECTIONS = 64;

const files = embeddedFiles(process.argv[2] ?? 'var');
const logger = createLogger('embedded-postgres', process.env.LOG_LEVEL ?? 'info');

// The launcher checked this under its lock; checking again costs nothing, and two servers on one data directory would corrupt it.
const other = readServerRecord(files.server);
if (other && other.pid !== process.pid && isRunning(other.pid)) {
  logger.error(
    { pid: other.pid, port: other.port },
    'another embedded PostgreSQL serves this data directory; not starting a second one',
  );
  process.exit(1);
}

const db = await PGlite.create(files.data);
const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
useSessionQueue(server, db);
server.addEventListener('error', (event) =>
  logger.warn({ err: String((event as CustomEvent).detail) }, 'connection error'),
);
await server.start();
const port = Number(server.getServerConn().split(':').pop());
writeServerRecord(files.server, { pid: process.pid, port });
logger.info({ port, dir: files.data, pid: process.pid }, 'embedded PostgreSQL is listening');

process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));

/**
 * Swaps pglite-socket's query queue for ours (see SessionQueue for why). The queue is a private
 * field that each new connection's handler is given; the versions are pinned, and this fails
 * loudly should a new version rename it.
 */
function useSessionQueue(socketServer: PGLiteSocketServer, database: PGlite): void {
  if (!('queryQueue' in socketServer))
    throw new Error('pglite-socket changed: PGLiteSocketServer has no queryQueue to replace');
  Object.assign(socketServer, { queryQueue: new SessionQueue(database) });
}

async function stop(signal: string): Promise<void> {
  logger.info({ signal }, 'embedded PostgreSQL stopping');
  setTimeout(() => process.exit(1), 10_000).unref();
  await server.stop();
  await db.close();
  if (readServerRecord(files.server)?.pid === process.pid) rmSync(files.server, { force: true });
  process.exit(0);
}
