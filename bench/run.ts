/**
 * `npm run bench`: the delivery pipeline measured against a throwaway redis-server, a throwaway
 * PostgreSQL cluster and an SMTP sink (or a throttling relay) in their own processes (issues 4, 10,
 * 11). Progress goes to stderr, the table to stdout, every figure to bench/results.json.
 * BENCH_* environment variables change sizes and settings (see bench/phases.ts); BENCH_ONLY runs
 * some phases (a comma-separated list of PHASES), writing bench/results.partial.json instead.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { ROOT } from './children.ts';
import { deliveryPhase } from './delivery-phase.ts';
import { type EmailSize, SIZE_TARGETS } from './email-size.ts';
import {
  cleanup,
  type Context,
  elapsed,
  log,
  MB,
  measureFanOut,
  measureRender,
  measureSizes,
  SETTINGS,
  setUp,
} from './phases.ts';
import { measureRelayProfile, relayReport } from './relay-profile.ts';
import { held, info, type PhaseReport, printTable, type Row } from './report.ts';
import { measureSubscriberLists, subscriberListsReport } from './subscriber-lists.ts';

/** The phases BENCH_ONLY may name (render always runs: the others send its edition), in the order they run. */
const PHASES = ['fanout', 'import', 'console', 'relay', 'delivery'] as const;
type Phase = (typeof PHASES)[number];

function selectedPhases(only: string | undefined): Set<Phase> {
  if (!only?.trim()) return new Set(PHASES);
  const names = only
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const unknown = names.filter((name) => !PHASES.includes(name as Phase));
  if (unknown.length > 0)
    throw new Error(`BENCH_ONLY: unknown phase(s) ${unknown.join(', ')}; the phases are ${PHASES.join(', ')}`);
  return new Set(names as Phase[]);
}
const phases = selectedPhases(process.env.BENCH_ONLY);
const fullRun = phases.size === PHASES.length;

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}
// Output piped into `head` and closed early must not end the run before the clean-up.
process.stdout.on('error', () => undefined);
process.on('uncaughtException', (error) => {
  log(`FAILED: ${error.stack ?? error.message}`);
  void cleanup().finally(() => process.exit(1));
});
// The benchmark must end within its hard limit whatever happens (a stuck phase must not hold the machine).
const HARD_LIMIT_S = Number(process.env.BENCH_HARD_LIMIT_S ?? 1100);
setTimeout(() => {
  log(`FAILED: still running after ${HARD_LIMIT_S} s; stopping (no results written)`);
  void cleanup().finally(() => process.exit(1));
}, HARD_LIMIT_S * 1000).unref();

function redisVersion(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------- phases

async function renderPhase(ctx: Context): Promise<PhaseReport> {
  log('render: MJML compile of a 20-article edition, then per-recipient personalization');
  const render = await measureRender(ctx);
  log(
    `render: compile median ${render.compileMedianMs.toFixed(1)} ms, HTML ${(render.htmlBytes / 1000).toFixed(1)} KB, message ${(render.messageBytes / 1000).toFixed(1)} KB, personalization median ${render.personalizeMedianUs.toFixed(1)} µs`,
  );
  log('email size: 5, 20 and 30 articles and the worst case, composed as sent');
  const sizes = await measureSizes(ctx);
  for (const size of sizes)
    log(
      `  ${size.label}: HTML ${(size.htmlBytes / 1000).toFixed(1)} KB, message ${(size.messageBytes / 1000).toFixed(1)} KB, ${size.inEmail} of ${size.articles} articles in the email`,
    );
  return {
    targets: {
      emailSize20: {
        target: `HTML <= ${SIZE_TARGETS.html20 / 1000} KB, message <= ${SIZE_TARGETS.message20 / 1000} KB`,
        met: sizes.some(
          (size) =>
            size.label === '20 articles' &&
            size.htmlBytes <= SIZE_TARGETS.html20 &&
            size.messageBytes <= SIZE_TARGETS.message20,
        ),
      },
      emailSizeWorst: {
        target: `HTML <= ${SIZE_TARGETS.worstHtml / 1000} KB`,
        met: sizes.every((size) => size.htmlBytes <= SIZE_TARGETS.worstHtml),
      },
    },
    results: { render: { ...render, edition: undefined, editionId: render.edition.id }, emailSizes: sizes },
    rows: [
      info('MJML compile, 20 articles (median of 15)', `${render.compileMedianMs.toFixed(1)} ms`),
      info(
        'edition HTML / full message size',
        `${(render.htmlBytes / 1000).toFixed(1)} KB / ${(render.messageBytes / 1000).toFixed(1)} KB`,
      ),
      ...sizeRows(sizes),
      info(
        `personalization per recipient (median of 20k${render.personalizeRecycledBuffers ? ', buffers recycled' : ''})`,
        `${render.personalizeMedianUs.toFixed(1)} µs`,
        `mean incl. GC ${render.personalizeMeanUs.toFixed(1)} µs (median of 3 sets)`,
      ),
    ],
  };
}

/** The email size rows: HTML and whole message as sent, with the targets of issue 13. */
function sizeRows(sizes: EmailSize[]): Row[] {
  const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
  return sizes.map((size, index) => {
    const worst = index === sizes.length - 1;
    const twenty = size.articles === 20 && !worst;
    const met = worst
      ? size.htmlBytes <= SIZE_TARGETS.worstHtml
      : twenty
        ? size.htmlBytes <= SIZE_TARGETS.html20 && size.messageBytes <= SIZE_TARGETS.message20
        : null;
    return {
      metric: `email HTML / message as sent, ${size.label}`,
      value: `${kb(size.htmlBytes)} / ${kb(size.messageBytes)}`,
      versus:
        size.inEmail < size.articles
          ? `${size.inEmail} of ${size.articles} in the email; browser version ${kb(size.webBytes)}`
          : `all ${size.articles} in the email`,
      target: worst
        ? `HTML <= ${kb(SIZE_TARGETS.worstHtml)}`
        : twenty
          ? `<= ${kb(SIZE_TARGETS.html20)} / ${kb(SIZE_TARGETS.message20)}`
          : '-',
      met,
    };
  });
}

async function fanOutPhase(ctx: Context): Promise<PhaseReport> {
  const fanOut = [];
  for (const size of SETTINGS.fanOutSizes) fanOut.push(await measureFanOut(ctx, size));
  const [small, large] = fanOut as [(typeof fanOut)[number], (typeof fanOut)[number]];
  const targets = {
    fanOut1MSeconds: { target: '< 5 s', met: large.medianSeconds < 5 },
    fanOut1MMemory: { target: '< 60 MB', met: large.medianMemoryBytes < 60 * MB },
  };
  const fmtMB = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
  const label = (size: number) => (size >= 1e6 ? `${size / 1e6}M` : `${size / 1000}k`);
  return {
    targets,
    results: { fanOut },
    rows: [
      info(
        `fan-out ${label(small.size)} from PostgreSQL: time (median of ${small.runs.length})`,
        `${small.medianSeconds.toFixed(2)} s`,
        `${Math.round(small.size / small.medianSeconds / 1000)}k recipients/s`,
      ),
      info(
        `fan-out ${label(small.size)}: Redis memory (median of ${small.runs.length})`,
        fmtMB(small.medianMemoryBytes),
        `${(small.medianMemoryBytes / small.size).toFixed(1)} B/recipient`,
      ),
      held(
        `fan-out ${label(large.size)} from PostgreSQL: time (median of ${large.runs.length})`,
        `${large.medianSeconds.toFixed(2)} s`,
        `${Math.round(large.size / large.medianSeconds / 1000)}k recipients/s`,
        targets.fanOut1MSeconds,
      ),
      held(
        `fan-out ${label(large.size)}: Redis memory (median of ${large.runs.length})`,
        fmtMB(large.medianMemoryBytes),
        `${(large.medianMemoryBytes / large.size).toFixed(1)} B/recipient`,
        targets.fanOut1MMemory,
      ),
      info(
        `progress call, ${label(large.size)} queued (median of 50, per run)`,
        `${large.medianProgressMs.toFixed(2)} ms`,
        `${small.medianProgressMs.toFixed(2)} ms at ${label(small.size)}`,
      ),
    ],
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const cpus = os.cpus();
  const machine = {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    redis: redisVersion(),
    loadAverageAtStart: os.loadavg(),
  };
  log(
    `machine: ${machine.cpuCount} x ${machine.cpuModel}, ${(machine.totalMemoryBytes / 1024 ** 3).toFixed(1)} GiB, node ${machine.node}, ${machine.redis}`,
  );
  if (!fullRun) log(`BENCH_ONLY: render, then ${[...phases].join(', ')} (results go to bench/results.partial.json)`);
  const ctx = await setUp();
  const { config } = ctx;

  const reports: PhaseReport[] = [await renderPhase(ctx)];
  if (phases.has('fanout')) reports.push(await fanOutPhase(ctx));
  if (phases.has('import') || phases.has('console')) {
    reports.push(
      subscriberListsReport(
        await measureSubscriberLists(ctx, SETTINGS.listSize, {
          import: phases.has('import'),
          console: phases.has('console'),
        }),
      ),
    );
  }
  if (phases.has('relay')) reports.push(relayReport(await measureRelayProfile(ctx)));
  if (phases.has('delivery')) reports.push(await deliveryPhase(ctx));

  const rows = reports.flatMap((report) => report.rows);
  const targets = Object.assign({}, ...reports.map((report) => report.targets)) as PhaseReport['targets'];
  printTable(rows);
  const totalSeconds = elapsed();
  process.stdout.write(
    `Delivery settings: SMTP_POOL_SIZE=${SETTINGS.smtpPoolSize}, WORKER_CONCURRENCY=${SETTINGS.workerConcurrency}, DELIVERY_BATCH_SIZE=${config.DELIVERY_BATCH_SIZE}; ` +
      `msg/s measured at the sink from first to last message. MB = 10^6 bytes. Total ${totalSeconds.toFixed(0)} s.\n` +
      `Medians: render and fan-out always (see each row); delivery rows say how many runs they are the median of (optional repeats run only within the ${SETTINGS.budgetSeconds} s budget).\n` +
      `Load average ${machine.loadAverageAtStart.map((load) => load.toFixed(1)).join('/')} at start, ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join('/')} at end` +
      `${(machine.loadAverageAtStart[0] ?? 0) > machine.cpuCount * 0.5 ? ' (the machine was busy: throughput figures are noisy)' : ''}.\n`,
  );

  const results = {
    timestamp: new Date().toISOString(),
    totalSeconds,
    phases: [...phases],
    machine,
    settings: { ...SETTINGS, deliveryBatchSize: config.DELIVERY_BATCH_SIZE, sinkInSeparateProcess: true },
    targets,
    table: rows,
    method: {
      workers:
        `the worker as deployed: \`npm run build\` into a scratch directory, then \`node ${ctx.worker.nodeFlags.join(' ')} dist/workers/worker.js\` (the heap flags of \`npm run start:worker\` and docker-compose.yml), ` +
        `env NODE_ENV=test LOG_LEVEL=warn SMTP_POOL_SIZE=${SETTINGS.smtpPoolSize} WORKER_CONCURRENCY=${SETTINGS.workerConcurrency}; a fresh process per run`,
      baselines: `bench/baseline.ts in its own process, same nodemailer pool options as smtpSender (pool ${SETTINGS.smtpPoolSize}, maxMessages 1000), ${SETTINGS.baselineInflight} sends queued`,
      rate: 'messages counted by the sink (separate process) from the first to the last message of a run: (n - 1) / (t_last - t_first)',
      rss: 'VmHWM of the worker process from /proc/<pid>/status, read after the last message settled',
      fanOutMemory:
        'INFO memory used_memory after minus before deliveries.start(edition): BullMQ jobs, the ledger batches and the run meta',
      subscribers:
        'confirmed subscribers written straight into PostgreSQL with COPY (bench/seed.ts) for fan-out and delivery; Redis flushed between sizes and before each delivery run',
      import:
        'a Mailchimp-style CSV (Email Address, First Name, Last Name, OPTIN_TIME, OPTIN_IP) of distinct addresses written to a temp file, then SubscriberImports.receive (read stream) and .merge as `digest import` runs them, into an empty subscribers table; timed from the first byte read until the import is `done`, counts checked',
      console:
        'GET /console/subscribers?q=<prefix> (3-14 characters of real addresses) and ?after=<id>[&state=confirmed] through Fastify inject on buildServer(app), with a session from the login form; 10 untimed requests first; every answer checked for 200 and at least one subscriber',
      redisPerSubscriber:
        'INFO memory used_memory after minus before the import (or a COPY seed) of the list and the console requests, from a flushed Redis, divided by the list size',
      relay:
        'tests/support/throttling-relay.ts in its own process (fixed one-second windows per recipient domain, 421 beyond); two worker processes with SMTP_URL at the relay; a solo run of one unlimited domain, then the profile; see docs/performance.md',
      cpu: 'per-process CPU time (/proc/<pid>/stat, process.cpuUsage, INFO cpu) divided by messages, over the measured window',
    },
    ...Object.assign({}, ...reports.map((report) => report.results)),
  };
  const file = fullRun ? 'bench/results.json' : 'bench/results.partial.json';
  writeFileSync(resolve(ROOT, file), `${JSON.stringify(results, null, 2)}\n`);
  log(
    `wrote ${file}; ${Object.values(targets).filter((target) => target.met).length} of ${Object.keys(targets).length} targets met` +
      (fullRun ? '; `npm run docs` puts them in docs/performance.md and docs/email.md' : ''),
  );
}

main()
  .then(async () => {
    await cleanup();
    process.exit(0);
  })
  .catch(async (error: unknown) => {
    // After a signal, connections closing under the running phase is expected, not a failure.
    if (!interrupted) log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanup();
    process.exit(1);
  });
