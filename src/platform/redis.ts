import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Config } from './config.ts';
import { stopChild } from './children.ts';
import { withoutPassword } from './connection-url.ts';
import type { Logger } from './logger.ts';
import { EXIT, StartupError } from './startup.ts';

export { Redis };

/** One connection. BullMQ needs `maxRetriesPerRequest: null` on the connections it blocks on. */
export function connectRedis(url: string, options: { forQueue?: boolean } = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: options.forQueue ? null : 20,
    enableReadyCheck: true,
    // Reconnect forever with a capped backoff: a Redis restart must not kill the process.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}

/** HGETALL of many keys in one round trip; missing keys come back as empty objects. */
export async function readHashes(redis: Redis, keys: string[]): Promise<Array<Record<string, string>>> {
  if (keys.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.hgetall(key);
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([, hash]) => (hash ?? {}) as Record<string, string>);
}

/** A Lua script run by its SHA, loaded on first use (and again after a Redis restart flushed it). */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * A script from its file (each starts with a header naming its KEYS, ARGV and what it returns),
   * after the shared parts it uses (`include`), read once when the module loads.
   */
  static fromFile(file: URL, include: URL[] = []): LuaScript {
    return new LuaScript([...include, file].map((part) => readFileSync(part, 'utf8')).join('\n'));
  }

  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * Warns when this Redis would lose data on restart or evict keys: it holds the delivery queues and
 * the ledger that keeps sending exactly once (subscribers, articles and editions are in PostgreSQL),
 * and BullMQ loses jobs under any eviction policy but `noeviction`.
 */
export async function warnAboutRedisSafety(redis: Redis, logger: Logger): Promise<void> {
  const settings = await readConfigValues(redis, ['appendonly', 'save', 'maxmemory-policy']);
  if (settings === null) {
    logger.warn(
      'could not read the Redis configuration (CONFIG GET refused); check persistence and maxmemory-policy yourself',
    );
    return;
  }
  if (settings.appendonly !== 'yes' && !settings.save) {
    logger.warn(
      { appendonly: settings.appendonly, save: settings.save },
      'Redis has no persistence (appendonly no and no RDB snapshots): a restart loses the delivery queues and ledger (an edition being sent stops where it was, its counts and failures gone), console sessions and rate limits; subscribers and editions are in PostgreSQL and are not affected. Turn on appendonly yes.',
    );
  }
  if (settings['maxmemory-policy'] && settings['maxmemory-policy'] !== 'noeviction') {
    logger.warn(
      { policy: settings['maxmemory-policy'] },
      'Redis maxmemory-policy is not noeviction: under memory pressure it deletes queue jobs and ledger entries. Set maxmemory-policy noeviction.',
    );
  }
}

async function readConfigValues(redis: Redis, names: string[]): Promise<Record<string, string> | null> {
  try {
    const values: Record<string, string> = {};
    for (const name of names) {
      const reply = (await redis.config('GET', name)) as string[];
      values[name] = reply[1] ?? '';
    }
    return values;
  } catch {
    return null;
  }
}

async function isReachable(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Development default: use the configured Redis, else start a local `redis-server` with its data
 * under DATA_DIR/redis (append-only, noeviction). Returns the child to stop on shutdown, if any.
 */
export async function ensureRedis(config: Config, logger: Logger): Promise<ChildProcess | undefined> {
  if (await isReachable(config.redisUrl)) return undefined;
  if (config.redisUrlExplicit) {
    // It may be restarting: give it a while before giving up.
    logger.warn({ url: withoutPassword(config.redisUrl) }, 'Redis is not reachable yet; waiting up to 30 s');
    for (let waited = 0; waited < 30_000; waited += 500) {
      await new Promise((done) => setTimeout(done, 500));
      if (await isReachable(config.redisUrl)) return undefined;
    }
    throw new StartupError(
      `Redis at REDIS_URL (${withoutPassword(config.redisUrl)}) is not reachable.`,
      EXIT.unavailable,
    );
  }
  if (spawnSync('redis-server', ['--version']).error) {
    throw new StartupError(
      `No Redis at ${config.redisUrl} and no redis-server to start. Install one (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL.`,
      EXIT.unavailable,
    );
  }
  const port = new URL(config.redisUrl).port || '6379';
  const dir = resolve(config.DATA_DIR, 'redis');
  mkdirSync(dir, { recursive: true });
  logger.info({ port, dir }, 'starting a local redis-server for development');
  const child = spawn(
    'redis-server',
    ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  // Short-lived commands may exit and leave it running for the next one; long-running processes stop it on shutdown.
  child.unref();
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if (await isReachable(config.redisUrl)) return child;
    await new Promise((done) => setTimeout(done, 100));
  }
  await stopChild(child);
  throw new StartupError(
    `Started redis-server on port ${port}, but it did not answer (is the port taken by another program? Set REDIS_URL to a Redis you run).`,
    EXIT.unavailable,
  );
}
