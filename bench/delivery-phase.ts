/**
 * The delivery rows: rounds of the naive baseline, the raw limit and end to end with one worker, two
 * workers, the 100k memory run, then more rounds while the budget allows.
 */
import { held, info, type PhaseReport, type Target } from './report.ts';
import {
  type BaselineRun,
  type Context,
  type DeliveryRun,
  elapsed,
  log,
  MB,
  measureBaseline,
  measureDelivery,
  median,
  SETTINGS,
} from './phases.ts';

/** `reserveSeconds`: what the phases still to come after this one need, kept out of the budget for optional rounds. */
export async function deliveryPhase(ctx: Context, reserveSeconds = 0): Promise<PhaseReport> {
  // Delivery: one round (naive, raw limit, end to end with one worker), two workers, 100k; then more rounds if time allows.
  const N = SETTINGS.deliveryRecipients;
  const e2e: DeliveryRun[] = [];
  const raw: BaselineRun[] = [];
  const naive: BaselineRun[] = [];
  // Each round: the naive baseline, the raw limit, then end to end with one worker, back to back so
  // that all three see the same machine, and end to end is compared with the baselines of its own
  // round (paired). The two-worker run follows round 1 at once and is compared with it, so that a
  // change in outside load between distant runs does not decide the scaling figure either.
  const round = async (index: number) => {
    log(`delivery round ${index}: naive baseline, ${SETTINGS.naiveRecipients} x sendMail({ html, text, ... })`);
    const plain = await measureBaseline(ctx, 'naive', SETTINGS.naiveRecipients);
    naive.push(plain);
    log(`  naive: ${plain.msgsPerSecond.toFixed(0)} msg/s`);
    log(`delivery round ${index}: raw limit, ${N} sends of one prebuilt message`);
    const base = await measureBaseline(ctx, 'raw', N);
    raw.push(base);
    log(`  raw limit: ${base.msgsPerSecond.toFixed(0)} msg/s`);
    log(
      `delivery round ${index}: ${N} recipients end to end, 1 worker process (pool ${SETTINGS.smtpPoolSize}, concurrency ${SETTINGS.workerConcurrency})`,
    );
    const run = await measureDelivery(ctx, `e2e${index}`, N, 1);
    e2e.push(run);
    log(
      `  end to end: ${run.msgsPerSecond.toFixed(0)} msg/s at the sink, ${run.wallSeconds.toFixed(1)} s wall, worker peak RSS ${((run.peakRssBytes[0] ?? 0) / MB).toFixed(0)} MB`,
    );
  };
  const roundStart = elapsed();
  await round(1);
  const roundSeconds = elapsed() - roundStart;

  log(`horizontal scale: ${N} recipients with 2 worker processes`);
  const two = await measureDelivery(ctx, 'two', N, 2);
  log(`  two workers: ${two.msgsPerSecond.toFixed(0)} msg/s`);

  log(`memory: ${SETTINGS.memoryRecipients} recipients, 1 worker process`);
  const big = await measureDelivery(ctx, 'big', SETTINGS.memoryRecipients, 1);
  log(
    `  ${SETTINGS.memoryRecipients}: ${big.msgsPerSecond.toFixed(0)} msg/s, worker peak RSS ${((big.peakRssBytes[0] ?? 0) / MB).toFixed(0)} MB`,
  );

  // What the worker's heap flags buy: the same run with V8's defaults (sized for a machine's memory, 4x growth between collections).
  log(`memory: ${N} recipients, 1 worker process without its heap flags (${ctx.worker.nodeFlags.join(' ')})`);
  const defaultHeap = await measureDelivery(ctx, 'v8-heap', N, 1, []);
  log(
    `  V8's default heap: ${defaultHeap.msgsPerSecond.toFixed(0)} msg/s, worker peak RSS ${((defaultHeap.peakRssBytes[0] ?? 0) / MB).toFixed(0)} MB`,
  );

  for (let index = 2; index <= SETTINGS.repeats; index += 1) {
    // A round can take half as long again when the machine gets busier: keep well inside the budget.
    if (elapsed() + roundSeconds * 1.6 + reserveSeconds > SETTINGS.budgetSeconds) {
      log(`skipping delivery round ${index}: it would end past the ${SETTINGS.budgetSeconds} s budget`);
      break;
    }
    await round(index);
  }

  const e2eRate = median(e2e.map((run) => run.msgsPerSecond));
  const rawRate = median(raw.map((run) => run.msgsPerSecond));
  const naiveRate = median(naive.map((run) => run.msgsPerSecond));
  const rss20k = median(e2e.map((run) => run.peakRssBytes[0] ?? 0));
  const rss100k = big.peakRssBytes[0] ?? 0;
  const rssRatio = rss100k / rss20k;
  const rssDefaultHeap = defaultHeap.peakRssBytes[0] ?? 0;
  // Each round's end-to-end run against the baselines measured just before it, on the same machine:
  // the median of those paired ratios. The ratio of two medians can pair runs of different rounds,
  // between which this shared VM's speed drifts (it is given too, in the rows).
  const paired = (baselines: BaselineRun[]) => {
    const perRound = e2e.map((run, index) => run.msgsPerSecond / (baselines[index]?.msgsPerSecond ?? NaN));
    return {
      perRound,
      median: median(perRound),
      byMedians: e2eRate / median(baselines.map((run) => run.msgsPerSecond)),
    };
  };
  const ofRaw = paired(raw);
  const overNaive = paired(naive);
  const scale = two.msgsPerSecond / (e2e[0]?.msgsPerSecond ?? NaN);
  const scaleToMedian = two.msgsPerSecond / e2eRate;
  const targets = {
    endToEndOfRaw: { target: '>= 80% of raw', met: ofRaw.median >= 0.8 },
    endToEndOverNaive: { target: '>= 3x naive', met: overNaive.median >= 3 },
    workerRssFlat: { target: 'within 20%', met: Math.abs(rssRatio - 1) <= 0.2 },
    workerRssSmall: { target: '< 150 MB', met: rss20k < 150 * MB },
    twoWorkersFaster: { target: '> 1x (paired)', met: scale > 1 },
  } satisfies Record<string, Target>;
  const fmtMB = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
  const us = (value: number) => `${Math.round(value)}`;
  const e2eCpu = {
    worker: median(e2e.map((run) => run.cpuPerMessageUs.workers[0] ?? NaN)),
    redis: median(e2e.map((run) => run.cpuPerMessageUs.redis)),
    sink: median(e2e.map((run) => run.cpuPerMessageUs.sink)),
  };
  const baselineCpu = (runs: BaselineRun[]) => ({
    sender: median(runs.map((run) => run.cpuPerMessageUs.sender)),
    sink: median(runs.map((run) => run.cpuPerMessageUs.sink)),
  });
  const rawCpu = baselineCpu(raw);
  const naiveCpu = baselineCpu(naive);
  const rounds = (runs: unknown[]) =>
    runs.length >= 3 ? `median of ${runs.length}` : `${runs.length} run${runs.length > 1 ? 's, median' : ''}`;
  const pairedText = (ratios: ReturnType<typeof paired>, show: (ratio: number) => string) =>
    `(${e2e.length > 1 ? "median of the rounds' " : ''}${ratios.perRound.map(show).join(', ')}; ${show(ratios.byMedians)} by the medians)`;
  const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
  const times = (ratio: number) => `${ratio.toFixed(2)}x`;
  const rows = [
    info(`raw limit, ${N / 1000}k (${rounds(raw)})`, `${rawRate.toFixed(0)} msg/s`),
    info(`naive sendMail, ${SETTINGS.naiveRecipients / 1000}k (${rounds(naive)})`, `${naiveRate.toFixed(0)} msg/s`),
    held(
      `end to end, ${N / 1000}k, 1 worker (${rounds(e2e)})`,
      `${e2eRate.toFixed(0)} msg/s`,
      `${percent(ofRaw.median)} of raw ${pairedText(ofRaw, percent)}`,
      targets.endToEndOfRaw,
    ),
    held(
      'end to end vs naive',
      `${e2eRate.toFixed(0)} msg/s`,
      `${times(overNaive.median)} naive ${pairedText(overNaive, times)}`,
      targets.endToEndOverNaive,
    ),
    held(
      `worker peak RSS, ${N / 1000}k (${rounds(e2e)})`,
      fmtMB(rss20k),
      `raw sender process ${fmtMB(median(raw.map((run) => run.peakRssBytes)))}`,
      targets.workerRssSmall,
    ),
    info(
      `worker peak RSS, ${N / 1000}k, with V8's default heap instead of ${ctx.worker.nodeFlags.join(' ')} (1 run)`,
      fmtMB(rssDefaultHeap),
      `${defaultHeap.msgsPerSecond.toFixed(0)} msg/s, ${((defaultHeap.msgsPerSecond / e2eRate) * 100).toFixed(0)}% of the worker's with its flags`,
    ),
    held(
      `worker peak RSS, ${SETTINGS.memoryRecipients / 1000}k (1 run)`,
      fmtMB(rss100k),
      `${rssRatio.toFixed(2)}x the ${N / 1000}k peak`,
      targets.workerRssFlat,
    ),
    held(
      `2 worker processes, ${N / 1000}k (1 run)`,
      `${two.msgsPerSecond.toFixed(0)} msg/s`,
      `${scale.toFixed(2)}x the 1-worker run just before (${scaleToMedian.toFixed(2)}x the median)`,
      targets.twoWorkersFaster,
    ),
    info(
      'CPU µs/message: end to end (worker+redis+sink)',
      `${us(e2eCpu.worker)}+${us(e2eCpu.redis)}+${us(e2eCpu.sink)} µs`,
      `raw ${us(rawCpu.sender)}+0+${us(rawCpu.sink)}, naive ${us(naiveCpu.sender)}+0+${us(naiveCpu.sink)}`,
    ),
  ];
  return {
    rows,
    targets,
    results: {
      delivery: {
        endToEnd: { medianMsgsPerSecond: e2eRate, runs: e2e },
        rawLimit: { medianMsgsPerSecond: rawRate, runs: raw },
        naive: { medianMsgsPerSecond: naiveRate, runs: naive },
        ratios: {
          endToEndOfRaw: ofRaw.median,
          endToEndOfRawByMedians: ofRaw.byMedians,
          perRoundOfRaw: ofRaw.perRound,
          endToEndOverNaive: overNaive.median,
          endToEndOverNaiveByMedians: overNaive.byMedians,
          perRoundOverNaive: overNaive.perRound,
        },
        twoWorkers: { run: two, ratioToRound1OneWorker: scale, ratioToMedianOneWorker: scaleToMedian },
      },
      memory: {
        workerPeakRss20kBytes: rss20k,
        workerPeakRss100kBytes: rss100k,
        ratio: rssRatio,
        run100k: big,
        defaultHeap: { withoutFlags: ctx.worker.nodeFlags, run: defaultHeap },
      },
    },
  };
}
