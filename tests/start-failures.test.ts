import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type ServiceProcess, startService, stopAllServices } from './support/processes.ts';
import { freePort } from './support/redis-server.ts';

/**
 * `npm start` on a machine where a port it needs is taken: it says which setting to change, in one
 * line on stderr, and leaves nothing of what it started running (the local redis-server, the embedded
 * PostgreSQL). The first case is a newcomer's first run exactly (no settings at all: Redis at
 * 127.0.0.1:6379 or a redis-server of its own, the embedded PostgreSQL, port 3000), in a private
 * network namespace, so that this machine's own Redis on 6379 is neither used nor in the way.
 */
describe('npm start when a port it needs is taken', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await stopAllServices();
    for (const dir of dirs.splice(0)) {
      for (const pid of processesUsing(dir)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const throwawayDataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'digest-start-'));
    dirs.push(dir);
    return dir;
  };

  it('PORT in use (no settings: its own redis-server and embedded PostgreSQL): names PORT, stops both, exits 78', async () => {
    const namespace = ['--user', '--map-root-user', '--net'];
    const probe = spawnSync('unshare', [...namespace, 'ip', 'link', 'set', 'lo', 'up']);
    if (probe.status !== 0) {
      throw new Error(
        `This test needs unshare and ip (Debian/Ubuntu: apt-get install -y util-linux iproute2), allowed to make a user and network namespace: ${probe.error?.message ?? String(probe.stderr)}`,
      );
    }
    const dataDir = throwawayDataDir();
    const service = startService('workers/all.ts', {
      name: 'npm-start',
      env: { NODE_ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: dataDir },
      // A network of its own (loopback only), where a listener holds port 3000 (PORT's default).
      through: [
        'unshare',
        ...namespace,
        'sh',
        '-c',
        'ip link set lo up && exec "$@"',
        'sh',
        process.execPath,
        '--import',
        'tsx',
        'tests/support/port-taken.ts',
        '3000',
      ],
    });
    const exit = await service.waitForExit(90_000);
    expect(service.logsMatching('starting a local redis-server for development'), service.tail(30)).toHaveLength(1);
    expect(
      service.logsMatching('starting the embedded PostgreSQL (PGlite) for development'),
      service.tail(30),
    ).toHaveLength(1);
    expectClearFailure(service, exit.code, /\bPORT\b/);
    expect(await leftRunning(dataDir), 'processes it started, still running').toEqual([]);
  }, 120_000);

  it('BOUNCE_SMTP_PORT in use (the API already listening): names BOUNCE_SMTP_PORT, stops what had started and the embedded PostgreSQL, exits 78', async () => {
    const dataDir = throwawayDataDir();
    const taken = await holdPort();
    try {
      const service = startService('workers/all.ts', {
        name: 'npm-start',
        env: {
          NODE_ENV: 'test',
          LOG_LEVEL: 'info',
          DATA_DIR: dataDir,
          REDIS_URL: inject('redisUrl'),
          REDIS_PREFIX: `start${randomBytes(4).toString('hex')}`,
          PORT: String(await freePort()),
          HOST: '127.0.0.1',
          BOUNCE_ADDRESS: 'bounces@bounces.example.test',
          BOUNCE_SMTP_PORT: String(taken.port),
        },
      });
      const exit = await service.waitForExit(90_000);
      expect(
        service.logsMatching('starting the embedded PostgreSQL (PGlite) for development'),
        service.tail(30),
      ).toHaveLength(1);
      expect(service.logsMatching(/^Server listening at/), 'the API had started').toHaveLength(1);
      expectClearFailure(service, exit.code, /\bBOUNCE_SMTP_PORT\b/);
      expect(service.logsMatching('error while stopping')).toEqual([]);
      expect(await leftRunning(dataDir), 'processes it started, still running').toEqual([]);
    } finally {
      await new Promise((done) => taken.server.close(done));
    }
  }, 120_000);
});

/**
 * Exited 78 (a setting to change: docs/operations.md, "When a process cannot start") after stopping what it had started,
 * with one line on stderr that names the setting, and no stack trace.
 */
function expectClearFailure(service: ServiceProcess, code: number | null, setting: RegExp): void {
  expect(code, service.tail(30)).toBe(78);
  expect(service.logsMatching('stopped'), service.tail(30)).toHaveLength(1);
  const lines = service.text.filter((line) => line.trim() !== '');
  expect(
    lines.filter((line) => setting.test(line)),
    service.tail(30),
  ).toHaveLength(1);
  expect(
    lines.filter((line) => /^\s+at /.test(line)),
    'a stack trace',
  ).toEqual([]);
}

/** Processes whose command line or working directory is inside `dir` (the embedded PostgreSQL names it, redis-server works in it). */
function processesUsing(dir: string): number[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      return cwd.startsWith(dir) || cmdline.includes(dir) ? [Number(entry)] : [];
    } catch {
      return []; // gone meanwhile, or not ours to read
    }
  });
}

/** What is still running a few seconds after the exit (a stop that was asked for has had its time). */
async function leftRunning(dir: string): Promise<string[]> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const pids = processesUsing(dir);
    if (pids.length === 0 || Date.now() > deadline) return pids.map(describeProcess);
    await new Promise((done) => setTimeout(done, 100));
  }
}

function describeProcess(pid: number): string {
  try {
    return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
  } catch {
    return `${pid}: (gone)`;
  }
}

async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}
