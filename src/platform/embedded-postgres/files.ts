import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where the embedded PostgreSQL keeps its data and tells other processes how to reach it, under DATA_DIR. */
export interface EmbeddedFiles {
  /** PGlite's data directory. */
  data: string;
  /** `{"pid", "port"}` of the running server, written once it listens. */
  server: string;
  /** Held while one process looks for a server and starts one, so that two starting at once make one. */
  startLock: string;
  /** Held while one process migrates (see migrate()). */
  migrateLock: string;
  /** The server's own log (it runs detached). */
  log: string;
}

export interface ServerRecord {
  pid: number;
  port: number;
}

export function embeddedFiles(dataDir: string): EmbeddedFiles {
  const root = resolve(dataDir);
  return {
    data: join(root, 'postgres'),
    server: join(root, 'postgres-server.json'),
    startLock: join(root, 'postgres-server.lock'),
    migrateLock: join(root, 'postgres-migrate.lock'),
    log: join(root, 'postgres-server.log'),
  };
}

/** The URL of the embedded server on `port`: PGlite has one database and takes any user without a password. */
export function embeddedUrl(port: number): string {
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

export function readServerRecord(file: string): ServerRecord | null {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServerRecord>;
    return Number.isInteger(record.pid) && Number.isInteger(record.port)
      ? { pid: record.pid as number, port: record.port as number }
      : null;
  } catch {
    return null;
  }
}

/** Written to a temporary file and renamed, so that a reader never sees half a record. */
export function writeServerRecord(file: string, record: ServerRecord): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(record));
  renameSync(temporary, file);
}
