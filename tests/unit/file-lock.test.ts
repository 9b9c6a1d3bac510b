import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock } from '../../src/platform/file-lock.ts';

let dir: string;
let lock: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'digest-lock-'));
  lock = join(dir, 'test.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('withFileLock', () => {
  it('lets one holder in at a time and removes the file afterwards', async () => {
    const events: string[] = [];
    const holder = (name: string) =>
      withFileLock(lock, async () => {
        events.push(`${name} in`);
        await sleep(100);
        events.push(`${name} out`);
      });
    await Promise.all([holder('a'), holder('b')]);
    expect(events).toEqual(['a in', 'a out', 'b in', 'b out']);
    expect(existsSync(lock)).toBe(false);
  });

  it('takes a lock whose holder has died', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(lock, `${dead} left-over`);
    expect(await withFileLock(lock, async () => 'mine', { timeoutMs: 1_000 })).toBe('mine');
  });

  it('takes a lock older than staleAfterMs, even if its pid runs', async () => {
    writeFileSync(lock, `${process.pid} old`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect(await withFileLock(lock, async () => 'mine', { timeoutMs: 1_000, staleAfterMs: 30_000 })).toBe('mine');
  });

  it('waits for a live holder, then gives up naming its pid', async () => {
    writeFileSync(lock, `${process.pid} busy`);
    await expect(withFileLock(lock, async () => 'never', { timeoutMs: 200 })).rejects.toThrow(
      `held by pid ${process.pid}`,
    );
    expect(existsSync(lock), 'the live holder keeps its lock').toBe(true);
  });
});
