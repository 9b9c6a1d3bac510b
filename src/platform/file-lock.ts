import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

export interface FileLockOptions {
  /** Give up waiting after this long. */
  timeoutMs?: number;
  /** A lock older than this is taken to be left over, whoever holds it (a reused pid). */
  staleAfterMs?: number;
}

/**
 * Runs `work` while holding an exclusive lock between the processes of one machine: a file created
 * only if absent (O_EXCL), naming its holder's pid. A lock whose holder has died, or that is older
 * than `staleAfterMs`, is removed and taken.
 */
export async function withFileLock<T>(path: string, work: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const token = `${process.pid} ${randomUUID()}`;
  await acquire(path, token, options.timeoutMs ?? 60_000, options.staleAfterMs ?? 120_000);
  try {
    return await work();
  } finally {
    if (readLock(path) === token) rmSync(path, { force: true });
  }
}

async function acquire(path: string, token: string, timeoutMs: number, staleAfterMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(path, token, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = readLock(path);
    if (held !== null && isStale(path, held, staleAfterMs)) {
      // Removed only if nobody replaced it since we read it (the window is a few microseconds).
      if (readLock(path) === held) rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for the lock ${path} (held by pid ${held?.split(' ')[0] ?? '?'})`,
      );
    await new Promise((done) => setTimeout(done, 50));
  }
}

function readLock(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function isStale(path: string, held: string, staleAfterMs: number): boolean {
  let age: number;
  try {
    age = Date.now() - statSync(path).mtimeMs;
  } catch {
    return false;
  }
  const pid = Number(held.split(' ')[0]);
  // An empty or garbled lock is a holder that died between creating and writing it.
  if (!Number.isInteger(pid) || pid <= 0) return age > 5_000;
  return age > staleAfterMs || !isRunning(pid);
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
