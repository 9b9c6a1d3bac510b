/**
 * The benchmark's phases, shared by bench/run.ts (and handy for trying settings by hand):
 * set-up of the throwaway Redis and PostgreSQL, the SMTP sink process and the app; render; fan-out; delivery
 * through worker processes; the baselines. The subscriber lists and the relay profile have files of their own. Settings come from BENCH_* environment variables.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type App, createApp } from '../src/app.ts';
import type { Claimed, DeliveryCounts } from '../src/delivery/ledger.ts';
import type { Messages } from '../src/delivery/messages.ts';
import { type OutgoingMessage } from '../src/delivery/messages.ts';
import type { Edition } from '../src/editions/edition-store.ts';
import { browserView, EditionRenderer } from '../src/editions/render.ts';
import { type Config, loadConfig } from '../src/platform/config.ts';
import { EmailTemplates } from '../src/platform/email-template.ts';
import { localeFor } from '../src/platform/locale.ts';
import { createLogger } from '../src/platform/logger.ts';
import { migrate } from '../src/platform/migrations.ts';
import { onDatabase, type PostgresServer, startPostgresServer } from '../tests/support/postgres-server.ts';
import { type RedisServer, startRedisServer } from '../tests/support/redis-server.ts';
import type { BaselinePayload, BaselineResult, BaselineSpec } from './baseline.ts';
import {
  buildWorker,
  processCpuSeconds,
  runBaselineProcess,
  type Sink,
  startSink,
  startWorker,
  stopAllChildren,
  stopChild,
  type WorkerCommand,
  type WorkerProcess,
} from './children.ts';
import { measureEmailSizes } from './email-size.ts';
import { BENCH_IDENTITY, benchRecipient, benchSections } from './fixtures.ts';
import { deleteMatching, redisCpuSeconds, seedSubscribers, usedMemory } from './seed.ts';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
export const SETTINGS = {
  /** Optional repeats are skipped once the run is projected to end after this many seconds. */
  budgetSeconds: num('BENCH_BUDGET_S', 900),
  smtpPoolSize: num('BENCH_SMTP_POOL_SIZE', 5),
  workerConcurrency: num('BENCH_WORKER_CONCURRENCY', 4),
  deliveryRecipients: num('BENCH_DELIVERY_N', 20_000),
  memoryRecipients: num('BENCH_MEMORY_N', 100_000),
  naiveRecipients: num('BENCH_NAIVE_N', 5_000),
  fanOutSizes: [num('BENCH_FANOUT_SMALL', 100_000), num('BENCH_FANOUT_LARGE', 1_000_000)] as const,
  /** The subscriber list imported, then searched and paged through in the console. */
  listSize: num('BENCH_LIST_N', 1_000_000),
  /** Sends the baselines keep queued on their pool, so that it never idles. */
  baselineInflight: num('BENCH_BASELINE_INFLIGHT', 64),
  repeats: 3,
  prefix: 'bench',
};
export const MB = 1_000_000;

const t0 = performance.now();
export const elapsed = () => (performance.now() - t0) / 1000;
export const log = (message: string) =>
  process.stderr.write(`[bench ${elapsed().toFixed(1).padStart(5)}s] ${message}\n`);
export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

// ---------------------------------------------------------------- set-up and clean-up

let redisServer: RedisServer | undefined;
let postgresServer: PostgresServer | undefined;
let app: App | undefined;
let scratch: string | undefined;
let cleaning: Promise<void> | undefined;

/**
 * Stops every child process, the app's connections and the throwaway Redis and PostgreSQL. Every caller gets the
 * same promise, so that a second caller (a signal, an error) waits for the clean-up under way
 * instead of exiting in the middle of it.
 */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllChildren().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await redisServer?.stop().catch(() => undefined);
    await postgresServer?.stop().catch(() => undefined);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  })();
  return cleaning;
}

export async function setUp(): Promise<Context> {
  scratch = mkdtempSync(join(os.tmpdir(), 'digest-bench-'));
  redisServer = await startRedisServer();
  // PostgreSQL holds the subscribers and editions (the system of record); every process migrates it at start.
  postgresServer = await startPostgresServer();
  await onDatabase(postgresServer.url, 'CREATE DATABASE bench');
  const databaseUrl = postgresServer.urlOf('bench');
  await migrate(databaseUrl, createLogger('bench', 'warn'));
  const sink = await startSink();
  log('building the service (npm run build), to run the delivery workers as deployed');
  const worker = buildWorker(scratch);
  log(
    `throwaway redis-server at ${redisServer.url}, PostgreSQL at ${databaseUrl}; SMTP sink (pid ${sink.child.pid}) at ${sink.url}`,
  );
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    REDIS_URL: redisServer.url,
    DATABASE_URL: databaseUrl,
    REDIS_PREFIX: SETTINGS.prefix,
    SMTP_URL: sink.url,
    DATA_DIR: scratch,
    ...BENCH_IDENTITY,
  });
  const theApp = createApp(config, createLogger('bench', config.LOG_LEVEL));
  app = theApp;
  const templates = new EmailTemplates({ locale: localeFor(config.DIGEST_LOCALE) });
  const renderer = new EditionRenderer(templates, {
    newsletterName: config.NEWSLETTER_NAME,
    publicUrl: config.PUBLIC_URL,
    timeZone: config.DIGEST_TZ,
    tracking: config.TRACKING,
  });
  const messages = theApp.messages;
  return {
    app: theApp,
    config,
    redisUrl: redisServer.url,
    sink,
    messages,
    renderer,
    dir: scratch,
    edition: undefined as unknown as Edition,
    payloadFile: join(scratch, 'baseline-payload.json'),
    worker,
  };
}

/** What the baseline processes send: the same edition, and one message built for recipient 1. */
function writeBaselinePayload(ctx: Context): void {
  const { config, edition } = ctx;
  const message = ctx.messages.edition(edition, benchRecipient(1), 'main');
  const payload: BaselinePayload = {
    from: config.MAIL_FROM,
    envelopeFrom: message.envelope.from,
    subject: edition.subject,
    html: edition.html,
    text: edition.text,
    listId: config.LIST_ID,
    editionId: edition.id,
    domain: config.mailDomain,
    publicUrl: config.PUBLIC_URL,
    appSecret: config.APP_SECRET,
    rawBase64: message.raw.toString('base64'),
    messageId: message.messageId,
  };
  writeFileSync(ctx.payloadFile, JSON.stringify(payload));
}

// ---------------------------------------------------------------- phases

export interface Context {
  app: App;
  config: Config;
  redisUrl: string;
  sink: Sink;
  messages: Messages;
  renderer: EditionRenderer;
  /** Scratch directory (DATA_DIR of the workers, the baselines' payload). */
  dir: string;
  /** Set once measureRender has run. */
  edition: Edition;
  payloadFile: string;
  /** The delivery worker as deployed (built, with its heap flags). */
  worker: WorkerCommand;
}

export async function measureRender(ctx: Context) {
  const { renderer, messages } = ctx;
  const sections = benchSections();
  const cutoff = new Date('2026-11-24T18:30:00Z');
  for (let warm = 0; warm < 3; warm += 1) await renderer.render('2026-11-24', cutoff, sections);
  const compileMs: number[] = [];
  let rendered = await renderer.render('2026-11-24', cutoff, sections);
  for (let run = 0; run < 15; run += 1) {
    const start = performance.now();
    rendered = await renderer.render('2026-11-24', cutoff, sections);
    compileMs.push(performance.now() - start);
  }
  const edition: Edition = {
    id: '2026-11-24',
    status: 'sending',
    holdReason: null,
    cutoff,
    windowStart: new Date(cutoff.getTime() - 24 * 3600_000),
    sendingAt: cutoff,
    sentAt: null,
    recordsRemovedAt: null,
    articleKeys: sections.flatMap((section) => section.articles.map((article) => article.key)),
    ...rendered,
    createdAt: new Date(),
    createdBy: 'bench',
  };

  // Per-recipient personalization: Messages.edition() -> Buffer, each of 20k calls timed, in 3 sets.
  const recipients: Claimed[] = Array.from({ length: 20_000 }, (_, index) => benchRecipient(index + 1));
  // Where Messages lends pooled buffers, hand each back as the worker does after the SMTP answer
  // (looked up at run time: the method is newer than this benchmark's first version).
  const recycle = (message: OutgoingMessage) => messages.recycle(message);
  messages.edition(edition, recipients[0] as Claimed, 'main'); // composes the template once
  const perCall: number[] = [];
  const setMedians: number[] = [];
  const setMeans: number[] = [];
  let rawBytes = 0;
  const setSize = Math.ceil(recipients.length / SETTINGS.repeats);
  for (let set = 0; set < SETTINGS.repeats; set += 1) {
    const slice = recipients.slice(set * setSize, (set + 1) * setSize);
    const times: number[] = [];
    const setStart = performance.now();
    for (const recipient of slice) {
      const start = performance.now();
      const message = messages.edition(edition, recipient, 'main');
      rawBytes = message.raw.length;
      recycle(message);
      times.push((performance.now() - start) * 1000);
    }
    setMeans.push(((performance.now() - setStart) * 1000) / slice.length);
    setMedians.push(median(times));
    perCall.push(...times);
  }
  ctx.edition = edition;
  writeBaselinePayload(ctx);
  return {
    edition,
    compileMs,
    compileMedianMs: median(compileMs),
    htmlBytes: Buffer.byteLength(browserView(edition.html)),
    textBytes: Buffer.byteLength(edition.text.parts.join('')),
    messageBytes: rawBytes,
    personalizeSetMediansUs: setMedians,
    personalizeSetMeansUs: setMeans,
    personalizeMedianUs: median(perCall),
    personalizeMeanUs: median(setMeans),
    personalizeRecycledBuffers: true,
    personalizeP99Us: [...perCall].sort((a, b) => a - b)[Math.floor(perCall.length * 0.99)] ?? NaN,
  };
}

/** The email's weight as sent at 5, 20 and 30 articles and in the worst case (bench/email-size.ts): cheap, no delivery. */
export async function measureSizes(ctx: Context) {
  return measureEmailSizes(ctx.renderer, ctx.messages);
}

async function clearFanOut(ctx: Context, editionId: string): Promise<void> {
  await ctx.app.deliveryQueue.obliterate({ force: true });
  await deleteMatching(ctx.app.redis, `${SETTINGS.prefix}:edition:${editionId}*`);
}

/** The bench's edition stored as the desk stores one: created, its content fixed, ready to deliver. */
export async function storeEdition(ctx: Context, edition: Edition): Promise<Edition> {
  const { editions } = ctx.app;
  await editions.createIfAbsent({ ...edition, status: 'held', holdReason: null }, { action: 'cut', note: 'bench' });
  await editions.fixContent(edition.id, ['held'], edition, [], { by: 'bench', action: 'sent' });
  return { ...edition, status: 'ready' };
}

export async function measureFanOut(ctx: Context, size: number) {
  const { redis } = ctx.app;
  await redis.flushall();
  const seedStart = performance.now();
  await seedSubscribers(ctx.config.DATABASE_URL ?? '', size);
  log(
    `fan-out ${size}: ${size} confirmed subscribers written in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
  );
  const runs: Array<{
    seconds: number;
    memoryBytes: number;
    batches: number;
    jobs: number;
    recipients: number;
    progressMs: number;
  }> = [];
  for (let rep = 1; rep <= SETTINGS.repeats; rep += 1) {
    const edition = await storeEdition(ctx, { ...ctx.edition, id: `fo${size}r${rep}` });
    await sleep(200);
    const before = await usedMemory(redis);
    const start = performance.now();
    const summary = await ctx.app.deliveries.start(edition);
    const seconds = (performance.now() - start) / 1000;
    const after = await usedMemory(redis);
    const jobs = await ctx.app.deliveryQueue.count();
    if (summary.recipients !== size || jobs !== summary.batches) {
      throw new Error(
        `fan-out ${size}: expected ${size} recipients and one job per batch, got ${JSON.stringify(summary)} and ${jobs} jobs`,
      );
    }
    // What the admins' progress page asks for, with every recipient of this size queued.
    const progressMs: number[] = [];
    for (let call = 0; call < 50; call += 1) {
      const callStart = performance.now();
      const progress = await ctx.app.deliveries.progress(edition.id);
      progressMs.push(performance.now() - callStart);
      if (progress?.counts.queued !== size)
        throw new Error(`progress of ${edition.id}: expected ${size} queued, got ${JSON.stringify(progress?.counts)}`);
    }
    runs.push({
      seconds,
      memoryBytes: after - before,
      batches: summary.batches,
      jobs,
      recipients: summary.recipients,
      progressMs: median(progressMs),
    });
    log(
      `fan-out ${size} run ${rep}: ${seconds.toFixed(2)} s, ${((after - before) / MB).toFixed(1)} MB, ${summary.batches} jobs`,
    );
    await clearFanOut(ctx, edition.id);
  }
  await redis.flushall();
  return {
    size,
    runs,
    medianSeconds: median(runs.map((run) => run.seconds)),
    medianMemoryBytes: median(runs.map((run) => run.memoryBytes)),
    medianProgressMs: median(runs.map((run) => run.progressMs)),
  };
}

export function workerEnv(ctx: Context): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? os.tmpdir(),
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    REDIS_URL: ctx.redisUrl,
    DATABASE_URL: ctx.config.DATABASE_URL ?? '',
    REDIS_PREFIX: SETTINGS.prefix,
    SMTP_URL: ctx.sink.url,
    SMTP_POOL_SIZE: String(SETTINGS.smtpPoolSize),
    WORKER_CONCURRENCY: String(SETTINGS.workerConcurrency),
    DATA_DIR: ctx.dir,
    ...BENCH_IDENTITY,
    // For trying V8 flags on the workers only (e.g. --max-semi-space-size=32); unset by default.
    ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
  };
}

export interface DeliveryRun {
  label: string;
  recipients: number;
  workers: number;
  msgsPerSecond: number;
  wallSeconds: number;
  sinkSeconds: number;
  sinkMessages: number;
  sinkConnections: number;
  peakRssBytes: number[];
  /** Each worker's VmRSS (MiB) once a second from its start: [s, MiB]. */
  rssTimeline: Array<Array<[number, number]>>;
  counts: DeliveryCounts;
  /** CPU per message delivered, in µs, from fan-out start to the last settle: each worker process, redis-server, the sink. */
  cpuPerMessageUs: { workers: number[]; redis: number; sink: number };
  loadAverage: number;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

/** `count` worker processes (as deployed, or `command`) with `env`, resolved once BullMQ sees them all connected. */
export async function startWorkers(
  ctx: Context,
  env: Record<string, string>,
  count: number,
  label: string,
  command = ctx.worker,
): Promise<WorkerProcess[]> {
  const workers: WorkerProcess[] = [];
  try {
    for (let index = 0; index < count; index += 1) workers.push(startWorker(command, env, `worker ${index + 1}`));
    await waitUntil(
      async () => {
        const gone = exited(workers);
        if (gone)
          throw new Error(
            `${label}: worker process ${gone.pid} exited at start (${gone.child.exitCode ?? gone.child.signalCode})`,
          );
        return (await ctx.app.deliveryQueue.getWorkersCount()) >= count;
      },
      'the workers to connect',
      60_000,
    );
    await sleep(300);
    return workers;
  } catch (error) {
    await stopWorkers(workers);
    throw error;
  }
}

export async function stopWorkers(workers: WorkerProcess[]): Promise<void> {
  await Promise.all(workers.map((worker) => stopChild(worker.child)));
}

function exited(workers: WorkerProcess[]): WorkerProcess | undefined {
  return workers.find((worker) => worker.child.exitCode !== null || worker.child.signalCode !== null);
}

/**
 * Polls the ledger until every recipient of the edition is settled for good (none queued, being
 * sent, deferred or waiting for its destination), failing at once if a worker or `alsoAlive` dies.
 */
export async function untilDelivered(
  ctx: Context,
  run: {
    label: string;
    editionId: string;
    recipients: number;
    workers: WorkerProcess[];
    alsoAlive: () => string | null;
    timeoutMs: number;
  },
): Promise<DeliveryCounts> {
  let counts: DeliveryCounts | undefined;
  let lastLog = performance.now();
  await waitUntil(
    async () => {
      const gone = exited(run.workers);
      if (gone)
        throw new Error(
          `${run.label}: worker process ${gone.pid} exited (${gone.child.exitCode ?? gone.child.signalCode})`,
        );
      const dead = run.alsoAlive();
      if (dead) throw new Error(`${run.label}: ${dead}`);
      counts = await ctx.app.ledger.counts(run.editionId);
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`  ${run.label}: ${counts.sent} of ${run.recipients} sent`);
      }
      return (
        counts.queued === 0 &&
        counts.sending === 0 &&
        counts.deferred === 0 &&
        counts.waiting === 0 &&
        counts.sent + counts.failed + counts.skipped >= run.recipients
      );
    },
    `delivery ${run.label}`,
    run.timeoutMs,
  );
  if (!counts) throw new Error(`${run.label}: no counts`);
  return counts;
}

/** `nodeFlags`: instead of the deployed worker's heap flags (for the row that shows what they do). */
export async function measureDelivery(
  ctx: Context,
  label: string,
  recipients: number,
  workerCount: number,
  nodeFlags?: string[],
): Promise<DeliveryRun> {
  const { redis } = ctx.app;
  await redis.flushall();
  await seedSubscribers(ctx.config.DATABASE_URL ?? '', recipients);
  const edition = await storeEdition(ctx, { ...ctx.edition, id: `d${label}` });
  await ctx.sink.reset();

  const command = nodeFlags ? { ...ctx.worker, nodeFlags } : ctx.worker;
  const workers = await startWorkers(ctx, workerEnv(ctx), workerCount, `delivery ${label}`, command);
  try {
    const cpuBefore = {
      workers: workers.map((worker) => processCpuSeconds(worker.pid)),
      redis: await redisCpuSeconds(redis),
    };
    const start = performance.now();
    const summary = await ctx.app.deliveries.start(edition);
    if (summary.recipients !== recipients)
      throw new Error(`delivery ${label}: fan-out queued ${summary.recipients} of ${recipients}`);
    const counts = await untilDelivered(ctx, {
      label,
      editionId: edition.id,
      recipients,
      workers,
      alsoAlive: () => (ctx.sink.child.exitCode !== null ? 'the SMTP sink exited' : null),
      timeoutMs: 60_000 + recipients * 10,
    });
    const wallSeconds = (performance.now() - start) / 1000;
    const peaks = workers.map((worker) => worker.rss.peak().hwmBytes);
    const workerCpu = workers.map((worker, index) => processCpuSeconds(worker.pid) - (cpuBefore.workers[index] ?? NaN));
    const redisCpu = (await redisCpuSeconds(redis)) - cpuBefore.redis;
    const stats = await ctx.sink.stats();
    const perMessage = (seconds: number) => (seconds * 1e6) / recipients;
    if (counts.sent !== recipients || stats.messages !== recipients) {
      throw new Error(
        `delivery ${label}: ledger ${JSON.stringify(counts)}, sink got ${stats.messages} of ${recipients}`,
      );
    }
    const sinkSeconds = ((stats.lastMs ?? 0) - (stats.firstMs ?? 0)) / 1000;
    return {
      label,
      recipients,
      workers: workerCount,
      msgsPerSecond: (stats.messages - 1) / sinkSeconds,
      wallSeconds,
      sinkSeconds,
      sinkMessages: stats.messages,
      sinkConnections: stats.connections,
      peakRssBytes: peaks,
      rssTimeline: workers.map((worker) => worker.rss.timeline),
      counts,
      cpuPerMessageUs: {
        workers: workerCpu.map(perMessage),
        redis: perMessage(redisCpu),
        sink: perMessage(stats.cpuSeconds),
      },
      loadAverage: os.loadavg()[0] ?? NaN,
    };
  } finally {
    await stopWorkers(workers);
  }
}

export interface BaselineRun {
  mode: BaselineSpec['mode'];
  recipients: number;
  msgsPerSecond: number;
  sinkSeconds: number;
  processSeconds: number;
  /** CPU per message, in µs: the sending process, redis-server (idle here), the sink. */
  cpuPerMessageUs: { sender: number; redis: number; sink: number };
  peakRssBytes: number;
  loadAverage: number;
}

export async function measureBaseline(ctx: Context, mode: BaselineSpec['mode'], count: number): Promise<BaselineRun> {
  await ctx.sink.reset();
  const spec: BaselineSpec = {
    mode,
    count,
    smtpUrl: ctx.sink.url,
    poolSize: SETTINGS.smtpPoolSize,
    timeoutMs: 30_000,
    inflight: SETTINGS.baselineInflight,
    payloadFile: ctx.payloadFile,
  };
  const redisBefore = await redisCpuSeconds(ctx.app.redis);
  const result = await runBaselineProcess<BaselineResult>(spec);
  const redisCpu = (await redisCpuSeconds(ctx.app.redis)) - redisBefore;
  const stats = await ctx.sink.stats();
  if (result.failed > 0 || stats.messages !== count) {
    throw new Error(
      `baseline ${mode}: ${result.sent} sent, ${result.failed} failed (${result.firstError}), sink got ${stats.messages}`,
    );
  }
  const sinkSeconds = ((stats.lastMs ?? 0) - (stats.firstMs ?? 0)) / 1000;
  const perMessage = (seconds: number) => (seconds * 1e6) / count;
  return {
    mode,
    recipients: count,
    msgsPerSecond: (stats.messages - 1) / sinkSeconds,
    sinkSeconds,
    processSeconds: result.elapsedMs / 1000,
    cpuPerMessageUs: {
      sender: perMessage(result.cpuSeconds),
      redis: perMessage(redisCpu),
      sink: perMessage(stats.cpuSeconds),
    },
    peakRssBytes: result.maxRssBytes,
    loadAverage: os.loadavg()[0] ?? NaN,
  };
}
