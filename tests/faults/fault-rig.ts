import { randomBytes } from 'node:crypto';
import { expect, inject, onTestFailed } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import type { Progress } from '../../src/delivery/deliveries.ts';
import type { DeliveryState, LedgerEntry } from '../../src/delivery/ledger.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createTestDatabase } from '../support/database.ts';
import { type ServiceProcess, startService, stopAllServices } from '../support/processes.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { FaultSink } from './fault-sink.ts';

export const ADMIN_TOKEN = 'fault-admin-token-0123456789';
/** runDue at this moment cuts the 2020-02-25 edition (cut-off 18:30 UTC, the default DIGEST_CRON). */
export const EDITION_DUE = new Date('2020-02-25T18:30:05Z');
export const EDITION_ID = '2020-02-25';

/** Short timings so that leases, stalls, backoff and pauses play out within seconds. */
export const FAST_TIMINGS: Record<string, string> = {
  DELIVERY_LOCK_MS: '3000',
  DELIVERY_BACKOFF_MS: '200',
  DELIVERY_PAUSE_MS: '1000',
  SMTP_TIMEOUT_MS: '1500',
  WORKER_CONCURRENCY: '2',
  DELIVERY_BATCH_SIZE: '10',
};

/** A daily DIGEST_CRON whose cut-off is at `at` (to the minute, UTC). */
export function dailyCronAt(at: Date): string {
  return `${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

/** The start of the minute `minutes` from now (negative: ago). */
export function minuteFromNow(minutes: number): Date {
  const at = new Date(Date.now() + minutes * 60_000);
  at.setUTCSeconds(0, 0);
  return at;
}

export interface Reader {
  id: string;
  email: string;
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export async function waitUntil<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((done) => (timer = setTimeout(() => done(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One fault scenario's world: its own key prefix (and, if asked, its own append-only redis-server
 * to restart), its own PostgreSQL database, a controllable SMTP sink in this process, and an App in this process that seeds and
 * inspects Redis but never delivers: only the service processes started with `start()` do.
 */
export class FaultRig {
  private static readonly open = new Set<FaultRig>();
  readonly readers: Reader[] = [];
  /** Every service process this rig started, for the failure report. */
  readonly services: ServiceProcess[] = [];

  private constructor(
    readonly app: App,
    readonly sink: FaultSink,
    readonly env: Record<string, string>,
    readonly redisServer: RedisServer | null,
  ) {}

  static async start(options: { ownRedis?: boolean; env?: Record<string, string> } = {}): Promise<FaultRig> {
    const redisServer = options.ownRedis ? await startRedisServer({ appendonly: true }) : null;
    const [sink, databaseUrl] = await Promise.all([new FaultSink().start(), createTestDatabase()]);
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      REDIS_URL: redisServer?.url ?? inject('redisUrl'),
      DATABASE_URL: databaseUrl,
      REDIS_PREFIX: `f${randomBytes(6).toString('hex')}`,
      SMTP_URL: sink.url,
      ADMIN_TOKEN,
      APP_SECRET: 'fault-secret-fault-secret-fault-secret-0123',
      PUBLIC_URL: 'https://digest.example.test',
      MAIL_FROM: 'Evening Digest <digest@example.test>',
      HOST: '127.0.0.1',
      ...FAST_TIMINGS,
      ...options.env,
    };
    const config = loadConfig({ ...env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const rig = new FaultRig(createApp(config, createLogger('fault-test', config.LOG_LEVEL)), sink, env, redisServer);
    FaultRig.open.add(rig);
    onTestFailed(() => {
      console.log(
        `fault rig ${env.REDIS_PREFIX}: sink accepted ${sink.editionCount} edition emails in ${sink.attempts.length} attempts`,
      );
      for (const service of rig.services)
        console.log(
          `--- ${service.name} (pid ${service.pid}, exit ${JSON.stringify(service.exit)}) ---\n${service.tail(25)}`,
        );
    });
    return rig;
  }

  /** Ends every rig (and every service process) a test started, whatever the test did: for afterEach. */
  static async closeAll(): Promise<void> {
    await stopAllServices();
    for (const rig of [...FaultRig.open]) await rig.close();
  }

  /** A service process (`workers/worker.ts`, `workers/scheduler.ts`, `workers/api.ts`, `src/cli.ts`) of this rig. */
  start(
    script: string,
    options: { env?: Record<string, string>; args?: string[]; name?: string } = {},
  ): ServiceProcess {
    const service = startService(script, {
      env: { ...this.env, ...options.env },
      ...(options.args ? { args: options.args } : {}),
      ...(options.name ? { name: options.name } : {}),
    });
    this.services.push(service);
    return service;
  }

  /** A delivery worker process, resolved once it consumes the queue. */
  async startWorker(name = 'worker', env: Record<string, string> = {}): Promise<ServiceProcess> {
    const worker = this.start('workers/worker.ts', { name, env });
    await worker.waitForLog('delivery workers started', 30_000);
    return worker;
  }

  /**
   * The opening of most crash scenarios: `count` readers, the edition cut, and a sink that takes
   * `delayMs` per message, so that the edition is still being sent when the fault strikes.
   */
  async pacedEdition(count: number, delayMs: number): Promise<{ readers: Reader[]; edition: string }> {
    const readers = await this.addReaders(count);
    const edition = await this.cutEdition();
    this.sink.delayMs = delayMs;
    return { readers, edition };
  }

  /** Until the sink has accepted `count` edition messages. */
  async sentAtLeast(count: number): Promise<void> {
    await waitUntil(() => this.sink.editionCount >= count, `the first ${count} deliveries`);
  }

  /** Confirmed subscribers, created through the subscriber store. */
  async addReaders(count: number, label = 'reader', domain = 'example.test'): Promise<Reader[]> {
    const added: Reader[] = [];
    const start = this.readers.length;
    for (let offset = 0; offset < count; offset += 500) {
      const group = Array.from(
        { length: Math.min(500, count - offset) },
        (_, index) => `${label}${start + offset + index}@${domain}`,
      );
      const created = await Promise.all(
        group.map(async (email) => {
          const { id } = await this.app.subscribers.create(email, { email });
          const result = await this.app.subscribers.transition({
            id,
            from: ['pending'],
            to: 'confirmed',
            reason: 'test',
          });
          if (!result.ok) throw new Error(`could not confirm ${email}`);
          return { id, email };
        }),
      );
      added.push(...created);
    }
    this.readers.push(...added);
    return added;
  }

  async publishArticle(publishedAt: Date | string = '2020-02-25T12:00:00Z', slug = 'story'): Promise<void> {
    const at = typeof publishedAt === 'string' ? publishedAt : publishedAt.toISOString();
    const result = await this.app.intake.ingest(
      { url: `https://news.example.org/${slug}-${Date.parse(at)}`, title: `Fault test story ${slug}`, publishedAt: at },
      'admin',
    );
    if (!result.ok) throw new Error(`article rejected: ${JSON.stringify(result)}`);
  }

  /** Publishes an article and cuts the 2020-02-25 edition in this process: assembly and fan-out, no delivery. */
  async cutEdition(): Promise<string> {
    await this.publishArticle();
    const edition = await this.app.desk.runDue(EDITION_DUE);
    if (!edition || !['ready', 'sending', 'sent'].includes(edition.status))
      throw new Error(`no edition to send: ${JSON.stringify(edition?.status)}`);
    return edition.id;
  }

  async runMeta(edition: string, run = 'main'): Promise<Record<string, string>> {
    return this.app.redis.hgetall(this.app.keys.run(edition, run));
  }

  /**
   * Polls the run's meta as fast as Redis answers until its fan-out has recorded batches but is not
   * done: the moment to interrupt it. Fails if the fan-out finished first (the scenario needs more recipients).
   */
  async fanOutInProgress(edition: string, timeoutMs = 30_000, run = 'main'): Promise<Record<string, string>> {
    const key = this.app.keys.run(edition, run);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [cursor, done] = await this.app.redis.hmget(key, 'cursor', 'done');
      if (done === '1') throw new Error('the fan-out finished before it could be interrupted');
      if (Number(cursor ?? 0) > 0) return this.runMeta(edition, run);
      if (Date.now() > deadline) throw new Error(`no fan-out of ${edition} started within ${timeoutMs} ms`);
      await sleep(1);
    }
  }

  /** Until nothing is queued, sending or deferred and the main run's fan-out is done. */
  async waitUntilDelivered(edition: string, timeoutMs = 45_000): Promise<Progress> {
    return waitUntil(
      async () => {
        const [progress, meta] = await Promise.all([this.app.deliveries.progress(edition), this.runMeta(edition)]);
        return progress?.finished && meta.done === '1' ? progress : null;
      },
      `edition ${edition} delivered (sink has ${this.sink.editionCount} edition emails)`,
      timeoutMs,
      100,
    );
  }

  /** Every reader's ledger state (null: no entry). */
  async ledgerStates(edition: string, readers: Reader[] = this.readers): Promise<Map<string, DeliveryState | null>> {
    const entries = await Promise.all(readers.map((reader) => this.app.ledger.entry(edition, reader.id)));
    return new Map(readers.map((reader, index) => [reader.id, entries[index]?.state ?? null]));
  }

  async entry(edition: string, reader: Reader): Promise<LedgerEntry | null> {
    return this.app.ledger.entry(edition, reader.id);
  }

  /** Readers whose ledger entry is `sending`: a send may have reached the server without being recorded. */
  async inDoubt(edition: string): Promise<Set<string>> {
    const states = await this.ledgerStates(edition);
    return new Set([...states].filter(([, state]) => state === 'sending').map(([id]) => id));
  }

  copiesOf(reader: Reader, edition: string): number {
    return this.sink.copies(edition).get(reader.email) ?? 0;
  }

  /**
   * The core assertion: `readers` got exactly one copy each (or `expected(reader)` copies), and the
   * ledger agrees: each of them `sent`, and the edition's counts say so.
   */
  async expectDeliveredOnce(
    edition: string,
    options: {
      readers?: Reader[];
      copies?: (reader: Reader) => number;
      counts?: Partial<Record<DeliveryState, number>>;
    } = {},
  ): Promise<void> {
    const readers = options.readers ?? this.readers;
    const copies = this.sink.copies(edition);
    const wrong = readers
      .map((reader) => ({
        email: reader.email,
        copies: copies.get(reader.email) ?? 0,
        expected: options.copies?.(reader) ?? 1,
      }))
      .filter((row) => row.copies !== row.expected);
    expect(wrong, 'readers with the wrong number of copies at the SMTP sink').toEqual([]);
    const states = await this.ledgerStates(edition, readers);
    const notSent = [...states].filter(([, state]) => state !== 'sent');
    expect(notSent, 'ledger entries that are not `sent`').toEqual([]);
    const progress = await this.app.deliveries.progress(edition);
    expect(progress?.counts).toEqual({
      queued: 0,
      sending: 0,
      sent: readers.length,
      waiting: 0,
      deferred: 0,
      failed: 0,
      skipped: 0,
      ...options.counts,
    });
  }

  async close(): Promise<void> {
    FaultRig.open.delete(this);
    await stopAllServices();
    await within(this.app.close(), 5_000);
    this.app.redis.disconnect();
    this.app.queueConnection.disconnect();
    await within(this.sink.stop(), 5_000);
    await this.redisServer?.stop();
  }
}
