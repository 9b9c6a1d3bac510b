import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Restarts on the same port (for fault tests); data is lost unless `appendonly` was on. */
  restart(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not start`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }
}

/** Starts a private redis-server for tests. Fails with the install hint when the binary is missing. */
export async function startRedisServer(options: { appendonly?: boolean } = {}): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error(
      'The tests need redis-server on PATH (Debian/Ubuntu: apt-get install -y redis-server). .ci/run installs it.',
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'digest-test-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--maxmemory-policy',
    'noeviction',
  ];
  const server: RedisServer = {
    url,
    port,
    process: spawn('redis-server', args, { stdio: 'ignore' }),
    async stop() {
      await stopProcess(server.process);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await stopProcess(server.process);
      server.process = spawn('redis-server', args, { stdio: 'ignore' });
      await waitForRedis(url);
    },
  };
  await waitForRedis(url);
  return server;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
