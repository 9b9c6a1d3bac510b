/**
 * `npm run bench`: the delivery pipeline measured against a throwaway redis-server and an SMTP sink
 * in its own process (issue 4). Progress goes to stderr, the table to stdout, every figure to
 * bench/results.json. BENCH_* environment variables change sizes and settings (see bench/phases.ts).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { ROOT } from './children.ts';
import { type EmailSize, SIZE_TARGETS } from './email-size.ts';
import {
  type BaselineRun,
  cleanup,
  type DeliveryRun,
  elapsed,
  log,
  MB,
  measureBaseline,
  measureDelivery,
  measureFanOut,
  measureRender,
  measureSizes,
  median,
  SETTINGS,
  setUp,
} from './phases.ts';

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
// The benchmark must end within 10 minutes whatever happens: stop everything just before.
const HARD_LIMIT_S = Number(process.env.BENCH_HARD_LIMIT_S ?? 595);
setTimeout(() => {
  log(`FAILED: still running after ${HARD_LIMIT_S} s; stopping (no results written)`);
  void cleanup().finally(() => process.exit(1));
}, HARD_LIMIT_S * 1000).unref();

// ---------------------------------------------------------------- report

interface Row {
  metric: string;
  value: string;
  versus: string;
  target: string;
  met: boolean | null;
}

function printTable(rows: Row[]): void {
  const header = { metric: 'metric', value: 'value', versus: 'baseline / ratio', target: 'target', met: 'met' };
  const cells = [header, ...rows.map((row) => ({ ...row, met: row.met === null ? '-' : row.met ? 'yes' : 'NO' }))];
  const keys = ['metric', 'value', 'versus', 'target', 'met'] as const;
  const widths = keys.map((key) => Math.max(...cells.map((cell) => cell[key].length)));
  const line = (cell: Record<(typeof keys)[number], string>) => `| ${keys.map((key, index) => cell[key].padEnd(widths[index] ?? 0)).join(' | ')} |`;
  const out = [line(cells[0] as Record<(typeof keys)[number], string>), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`];
  for (const cell of cells.slice(1)) out.push(line(cell as Record<(typeof keys)[number], string>));
  process.stdout.write(`${out.join('\n')}\n`);
}

function redisVersion(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The email size rows: HTML and whole message as sent, with the targets of issue 13. */
function sizeRows(sizes: EmailSize[]): Row[] {
  const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
  return sizes.map((size, index) => {
    const worst = index === sizes.length - 1;
    const twenty = size.articles === 20 && !worst;
    const met = worst ? size.htmlBytes <= SIZE_TARGETS.worstHtml : twenty ? size.htmlBytes <= SIZE_TARGETS.html20 && size.messageBytes <= SIZE_TARGETS.message20 : null;
    return {
      metric: `email HTML / message as sent, ${size.label}`,
      value: `${kb(size.htmlBytes)} / ${kb(size.messageBytes)}`,
      versus: size.inEmail < size.articles ? `${size.inEmail} of ${size.articles} in the email; browser version ${kb(size.webBytes)}` : `all ${size.articles} in the email`,
      target: worst ? `HTML <= ${kb(SIZE_TARGETS.worstHtml)}` : twenty ? `<= ${kb(SIZE_TARGETS.html20)} / ${kb(SIZE_TARGETS.message20)}` : '-',
      met,
    };
  });
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
  log(`machine: ${machine.cpuCount} x ${machine.cpuModel}, ${(machine.totalMemoryBytes / 1024 ** 3).toFixed(1)} GiB, node ${machine.node}, ${machine.redis}`);
  const ctx = await setUp();
  const { config } = ctx;

  // 1. Render
  log('render: MJML compile of a 20-article edition, then per-recipient personalization');
  const render = await measureRender(ctx);
  log(
    `render: compile median ${render.compileMedianMs.toFixed(1)} ms, HTML ${(render.htmlBytes / 1000).toFixed(1)} KB, message ${(render.messageBytes / 1000).toFixed(1)} KB, personalization median ${render.personalizeMedianUs.toFixed(1)} µs`,
  );

  log('email size: 5, 20 and 30 articles and the worst case, composed as sent');
  const sizes = await measureSizes(ctx);
  for (const size of sizes) log(`  ${size.label}: HTML ${(size.htmlBytes / 1000).toFixed(1)} KB, message ${(size.messageBytes / 1000).toFixed(1)} KB, ${size.inEmail} of ${size.articles} articles in the email`);

  // 2. Fan-out
  const fanOut = [];
  for (const size of SETTINGS.fanOutSizes) fanOut.push(await measureFanOut(ctx, size));
  const [fanSmall, fanLarge] = fanOut as [(typeof fanOut)[number], (typeof fanOut)[number]];

  // 3. Delivery: one round (end to end with one worker, raw limit), naive, two workers, 100k; then more rounds if time allows.
  const N = SETTINGS.deliveryRecipients;
  const e2e: DeliveryRun[] = [];
  const raw: BaselineRun[] = [];
  // Each round: the raw limit, then end to end with one worker, back to back so that both see the
  // same machine. The two-worker run follows round 1 at once and is compared with it (paired), so
  // that a change in outside load between distant runs does not decide the scaling figure.
  const round = async (index: number) => {
    log(`delivery round ${index}: raw limit, ${N} sends of one prebuilt message`);
    const base = await measureBaseline(ctx, 'raw', N);
    raw.push(base);
    log(`  raw limit: ${base.msgsPerSecond.toFixed(0)} msg/s`);
    log(`delivery round ${index}: ${N} recipients end to end, 1 worker process (pool ${SETTINGS.smtpPoolSize}, concurrency ${SETTINGS.workerConcurrency})`);
    const run = await measureDelivery(ctx, `e2e${index}`, N, 1);
    e2e.push(run);
    log(`  end to end: ${run.msgsPerSecond.toFixed(0)} msg/s at the sink, ${run.wallSeconds.toFixed(1)} s wall, worker peak RSS ${((run.peakRssBytes[0] ?? 0) / MB).toFixed(0)} MB`);
  };
  const roundStart = elapsed();
  await round(1);
  const roundSeconds = elapsed() - roundStart;

  log(`horizontal scale: ${N} recipients with 2 worker processes`);
  const two = await measureDelivery(ctx, 'two', N, 2);
  log(`  two workers: ${two.msgsPerSecond.toFixed(0)} msg/s`);

  log(`naive baseline: ${SETTINGS.naiveRecipients} x sendMail({ html, text, ... })`);
  const naive = await measureBaseline(ctx, 'naive', SETTINGS.naiveRecipients);
  log(`  naive: ${naive.msgsPerSecond.toFixed(0)} msg/s`);

  log(`memory: ${SETTINGS.memoryRecipients} recipients, 1 worker process`);
  const big = await measureDelivery(ctx, 'big', SETTINGS.memoryRecipients, 1);
  log(`  ${SETTINGS.memoryRecipients}: ${big.msgsPerSecond.toFixed(0)} msg/s, worker peak RSS ${((big.peakRssBytes[0] ?? 0) / MB).toFixed(0)} MB`);

  for (let index = 2; index <= SETTINGS.repeats; index += 1) {
    // A round can take half as long again when the machine gets busier: keep well inside 10 minutes.
    if (elapsed() + roundSeconds * 1.6 > SETTINGS.budgetSeconds) {
      log(`skipping delivery round ${index}: it would end past the ${SETTINGS.budgetSeconds} s budget`);
      break;
    }
    await round(index);
  }

  // ---------------------------------------------------------------- figures
  const e2eRate = median(e2e.map((run) => run.msgsPerSecond));
  const rawRate = median(raw.map((run) => run.msgsPerSecond));
  const rss20k = median(e2e.map((run) => run.peakRssBytes[0] ?? 0));
  const rss100k = big.peakRssBytes[0] ?? 0;
  const rssRatio = rss100k / rss20k;
  const ofRaw = e2eRate / rawRate;
  const overNaive = e2eRate / naive.msgsPerSecond;
  const scale = two.msgsPerSecond / (e2e[0]?.msgsPerSecond ?? NaN);
  const scaleToMedian = two.msgsPerSecond / e2eRate;
  const deliveryMedian = e2e.length >= 3 ? `median of ${e2e.length}` : `${e2e.length} run${e2e.length > 1 ? 's, median' : ''}`;
  const targets = {
    fanOut1MSeconds: { target: '< 5 s', met: fanLarge.medianSeconds < 5 },
    fanOut1MMemory: { target: '< 60 MB', met: fanLarge.medianMemoryBytes < 60 * MB },
    endToEndOfRaw: { target: '>= 80% of raw', met: ofRaw >= 0.8 },
    endToEndOverNaive: { target: '>= 3x naive', met: overNaive >= 3 },
    workerRssFlat: { target: 'within 20%', met: Math.abs(rssRatio - 1) <= 0.2 },
    twoWorkersFaster: { target: '> 1x (paired)', met: scale > 1 },
    emailSize20: { target: `HTML <= ${SIZE_TARGETS.html20 / 1000} KB, message <= ${SIZE_TARGETS.message20 / 1000} KB`, met: sizes.some((size) => size.label === '20 articles' && size.htmlBytes <= SIZE_TARGETS.html20 && size.messageBytes <= SIZE_TARGETS.message20) },
    emailSizeWorst: { target: `HTML <= ${SIZE_TARGETS.worstHtml / 1000} KB`, met: sizes.every((size) => size.htmlBytes <= SIZE_TARGETS.worstHtml) },
  };
  const fmtMB = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
  const rows: Row[] = [
    { metric: 'MJML compile, 20 articles (median of 15)', value: `${render.compileMedianMs.toFixed(1)} ms`, versus: '-', target: '-', met: null },
    { metric: 'edition HTML / full message size', value: `${(render.htmlBytes / 1000).toFixed(1)} KB / ${(render.messageBytes / 1000).toFixed(1)} KB`, versus: '-', target: '-', met: null },
    ...sizeRows(sizes),
    {
      metric: `personalization per recipient (median of 20k${render.personalizeRecycledBuffers ? ', buffers recycled' : ''})`,
      value: `${render.personalizeMedianUs.toFixed(1)} µs`,
      versus: `mean incl. GC ${render.personalizeMeanUs.toFixed(1)} µs (median of 3 sets)`,
      target: '-',
      met: null,
    },
    {
      metric: `fan-out ${fanSmall.size / 1000}k: time (median of ${fanSmall.runs.length})`,
      value: `${fanSmall.medianSeconds.toFixed(2)} s`,
      versus: `${Math.round(fanSmall.size / fanSmall.medianSeconds / 1000)}k recipients/s`,
      target: '-',
      met: null,
    },
    {
      metric: `fan-out ${fanSmall.size / 1000}k: Redis memory (median of ${fanSmall.runs.length})`,
      value: fmtMB(fanSmall.medianMemoryBytes),
      versus: `${(fanSmall.medianMemoryBytes / fanSmall.size).toFixed(1)} B/recipient`,
      target: '-',
      met: null,
    },
    {
      metric: `fan-out ${fanLarge.size / 1e6}M: time (median of ${fanLarge.runs.length})`,
      value: `${fanLarge.medianSeconds.toFixed(2)} s`,
      versus: `${Math.round(fanLarge.size / fanLarge.medianSeconds / 1000)}k recipients/s`,
      target: targets.fanOut1MSeconds.target,
      met: targets.fanOut1MSeconds.met,
    },
    {
      metric: `fan-out ${fanLarge.size / 1e6}M: Redis memory (median of ${fanLarge.runs.length})`,
      value: fmtMB(fanLarge.medianMemoryBytes),
      versus: `${(fanLarge.medianMemoryBytes / fanLarge.size).toFixed(1)} B/recipient`,
      target: targets.fanOut1MMemory.target,
      met: targets.fanOut1MMemory.met,
    },
    {
      metric: `progress call, ${fanLarge.size / 1e6}M queued (median of 50, per run)`,
      value: `${fanLarge.medianProgressMs.toFixed(2)} ms`,
      versus: `${fanSmall.medianProgressMs.toFixed(2)} ms at ${fanSmall.size / 1000}k`,
      target: '-',
      met: null,
    },
    { metric: `raw limit, ${N / 1000}k (${raw.length >= 3 ? `median of ${raw.length}` : `${raw.length} run(s)`})`, value: `${rawRate.toFixed(0)} msg/s`, versus: '-', target: '-', met: null },
    { metric: `naive sendMail, ${naive.recipients / 1000}k (1 run)`, value: `${naive.msgsPerSecond.toFixed(0)} msg/s`, versus: '-', target: '-', met: null },
    {
      metric: `end to end, ${N / 1000}k, 1 worker (${deliveryMedian})`,
      value: `${e2eRate.toFixed(0)} msg/s`,
      versus: `${(ofRaw * 100).toFixed(1)}% of raw`,
      target: targets.endToEndOfRaw.target,
      met: targets.endToEndOfRaw.met,
    },
    {
      metric: 'end to end vs naive',
      value: `${e2eRate.toFixed(0)} msg/s`,
      versus: `${overNaive.toFixed(2)}x naive`,
      target: targets.endToEndOverNaive.target,
      met: targets.endToEndOverNaive.met,
    },
    {
      metric: `worker peak RSS, ${N / 1000}k (${deliveryMedian})`,
      value: fmtMB(rss20k),
      versus: `raw sender process ${fmtMB(median(raw.map((run) => run.peakRssBytes)))}`,
      target: '-',
      met: null,
    },
    {
      metric: `worker peak RSS, ${SETTINGS.memoryRecipients / 1000}k (1 run)`,
      value: fmtMB(rss100k),
      versus: `${rssRatio.toFixed(2)}x the ${N / 1000}k peak`,
      target: targets.workerRssFlat.target,
      met: targets.workerRssFlat.met,
    },
    {
      metric: `2 worker processes, ${N / 1000}k (1 run)`,
      value: `${two.msgsPerSecond.toFixed(0)} msg/s`,
      versus: `${scale.toFixed(2)}x the 1-worker run just before (${scaleToMedian.toFixed(2)}x the median)`,
      target: targets.twoWorkersFaster.target,
      met: targets.twoWorkersFaster.met,
    },
  ];
  const us = (value: number) => `${Math.round(value)}`;
  const e2eCpu = {
    worker: median(e2e.map((run) => run.cpuPerMessageUs.workers[0] ?? NaN)),
    redis: median(e2e.map((run) => run.cpuPerMessageUs.redis)),
    sink: median(e2e.map((run) => run.cpuPerMessageUs.sink)),
  };
  const rawCpu = { sender: median(raw.map((run) => run.cpuPerMessageUs.sender)), sink: median(raw.map((run) => run.cpuPerMessageUs.sink)) };
  rows.push({
    metric: 'CPU µs/message: end to end (worker+redis+sink)',
    value: `${us(e2eCpu.worker)}+${us(e2eCpu.redis)}+${us(e2eCpu.sink)} µs`,
    versus: `raw ${us(rawCpu.sender)}+0+${us(rawCpu.sink)}, naive ${us(naive.cpuPerMessageUs.sender)}+0+${us(naive.cpuPerMessageUs.sink)}`,
    target: '-',
    met: null,
  });
  printTable(rows);
  const totalSeconds = elapsed();
  process.stdout.write(
    `Delivery settings: SMTP_POOL_SIZE=${SETTINGS.smtpPoolSize}, WORKER_CONCURRENCY=${SETTINGS.workerConcurrency}, DELIVERY_BATCH_SIZE=${config.DELIVERY_BATCH_SIZE}; ` +
      `msg/s measured at the sink from first to last message. MB = 10^6 bytes. Total ${totalSeconds.toFixed(0)} s.\n` +
      `Medians: render and fan-out always (see each row); delivery rows say how many runs they are the median of (optional repeats run only within the ${SETTINGS.budgetSeconds} s budget).\n` +
      `Load average ${machine.loadAverageAtStart.map((load) => load.toFixed(1)).join('/')} at start, ${os.loadavg().map((load) => load.toFixed(1)).join('/')} at end` +
      `${(machine.loadAverageAtStart[0] ?? 0) > machine.cpuCount * 0.5 ? ' (the machine was busy: throughput figures are noisy)' : ''}.\n`,
  );

  const results = {
    timestamp: new Date().toISOString(),
    totalSeconds,
    machine,
    settings: { ...SETTINGS, deliveryBatchSize: config.DELIVERY_BATCH_SIZE, sinkInSeparateProcess: true },
    targets,
    table: rows,
    method: {
      workers:
        'workers/worker.ts run as `node --import tsx workers/worker.ts` (what `npx tsx workers/worker.ts` runs, without its wrapper processes, so that the sampled pid is the worker), ' +
        `env NODE_ENV=test LOG_LEVEL=warn SMTP_POOL_SIZE=${SETTINGS.smtpPoolSize} WORKER_CONCURRENCY=${SETTINGS.workerConcurrency}; a fresh process per run`,
      baselines: `bench/baseline.ts in its own process, same nodemailer pool options as smtpSender (pool ${SETTINGS.smtpPoolSize}, maxMessages 1000), ${SETTINGS.baselineInflight} sends queued`,
      rate: 'messages counted by the sink (separate process) from the first to the last message of a run: (n - 1) / (t_last - t_first)',
      rss: 'VmHWM of the worker process from /proc/<pid>/status, read after the last message settled',
      fanOutMemory: 'INFO memory used_memory after minus before deliveries.start(edition): BullMQ jobs, the ledger batches and the run meta',
      subscribers: 'written straight into Redis (hash id/email/name/state/version, the confirmed sorted set, seq, counts); flushed between sizes and before each delivery run',
      cpu: 'per-process CPU time (/proc/<pid>/stat, process.cpuUsage, INFO cpu) divided by messages, over the measured window',
    },
    render: { ...render, edition: undefined, editionId: render.edition.id },
    emailSizes: sizes,
    fanOut,
    delivery: {
      endToEnd: { medianMsgsPerSecond: e2eRate, runs: e2e },
      rawLimit: { medianMsgsPerSecond: rawRate, runs: raw },
      naive,
      ratios: { endToEndOfRaw: ofRaw, endToEndOverNaive: overNaive, perRoundOfRaw: e2e.map((run, index) => run.msgsPerSecond / (raw[index]?.msgsPerSecond ?? NaN)) },
      twoWorkers: { run: two, ratioToRound1OneWorker: scale, ratioToMedianOneWorker: scaleToMedian },
    },
    memory: { workerPeakRss20kBytes: rss20k, workerPeakRss100kBytes: rss100k, ratio: rssRatio, run100k: big },
  };
  writeFileSync(resolve(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote bench/results.json; ${Object.values(targets).filter((target) => target.met).length} of ${Object.keys(targets).length} targets met`);
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
