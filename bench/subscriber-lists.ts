/**
 * Lists of a million (issue 10): a 1M-row export imported through `SubscriberImports` (what
 * `digest import` and the console upload run), the console's subscriber search and pages at 1M
 * through the HTTP routes (Fastify `inject`, logged in as an editor), and what all of it costs Redis
 * (PostgreSQL is the system of record: nothing per subscriber should be there).
 */
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildServer } from '../src/http/server.ts';
import type { ImportSummary } from '../src/subscribers/imports.ts';
import { BENCH_IDENTITY, benchRecipient } from './fixtures.ts';
import { type Context, log, MB, median, sleep } from './phases.ts';
import { held, type PhaseReport } from './report.ts';
import { seedSubscribers, usedMemory } from './seed.ts';

/** What a Mailchimp audience export has (the last name and the merge fields we do not use are ignored). */
const HEADER = 'Email Address,First Name,Last Name,OPTIN_TIME,OPTIN_IP';

/** Writes the list to a file, as an admin would upload it: `size` distinct addresses, all subscribed. */
async function writeList(file: string, size: number): Promise<number> {
  const out = createWriteStream(file);
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(`${HEADER}\n`);
  const optIn = Date.parse('2024-03-01T09:00:00Z');
  for (let start = 1; start <= size; start += 10_000) {
    let chunk = '';
    for (let id = start; id < Math.min(size + 1, start + 10_000); id += 1) {
      const { email, name } = benchRecipient(id);
      const [first = '', last = ''] = name.split(' ');
      chunk += `${email},${first},${last},${new Date(optIn + id * 1000).toISOString().replace('T', ' ').slice(0, 19)},10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}\n`;
    }
    await write(chunk);
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}

export interface ImportRun {
  size: number;
  fileBytes: number;
  /** Reading the file into the import (parse, check, COPY-like batched inserts). */
  receiveSeconds: number;
  /** Merging the received rows into the subscribers, chunk by chunk. */
  mergeSeconds: number;
  seconds: number;
  rowsPerSecond: number;
  /** CPU this process (parsing, checking, the driver) used meanwhile; PostgreSQL's own is not in it. */
  cpuSeconds: number;
  summary: ImportSummary;
}

/** Empties the subscribers and imports a list of `size` through the real import path, until the import is `done`. */
export async function measureImport(ctx: Context, size: number): Promise<ImportRun> {
  const file = join(ctx.dir, `list-${size}.csv`);
  const writeStart = performance.now();
  const fileBytes = await writeList(file, size);
  log(
    `import: ${size} rows written to a ${(fileBytes / MB).toFixed(0)} MB CSV in ${((performance.now() - writeStart) / 1000).toFixed(1)} s`,
  );
  await ctx.app.db.query('TRUNCATE subscribers RESTART IDENTITY CASCADE');
  try {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const id = await ctx.app.imports.receive(createReadStream(file), {
      fileName: `list-${size}.csv`,
      by: 'bench',
      state: 'confirmed',
    });
    const received = performance.now();
    const summary = await ctx.app.imports.merge(id);
    const end = performance.now();
    const used = process.cpuUsage(cpu);
    const counts = await ctx.app.subscribers.countsByState();
    if (
      summary?.status !== 'done' ||
      summary.rows !== size ||
      summary.imported !== size ||
      summary.rejected !== 0 ||
      summary.duplicates !== 0 ||
      counts.confirmed !== size
    ) {
      throw new Error(`import of ${size}: ${JSON.stringify(summary)}, subscribers ${JSON.stringify(counts)}`);
    }
    const seconds = (end - start) / 1000;
    return {
      size,
      fileBytes,
      receiveSeconds: (received - start) / 1000,
      mergeSeconds: (end - received) / 1000,
      seconds,
      rowsPerSecond: size / seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      summary,
    };
  } finally {
    rmSync(file, { force: true });
  }
}

// ---------------------------------------------------------------- the console at 1M

/** Logs in as the console's login form does (its CSRF cookie and field, the admin token), and returns the session cookie. */
async function logIn(server: FastifyInstance): Promise<string> {
  const form = await server.inject({ method: 'GET', url: '/console/login' });
  const token = form.cookies.find((cookie) => cookie.name === 'digest_login')?.value;
  if (!token) throw new Error(`console login form: ${form.statusCode}, no login cookie`);
  const reply = await server.inject({
    method: 'POST',
    url: '/console/login',
    cookies: { digest_login: token },
    payload: new URLSearchParams({ _csrf: token, name: 'bench', password: BENCH_IDENTITY.ADMIN_TOKEN }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const session = reply.cookies.find((cookie) => cookie.name === 'digest_session')?.value;
  if (reply.statusCode !== 303 || !session)
    throw new Error(`console login: ${reply.statusCode} ${reply.body.slice(0, 200)}`);
  return session;
}

const ROW = /<tr><td><a href="\/console\/subscribers\/\d+">/g;

export interface RequestTimes {
  requests: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Subscribers shown per page, on average (a search or page that finds nobody proves nothing). */
  meanRows: number;
}

function percentile(sorted: number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * share) - 1)] ?? Number.NaN;
}

/** Times each GET (after a few untimed ones), checking that it answers 200 with at least one subscriber. */
async function timeRequests(
  server: FastifyInstance,
  session: string,
  urls: string[],
  warmUp: number,
): Promise<RequestTimes> {
  const times: number[] = [];
  let rows = 0;
  for (const [index, url] of urls.entries()) {
    const start = performance.now();
    const reply: LightMyRequestResponse = await server.inject({
      method: 'GET',
      url,
      cookies: { digest_session: session },
    });
    const ms = performance.now() - start;
    const found = reply.body.match(ROW)?.length ?? 0;
    if (reply.statusCode !== 200 || found === 0)
      throw new Error(`GET ${url}: ${reply.statusCode}, ${found} subscribers shown`);
    if (index < warmUp) continue;
    times.push(ms);
    rows += found;
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    requests: times.length,
    p50Ms: median(times),
    p95Ms: percentile(sorted, 0.95),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    meanRows: rows / times.length,
  };
}

export interface ConsoleRun {
  size: number;
  search: RequestTimes;
  page: RequestTimes;
}

/**
 * `GET /console/subscribers?q=<prefix>` and `GET /console/subscribers?after=<id>[&state=confirmed]`
 * with `size` subscribers in PostgreSQL: varied prefixes (3 to 14 characters of real addresses) and
 * pages all over the list. Each page also reads the counts by state and the latest imports, as it does for editors.
 */
export async function measureConsole(ctx: Context, size: number, requests = 200): Promise<ConsoleRun> {
  const server = await buildServer(ctx.app);
  try {
    await server.ready();
    const session = await logIn(server);
    const warmUp = 10;
    const pick = (index: number) => 1 + ((index * 7919 + 104_729) % size);
    const searches = Array.from({ length: requests + warmUp }, (_, index) => {
      const email = benchRecipient(pick(index)).email;
      return `/console/subscribers?q=${encodeURIComponent(email.slice(0, 3 + (index % 12)))}`;
    });
    const pages = Array.from(
      { length: requests + warmUp },
      (_, index) => `/console/subscribers?after=${pick(index + 5000) - 1}${index % 2 ? '&state=confirmed' : ''}`,
    );
    const search = await timeRequests(server, session, searches, warmUp);
    const page = await timeRequests(server, session, pages, warmUp);
    return { size, search, page };
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------- together, with Redis memory

export interface SubscriberListsRun {
  size: number;
  import: ImportRun | null;
  console: ConsoleRun | null;
  /** used_memory after minus before: the import (or the COPY seed) of `size` and the console's requests. */
  redisDeltaBytes: number;
  redisBytesPerSubscriber: number;
  redisBeforeBytes: number;
}

/**
 * The import (or, without it, a COPY seed of as many), then the console's search and pages on the
 * list just imported, with Redis's used_memory read before and after both: PostgreSQL holds the
 * subscribers, so Redis should hold nothing per subscriber.
 */
export async function measureSubscriberLists(
  ctx: Context,
  size: number,
  phases: { import: boolean; console: boolean },
): Promise<SubscriberListsRun> {
  const { redis } = ctx.app;
  await redis.flushall();
  await sleep(200);
  const before = await usedMemory(redis);
  let imported: ImportRun | null = null;
  if (phases.import) {
    log(`import: ${size} rows through SubscriberImports (receive, then merge), as \`digest import\` does`);
    imported = await measureImport(ctx, size);
    log(
      `  import: ${imported.seconds.toFixed(1)} s (read ${imported.receiveSeconds.toFixed(1)} s, merge ${imported.mergeSeconds.toFixed(1)} s), ${Math.round(imported.rowsPerSecond)} rows/s, ${imported.cpuSeconds.toFixed(1)} s of CPU in this process`,
    );
  } else {
    await seedSubscribers(ctx.config.DATABASE_URL ?? '', size);
  }
  let consoleRun: ConsoleRun | null = null;
  if (phases.console) {
    log(
      `console: subscriber search and pages at ${size} subscribers (GET /console/subscribers through Fastify inject)`,
    );
    consoleRun = await measureConsole(ctx, size);
    log(
      `  search p50 ${consoleRun.search.p50Ms.toFixed(1)} ms, p95 ${consoleRun.search.p95Ms.toFixed(1)} ms; page p50 ${consoleRun.page.p50Ms.toFixed(1)} ms, p95 ${consoleRun.page.p95Ms.toFixed(1)} ms`,
    );
  }
  await sleep(200);
  const delta = (await usedMemory(redis)) - before;
  log(
    `  Redis used_memory ${delta >= 0 ? '+' : ''}${delta} bytes across them (${(delta / size).toFixed(3)} B/subscriber)`,
  );
  return {
    size,
    import: imported,
    console: consoleRun,
    redisDeltaBytes: delta,
    redisBytesPerSubscriber: delta / size,
    redisBeforeBytes: before,
  };
}

export function subscriberListsReport(run: SubscriberListsRun): PhaseReport {
  const size = `${run.size / 1e6}M`;
  const report: PhaseReport = { rows: [], targets: {}, results: { subscriberLists: run } };
  const { import: imported, console: consoleRun } = run;
  if (imported) {
    const target = { target: '< 60 s', met: imported.seconds < 60 };
    report.targets.import1MSeconds = target;
    report.rows.push(
      held(
        `import ${size} rows (Mailchimp export, as \`digest import\`)`,
        `${imported.seconds.toFixed(1)} s`,
        `${Math.round(imported.rowsPerSecond / 1000)}k rows/s (read ${imported.receiveSeconds.toFixed(1)} s + merge ${imported.mergeSeconds.toFixed(1)} s; node CPU ${imported.cpuSeconds.toFixed(1)} s)`,
        target,
      ),
    );
  }
  if (consoleRun) {
    for (const [kind, times] of [
      ['search by address prefix', consoleRun.search],
      ['page (50, after an id)', consoleRun.page],
    ] as const) {
      const target = { target: 'p95 < 50 ms', met: times.p95Ms < 50 };
      report.targets[kind.startsWith('search') ? 'consoleSearchP95' : 'consolePageP95'] = target;
      report.rows.push(
        held(
          `console subscriber ${kind} at ${size} (${times.requests} requests)`,
          `p95 ${times.p95Ms.toFixed(1)} ms`,
          `p50 ${times.p50Ms.toFixed(1)} ms, max ${times.maxMs.toFixed(1)} ms`,
          target,
        ),
      );
    }
  }
  const target = { target: '< 1 B/subscriber', met: run.redisBytesPerSubscriber < 1 };
  report.targets.redisBytesPerSubscriber = target;
  const across = [
    imported ? `the ${size} import` : `a ${size} seed`,
    ...(consoleRun ? ['the console requests'] : []),
  ].join(' and ');
  report.rows.push(
    held(
      `Redis bytes per subscriber, across ${across}`,
      `${run.redisBytesPerSubscriber.toFixed(3)} B`,
      `used_memory ${run.redisDeltaBytes >= 0 ? '+' : ''}${(run.redisDeltaBytes / 1000).toFixed(1)} KB`,
      target,
    ),
  );
  return report;
}
