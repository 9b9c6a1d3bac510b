/**
 * The relay profile (issue 11): an edition sent by two worker processes through the throttling relay
 * (tests/support/throttling-relay.ts, in its own process) that limits each recipient domain in fixed
 * one-second windows and answers `421 4.7.0 Try again later` beyond: two domains without a limit,
 * two at 60/s, one at 40/s that the relay lowers to 20/s mid-run, one strict at 10/s. First a solo
 * run of the unlimited domains alone (the speed they reach without the others), then the mix.
 */
import { performance } from 'node:perf_hooks';
import type { DeliveryCounts } from '../src/delivery/ledger.ts';
import {
  type RelayProcess,
  type RelayStatsLine,
  startRelayProcess,
} from '../tests/support/throttling-relay-process.ts';
import { benchRecipientAt } from './fixtures.ts';
import {
  type Context,
  log,
  sleep,
  startWorkers,
  stopWorkers,
  storeEdition,
  untilDelivered,
  workerEnv,
} from './phases.ts';
import { held, type PhaseReport } from './report.ts';
import { seedSubscribers } from './seed.ts';

const scale = Number(process.env.BENCH_RELAY_SCALE ?? 1);
const count = (n: number) => Math.max(1, Math.round(n * scale));

export interface ProfileDomain {
  domain: string;
  recipients: number;
  /** Messages per second the relay takes; null: no limit. */
  limit: number | null;
  /** The relay lowers the limit to `perSecond` this long after the edition's start. */
  lowered?: { perSecond: number; atSeconds: number };
}

/**
 * Sized so that the strict domain and the lowered one both need 45 s at the relay's limits (x
 * BENCH_RELAY_SCALE): a mixed run of about 50 s, and a solo run of a few seconds.
 */
export const PROFILE: ProfileDomain[] = [
  { domain: 'open-a.test', recipients: count(1500), limit: null },
  { domain: 'open-b.test', recipients: count(1500), limit: null },
  { domain: 'sixty-a.test', recipients: count(2400), limit: 60 },
  { domain: 'sixty-b.test', recipients: count(2400), limit: 60 },
  { domain: 'lowered.test', recipients: count(1200), limit: 40, lowered: { perSecond: 20, atSeconds: 15 * scale } },
  { domain: 'strict.test', recipients: count(450), limit: 10 },
];
const WORKERS = 2;
/** Refusals in the first seconds are how the pacer learns each limit; the target counts those after. */
const LEARNING_SECONDS = 10;

/**
 * The least time the relay's limits allow for a domain's recipients, counted from the edition's
 * start: N / limit, or with the mid-run change, the first limit until the change and the second after.
 */
export function minimumSeconds(domain: ProfileDomain): number {
  if (domain.limit === null) return 0;
  const { lowered } = domain;
  if (!lowered || domain.recipients <= domain.limit * lowered.atSeconds) return domain.recipients / domain.limit;
  return lowered.atSeconds + (domain.recipients - domain.limit * lowered.atSeconds) / lowered.perSecond;
}

/** Which domain each subscriber id (1..total) is at: every domain spread over the whole list (seeded shuffle), so every batch mixes them. */
function domainPlan(domains: ProfileDomain[]): string[] {
  const plan = domains.flatMap((domain) => Array.from({ length: domain.recipients }, () => domain.domain));
  let seed = 0x2545f491;
  const random = () => {
    // mulberry32: deterministic, so every run sends the same list.
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let index = plan.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [plan[index], plan[other]] = [plan[other] as string, plan[index] as string];
  }
  return plan;
}

interface ProfileRun {
  label: string;
  recipients: number;
  /** From `deliveries.start()` until the ledger had everyone sent (or failed). */
  wallSeconds: number;
  counts: DeliveryCounts;
  /** Per domain: seconds from the start until the relay had accepted every recipient of it (read from its stats lines, every 100 ms). */
  finishSeconds: Record<string, number>;
  /** The relay's per-domain totals and per-second series at the end. */
  relay: RelayStatsLine;
  /** The wall-clock second the edition started in (the relay's series count in wall-clock seconds). */
  startSecond: number;
}

/** Seeds `domains`, sends one edition through the relay with two workers and times it, lowering limits mid-run where the profile says so. */
async function sendThrough(
  ctx: Context,
  relay: RelayProcess,
  label: string,
  domains: ProfileDomain[],
): Promise<ProfileRun> {
  const plan = domainPlan(domains);
  const recipients = plan.length;
  await ctx.app.redis.flushall();
  await seedSubscribers(ctx.config.DATABASE_URL ?? '', recipients, (id) =>
    benchRecipientAt(id, plan[id - 1] ?? 'missing.test'),
  );
  const edition = await storeEdition(ctx, { ...ctx.edition, id: `relay${label}` });
  for (const domain of domains) await relay.command({ cmd: 'limit', domain: domain.domain, perSecond: domain.limit });
  await relay.command({ cmd: 'reset' });

  const workers = await startWorkers(ctx, { ...workerEnv(ctx), SMTP_URL: relay.url }, WORKERS, `relay ${label}`);
  const changes: NodeJS.Timeout[] = [];
  try {
    const startedAt = Date.now();
    const start = performance.now();
    for (const domain of domains) {
      const { lowered } = domain;
      if (!lowered) continue;
      changes.push(
        setTimeout(() => {
          log(`  relay ${label}: ${domain.domain} lowered to ${lowered.perSecond}/s`);
          void relay.command({ cmd: 'limit', domain: domain.domain, perSecond: lowered.perSecond });
        }, lowered.atSeconds * 1000),
      );
    }
    const summary = await ctx.app.deliveries.start(edition);
    if (summary.recipients !== recipients)
      throw new Error(`relay ${label}: fan-out queued ${summary.recipients} of ${recipients}`);
    const slowest = Math.max(...domains.map(minimumSeconds));
    const counts = await untilDelivered(ctx, {
      label: `relay ${label}`,
      editionId: edition.id,
      recipients,
      workers,
      alsoAlive: () => (relay.child.exitCode !== null ? 'the relay exited' : null),
      timeoutMs: 60_000 + slowest * 3000,
    });
    const wallSeconds = (performance.now() - start) / 1000;
    // The last periodic line must have been printed after the last acceptance.
    await sleep(250);
    const finishSeconds: Record<string, number> = {};
    for (const domain of domains) {
      const line = relay.lines.find(
        (candidate) =>
          candidate.at >= startedAt && (candidate.domains[domain.domain]?.accepted ?? 0) >= domain.recipients,
      );
      finishSeconds[domain.domain] = line ? (line.at - startedAt) / 1000 : Number.NaN;
    }
    return {
      label,
      recipients,
      wallSeconds,
      counts,
      finishSeconds,
      relay: await relay.stats(),
      startSecond: Math.floor(startedAt / 1000),
    };
  } finally {
    for (const timer of changes) clearTimeout(timer);
    await stopWorkers(workers);
  }
}

/** Recipients accepted over every domain in the whole seconds from `startSecond` that cover `seconds`. */
function acceptedWithin(relay: RelayStatsLine, startSecond: number, seconds: number): number {
  let accepted = 0;
  for (const domain of Object.values(relay.domains)) {
    for (const second of domain.series ?? [])
      if (second.second >= startSecond && second.second < startSecond + Math.ceil(seconds)) accepted += second.accepted;
  }
  return accepted;
}

/** Refused and all attempts (RCPT TO) over every domain, in the seconds from `fromSecond` on. */
function attemptsFrom(relay: RelayStatsLine, fromSecond: number): { attempts: number; refused: number } {
  let attempts = 0;
  let refused = 0;
  for (const domain of Object.values(relay.domains)) {
    for (const second of domain.series ?? []) {
      if (second.second < fromSecond) continue;
      attempts += second.accepted + second.refused;
      refused += second.refused;
    }
  }
  return { attempts, refused };
}

export type RelayProfileResult = Awaited<ReturnType<typeof measureRelayProfile>>;

export async function measureRelayProfile(ctx: Context) {
  const relay = await startRelayProcess({ args: ['--stats-ms', '100'] });
  try {
    const open = PROFILE.filter((domain) => domain.limit === null);
    const openRecipients = open.reduce((sum, domain) => sum + domain.recipients, 0);
    log(
      `relay solo: the ${openRecipients} recipients of ${open.map((domain) => domain.domain).join(' and ')} alone, ${WORKERS} worker processes`,
    );
    const solo = await sendThrough(ctx, relay, 'solo', open);
    const soloLast = Math.max(...open.map((domain) => solo.finishSeconds[domain.domain] ?? Number.NaN));
    log(
      `  solo: ${soloLast.toFixed(2)} s to the last acceptance, ${solo.wallSeconds.toFixed(2)} s until the ledger had all sent`,
    );

    log(
      `relay profile: ${PROFILE.map((domain) => `${domain.domain} ${domain.recipients} at ${domain.limit === null ? 'no limit' : `${domain.limit}/s${domain.lowered ? ` then ${domain.lowered.perSecond}/s at ${domain.lowered.atSeconds} s` : ''}`}`).join(', ')}`,
    );
    const mixed = await sendThrough(ctx, relay, 'mixed', PROFILE);
    const minimum = Math.max(...PROFILE.map(minimumSeconds));
    const afterLearning = attemptsFrom(mixed.relay, mixed.startSecond + LEARNING_SECONDS);
    // What the paced domains take from the first second on when each goes at its limit (none of
    // them is known yet while the unlimited ones are sent: the pacer is still finding the limits).
    const pacedRate = PROFILE.reduce((sum, domain) => sum + (domain.limit ?? 0), 0);
    const all = attemptsFrom(mixed.relay, 0);
    const unlimited = open.map((domain) => {
      const soloSeconds = solo.finishSeconds[domain.domain] ?? Number.NaN;
      const mixedSeconds = mixed.finishSeconds[domain.domain] ?? Number.NaN;
      // What the workers sent in all (every domain) while this one was being sent, against their
      // rate alone: when the two are close, the sender was at its capacity and the domain's
      // shortfall is the share the others took, not time spent waiting behind them.
      const senderRate = acceptedWithin(mixed.relay, mixed.startSecond, mixedSeconds) / Math.ceil(mixedSeconds);
      const soloRate = openRecipients / soloLast;
      // The most the ratio can be with the sender at its speed alone and the paced domains taking
      // their share of it: soloSeconds / T where T * soloRate = openRecipients + pacedRate * T.
      const ceiling = Math.max(0, 1 - pacedRate / soloRate);
      return {
        domain: domain.domain,
        recipients: domain.recipients,
        soloSeconds,
        mixedSeconds,
        speedRatio: soloSeconds / mixedSeconds,
        senderRate,
        soloRate,
        pacedRate,
        ceiling,
      };
    });
    const result = {
      domains: PROFILE.map((domain) => ({
        ...domain,
        minimumSeconds: minimumSeconds(domain),
        finishSeconds: mixed.finishSeconds[domain.domain] ?? Number.NaN,
        accepted: mixed.relay.domains[domain.domain]?.accepted ?? 0,
        refused: mixed.relay.domains[domain.domain]?.refused ?? 0,
      })),
      workers: WORKERS,
      recipients: mixed.recipients,
      minimumSeconds: minimum,
      wallSeconds: mixed.wallSeconds,
      ofAllowed: minimum / mixed.wallSeconds,
      failed: mixed.counts.failed,
      counts: mixed.counts,
      refusedAfterLearning: afterLearning.refused,
      attemptsAfterLearning: afterLearning.attempts,
      refusedShareAfterLearning: afterLearning.refused / afterLearning.attempts,
      refusedShareAll: all.refused / all.attempts,
      learningSeconds: LEARNING_SECONDS,
      unlimited,
      slowestUnlimitedRatio: Math.min(...unlimited.map((entry) => entry.speedRatio)),
      solo: { ...solo, relay: undefined },
      series: Object.fromEntries(
        Object.entries(mixed.relay.domains).map(([domain, stats]) => [
          domain,
          (stats.series ?? []).map((second) => [second.second - mixed.startSecond, second.accepted, second.refused]),
        ]),
      ),
    };
    log(
      `  mixed: ${mixed.wallSeconds.toFixed(1)} s where the relay allows ${minimum.toFixed(1)} s (${((minimum / mixed.wallSeconds) * 100).toFixed(1)} %), ` +
        `${mixed.counts.failed} failed, refused ${(result.refusedShareAfterLearning * 100).toFixed(1)} % after ${LEARNING_SECONDS} s (${(result.refusedShareAll * 100).toFixed(1)} % overall); ` +
        `finish per domain: ${PROFILE.map((domain) => `${domain.domain} ${(mixed.finishSeconds[domain.domain] ?? Number.NaN).toFixed(1)} s`).join(', ')}`,
    );
    return result;
  } finally {
    await relay.stop();
  }
}

export function relayReport(result: RelayProfileResult): PhaseReport {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  const targets = {
    relayOfAllowed: { target: '>= 90% of what the relay allows', met: result.ofAllowed >= 0.9 },
    relayFailed: { target: '0', met: result.failed === 0 && result.counts.sent === result.recipients },
    relayRefusedAfterLearning: {
      target: `<= 5% after the first ${result.learningSeconds} s`,
      met: result.refusedShareAfterLearning <= 0.05,
    },
    relayUnlimitedSpeed: { target: '>= 90% of their speed alone', met: result.slowestUnlimitedRatio >= 0.9 },
  };
  const profile = `relay profile, ${result.recipients} recipients over ${result.domains.length} domains, ${result.workers} workers`;
  const slowestUnlimited = result.unlimited.reduce((slowest, entry) =>
    entry.speedRatio < slowest.speedRatio ? entry : slowest,
  );
  return {
    targets,
    results: { relayProfile: result },
    rows: [
      held(
        `${profile}: time`,
        `${result.wallSeconds.toFixed(1)} s`,
        `the relay allows ${result.minimumSeconds.toFixed(1)} s: ${pct(result.ofAllowed)}`,
        targets.relayOfAllowed,
      ),
      held(`${profile}: failed`, `${result.failed}`, `${result.counts.sent} sent`, targets.relayFailed),
      held(
        `${profile}: refused attempts after ${result.learningSeconds} s`,
        pct(result.refusedShareAfterLearning),
        `${result.refusedAfterLearning} of ${result.attemptsAfterLearning}; ${pct(result.refusedShareAll)} over the whole run`,
        targets.relayRefusedAfterLearning,
      ),
      held(
        `${profile}: unlimited domains' speed vs alone`,
        pct(slowestUnlimited.speedRatio),
        `${slowestUnlimited.domain} done in ${slowestUnlimited.mixedSeconds.toFixed(2)} s, ${slowestUnlimited.soloSeconds.toFixed(2)} s alone; all domains meanwhile ${Math.round(slowestUnlimited.senderRate)} msg/s, it alone ${Math.round(slowestUnlimited.soloRate)}, of which the paced domains' limits take ${slowestUnlimited.pacedRate}: at most ${pct(slowestUnlimited.ceiling)} here`,
        targets.relayUnlimitedSpeed,
      ),
    ],
  };
}
