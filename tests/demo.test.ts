import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { embeddedFiles, readServerRecord } from '../src/platform/embedded-postgres/files.ts';
import { stopEmbeddedServer } from './support/embedded.ts';
import { startService, stopAllServices } from './support/processes.ts';
import { freePort } from './support/redis-server.ts';

/**
 * A newcomer's first run, as the README tells it: `npm start`, then `npm run demo`, on the embedded
 * defaults (no DATABASE_URL: the embedded PostgreSQL; no SMTP_URL: the dev mailbox). The clock is
 * moved with CLOCK_START, before and after the day's cut-off (18:30 UTC), instead of waiting.
 */
describe('npm start, then npm run demo, at any hour', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await stopAllServices();
    for (const dir of dirs.splice(0)) {
      const record = readServerRecord(embeddedFiles(dir).server);
      if (record) await stopEmbeddedServer(record.pid);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function firstRun(clock: string, edition: string) {
    const dataDir = mkdtempSync(join(tmpdir(), 'digest-demo-'));
    dirs.push(dataDir);
    const port = await freePort();
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: `demo${randomBytes(4).toString('hex')}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      CLOCK_START: clock,
    };
    const service = startService('workers/all.ts', { name: 'npm-start', env });
    await service.waitForLog(/^Evening Digest is running/, 60_000);
    // Whatever the scheduler did at start (it ran its check at once), the demo puts a digest in the mailbox.
    await service.waitForLog('scheduler started', 30_000);
    const demo = startService('src/cli.ts', { name: 'npm-run-demo', args: ['demo'], env });
    const exit = await demo.waitForExit(90_000);
    expect(exit, demo.tail(30)).toEqual({ code: 0, signal: null });
    expect(demo.text.join('\n')).toContain(`Sent edition ${edition}.`);
    const mailbox = await (await fetch(`http://127.0.0.1:${port}/dev/mailbox`)).text();
    for (const reader of ['ada@example.com', 'grace@example.com', 'reader@example.com'])
      expect(mailbox).toContain(`<td>${reader}</td>`);
    expect(mailbox.match(/Evening Digest: Ceasefire talks resume/g)).toHaveLength(3);
    return { service, env };
  }

  it('after the cut-off (22:58), when the scheduler has already held the day’s edition for lack of articles', async () => {
    const { service } = await firstRun('2026-11-29T22:58:00Z', '2026-11-29');
    expect(service.logsMatching((line) => line.msg.startsWith('Edition 2026-11-29 is held'))).toHaveLength(1);
  }, 120_000);

  it('before the cut-off (10:00): the day’s edition is cut early', async () => {
    await firstRun('2026-11-30T10:00:00Z', '2026-11-30');
  }, 120_000);
});
