import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Keyspace } from '../../src/platform/redis.ts';
import { pacingKeys } from '../../src/delivery/pacing/pacer.ts';
import { PacedSenders } from '../support/paced-senders.ts';
import { type SecondCounts, ThrottlingRelay } from '../support/throttling-relay.ts';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** What the relay allowed and accepted, and what it refused, over some seconds of one domain. */
interface Window {
  allowed: number;
  accepted: number;
  refused: number;
}

function sum(series: SecondCounts[], limitAt: (second: number) => number): Window {
  return series.reduce((total, counts) => ({
    allowed: total.allowed + limitAt(counts.second),
    accepted: total.accepted + counts.accepted,
    refused: total.refused + counts.refused,
  }), { allowed: 0, accepted: 0, refused: 0 });
}

/**
 * The pacer against a relay that throttles per domain: two simulated workers (four sending loops
 * each, their own Redis connection, pacer and SMTP pool) share the pace through Redis. Three domains
 * allow 50 messages a second and one only 10; one of the 50s drops to 20 halfway. The pacer is told
 * none of these limits (its default ceiling is 100/s): it finds them.
 */
describe('DestinationPacer against a throttling relay', () => {
  const LIMITS: Record<string, number> = { 'a.test': 50, 'b.test': 50, 'c.test': 50, 'strict.test': 10 };
  const DROPPED = 'c.test';
  const DROP_TO = 20;
  const RUN_SECONDS = 22;
  const DROP_AT = 12;
  const WARM_UP = 6;
  const SETTLED = 10;

  let relay: ThrottlingRelay;
  let senders: PacedSenders;

  beforeAll(async () => {
    relay = await new ThrottlingRelay({ limits: Object.entries(LIMITS) }).start();
    const keyspace = new Keyspace(`t${randomBytes(5).toString('hex')}`);
    senders = new PacedSenders({
      redisUrl: inject('redisUrl'),
      keys: pacingKeys(keyspace),
      relayUrl: relay.url,
      domains: Object.keys(LIMITS),
      workers: 2,
      loopsPerWorker: 4,
    });
  });
  afterAll(async () => {
    await senders?.close();
    await relay?.stop();
  });

  it('sends at >= 90 % of what each domain allows, with few refusals, and the strict domain slows nobody else', async () => {
    await sleep(1000 - (Date.now() % 1000));
    const first = Math.floor(Date.now() / 1000);
    const dropSecond = first + DROP_AT;
    const run = senders.run(RUN_SECONDS * 1000);
    await sleep(dropSecond * 1000 - Date.now());
    relay.setLimit(DROPPED, DROP_TO);
    await run;
    const last = first + RUN_SECONDS - 1;
    const limitAt = (domain: string) => (second: number) => (domain === DROPPED && second >= dropSecond ? DROP_TO : (LIMITS[domain] ?? 0));

    const report: string[] = [];
    const results = Object.keys(LIMITS).map((domain) => {
      const series = relay.seconds(domain, first, last);
      const measured = sum(series.filter((counts) => counts.second >= first + WARM_UP && counts.second < last), limitAt(domain));
      const settled = sum(series.filter((counts) => counts.second >= first + SETTLED), limitAt(domain));
      report.push(
        `${domain.padEnd(12)} throughput ${((100 * measured.accepted) / measured.allowed).toFixed(1)} % (${measured.accepted}/${measured.allowed}), ` +
          `refused after ${SETTLED} s ${((100 * settled.refused) / (settled.accepted + settled.refused)).toFixed(1)} % (${settled.refused}); ` +
          `per second: ${series.map((counts) => `${counts.accepted}${counts.refused ? `/${counts.refused}` : ''}`).join(' ')}`,
      );
      return { domain, measured, settled };
    });
    const all = results.reduce((total, { settled }) => ({ accepted: total.accepted + settled.accepted, refused: total.refused + settled.refused }), { accepted: 0, refused: 0 });
    report.push(`all domains: refused after ${SETTLED} s ${((100 * all.refused) / (all.accepted + all.refused)).toFixed(1)} %`);
    report.push(`pacer: ${JSON.stringify(await senders.pacer.snapshot())}`);
    report.push(`senders: ${JSON.stringify(Object.fromEntries(senders.counts))}`);
    console.log(report.join('\n'));

    for (const { domain, measured } of results) expect(measured.accepted / measured.allowed, `${domain} throughput`).toBeGreaterThanOrEqual(0.9);
    expect(all.refused / (all.accepted + all.refused), 'refused share after the first 10 s').toBeLessThanOrEqual(0.05);
  }, 45_000);
});
