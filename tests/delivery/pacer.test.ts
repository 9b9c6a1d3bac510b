import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DestinationPacer, type PacerSettings } from '../../src/delivery/pacing/pacer.ts';
import { PacerSettingsError } from '../../src/delivery/pacing/pacer-settings.ts';
import { Pacing } from '../../src/delivery/pacing/pacing.ts';
import { RedisKeys } from '../../src/platform/redis-keys.ts';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const connections: Redis[] = [];
afterAll(() => connections.forEach((redis) => redis.disconnect()));

/** Pacers sharing one fresh key prefix, each with its own Redis connection (as separate workers). */
function pacers(count: number, settings: Partial<PacerSettings> = {}) {
  const keys = new RedisKeys(`t${randomBytes(5).toString('hex')}`);
  const list = Array.from({ length: count }, () => {
    const redis = new Redis(inject('redisUrl'));
    connections.push(redis);
    return new DestinationPacer({ redis, keys, settings });
  });
  return { keys, redis: connections.at(-1) as Redis, list, one: list[0] as DestinationPacer };
}

/** Acquires until the pacer refuses: demand above the rate, as in a busy edition. */
async function holdBack(pacer: DestinationPacer, destination: string): Promise<void> {
  for (let tries = 0; tries < 1000; tries += 1) if (!(await pacer.acquire('relay', destination)).ok) return;
  throw new Error('the pacer never refused');
}

/** Acquires every 50 ms for `ms`: a pace that has been sending for a while (throttled.lua measures only then). */
async function sendFor(pacer: DestinationPacer, destination: string, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) await pacer.acquire('relay', destination);
}

async function rateOf(pacer: DestinationPacer, destination: string, transport = 'relay'): Promise<number | undefined> {
  return (await pacer.snapshot()).find((pace) => pace.destination === destination && pace.transport === transport)
    ?.rate;
}

describe('DestinationPacer', () => {
  it('spaces messages at the start rate (GCRA), and says how long to wait', async () => {
    const { one } = pacers(1, { startRate: 10, toleranceMs: 20 });
    expect(await one.acquire('relay', 'example.org')).toEqual({ ok: true });
    const second = await one.acquire('relay', 'example.org');
    const waitMs = second.ok ? -1 : second.waitMs;
    // 100 ms apart at 10/s, of which 20 ms may be taken early.
    expect(waitMs).toBeGreaterThanOrEqual(60);
    expect(waitMs).toBeLessThanOrEqual(80);
    await sleep(waitMs);
    expect(await one.acquire('relay', 'example.org')).toEqual({ ok: true });
    // Another destination, or the same one through another transport, has its own pace.
    expect(await one.acquire('relay', 'other.org')).toEqual({ ok: true });
    expect(await one.acquire('backup-relay', 'example.org')).toEqual({ ok: true });
  });

  it('never goes above a destination ceiling', async () => {
    const { one } = pacers(1, { startRate: 10, ceilings: new Map([['slow.example', 2]]), toleranceMs: 0 });
    expect(await one.acquire('relay', 'slow.example')).toEqual({ ok: true });
    const next = await one.acquire('relay', 'slow.example');
    expect(next.ok ? 0 : next.waitMs).toBeGreaterThan(450);
    expect(await rateOf(one, 'slow.example')).toBe(2);
    expect(one.ceilingOf('slow.example')).toBe(2);
    expect(one.ceilingOf('fast.example')).toBe(100);
  });

  it('cuts once for a burst of throttle reports from several workers, and again after the coalesce window', async () => {
    const { list, one } = pacers(3, { startRate: 10, decreaseFactor: 0.5, coalesceMs: 300 });
    await one.acquire('relay', 'busy.example');
    const outcomes = await Promise.all(
      list.flatMap((pacer) => [1, 2, 3].map(() => pacer.throttled('relay', 'busy.example', null))),
    );
    expect(outcomes).toHaveLength(9);
    expect(outcomes.filter((outcome) => outcome.decreased)).toHaveLength(1);
    expect(outcomes.every((outcome) => outcome.rate === 5)).toBe(true);
    await sleep(350);
    expect(await one.throttled('relay', 'busy.example', null)).toMatchObject({ decreased: true, rate: 2.5 });
  });

  it('never goes below the floor', async () => {
    const { one } = pacers(1, { startRate: 10, floor: 2, decreaseFactor: 0.5, coalesceMs: 1 });
    for (let report = 0; report < 8; report += 1) {
      await one.throttled('relay', 'down.example', null);
      await sleep(3);
    }
    expect(await rateOf(one, 'down.example')).toBe(2);
  });

  it('honours a stated pause, up to maxPauseMs', async () => {
    const { one } = pacers(1, { maxPauseMs: 2000 });
    const before = Date.now();
    const outcome = await one.throttled('relay', 'paused.example', 400);
    expect(outcome.pausedUntil?.getTime()).toBeGreaterThanOrEqual(before + 300);
    const blocked = await one.acquire('relay', 'paused.example');
    expect(blocked.ok).toBe(false);
    expect(blocked.ok ? 0 : blocked.waitMs).toBeGreaterThan(300);
    expect((await one.snapshot())[0]?.pausedUntil).toEqual(outcome.pausedUntil);
    await sleep(blocked.ok ? 0 : blocked.waitMs);
    expect(await one.acquire('relay', 'paused.example')).toEqual({ ok: true });

    const capped = await one.throttled('relay', 'long.example', 3_600_000);
    expect(capped.pausedUntil?.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
  });

  it('grows only while it holds sending back: by slow start before the first throttle, by the step after it', async () => {
    const { one } = pacers(1, { startRate: 10, slowStartFactor: 1.5, increaseStep: 2, holdMs: 0, toleranceMs: 0 });
    await one.acquire('relay', 'grow.example');
    await sleep(1050);
    // Demand below the rate (no acquire was refused): the rate stays.
    expect(await one.succeeded('relay', 'grow.example')).toBe(10);
    await one.acquire('relay', 'grow.example');
    expect((await one.acquire('relay', 'grow.example')).ok).toBe(false);
    await sleep(1050);
    expect(await one.succeeded('relay', 'grow.example')).toBe(15);
    // At most once a second.
    expect(await one.succeeded('relay', 'grow.example')).toBe(15);

    // After a second of sending (a throttle is measured against it, whatever the clock's second
    // boundaries), a throttle while demand is above the rate ends slow start.
    for (const end = Date.now() + 1100; Date.now() < end; await sleep(50)) {
      await one.acquire('relay', 'grow.example');
      await one.succeeded('relay', 'grow.example');
    }
    const before = (await rateOf(one, 'grow.example')) ?? 0;
    await holdBack(one, 'grow.example');
    await one.throttled('relay', 'grow.example', null);
    const cut = (await rateOf(one, 'grow.example')) ?? 0;
    expect(cut).toBeLessThan(before);
    await holdBack(one, 'grow.example');
    await sleep(1050);
    expect(await one.succeeded('relay', 'grow.example')).toBeCloseTo(cut + 2, 6);
  });

  it('holds a decrease to what the destination accepted in the last second', async () => {
    const { one } = pacers(1, { startRate: 40, decreaseFactor: 0.9, toleranceMs: 0 });
    // Sending for over a second and a half (a new pace is measured from then on), and five messages got through in the last second.
    await sendFor(one, 'dropped.example', 1600);
    for (let sent = 0; sent < 5; sent += 1) await one.succeeded('relay', 'dropped.example');
    const outcome = await one.throttled('relay', 'dropped.example', null);
    expect(outcome.decreased).toBe(true);
    expect(outcome.rate).toBeGreaterThanOrEqual(5);
    expect(outcome.rate).toBeLessThan(6);
  });

  it('does not hold a decrease to a second that began before every worker could know of the pace', async () => {
    const { one } = pacers(1, { startRate: 40, decreaseFactor: 0.9, toleranceMs: 0, coalesceMs: 500 });
    // Born 700 ms into a second: the whole second after it begins only 300 ms later, while other
    // workers may still count their successes as unpaced; it shows 5 of them, the next one 30.
    await sleep(1000 - (Date.now() % 1000) + 700);
    await one.throttled('relay', 'young.example', null);
    await sleep(1000 - (Date.now() % 1000) + 300);
    await holdBack(one, 'young.example');
    for (let sent = 0; sent < 5; sent += 1) await one.succeeded('relay', 'young.example');
    await one.throttled('relay', 'young.example', null);
    await sleep(1000 - (Date.now() % 1000) + 100);
    for (let sent = 0; sent < 30; sent += 1) await one.succeeded('relay', 'young.example');
    await sleep(300 - (Date.now() % 1000));
    await holdBack(one, 'young.example');
    // 1.6 s after the pace began: measured, but the previous second is not the destination's limit.
    const outcome = await one.throttled('relay', 'young.example', null);
    expect(outcome.decreased).toBe(true);
    expect(outcome.rate).toBeGreaterThan(20);
  });

  it('takes a connection closed under a message as a signal only for a measured pace, and cuts it only to what got through', async () => {
    const { one } = pacers(1, { startRate: 40, decreaseFactor: 0.9, toleranceMs: 0 });
    await one.acquire('relay', 'closing.example');
    // A young pace: the closes of the first burst do not cut it.
    expect(await one.connectionBroke('relay', 'closing.example')).toMatchObject({ decreased: false, rate: 40 });
    // Sending for over a second and a half, every message getting through (about 20 a second).
    for (const end = Date.now() + 1600; Date.now() < end; await sleep(50)) {
      await one.acquire('relay', 'closing.example');
      await one.succeeded('relay', 'closing.example');
    }
    const outcome = await one.connectionBroke('relay', 'closing.example');
    // Cut to what got through (below the 40 it was paced at), not to the floor as for an outage.
    expect(outcome.decreased).toBe(true);
    expect(outcome.rate).toBeLessThan(30);
    expect(outcome.rate).toBeGreaterThan(5);
  });

  it('falls to the floor when nothing gets through for a second (an outage), and resumes at the first success', async () => {
    const { one } = pacers(1, { startRate: 40, floor: 1, decreaseFactor: 0.9, coalesceMs: 500, toleranceMs: 0 });
    await one.acquire('relay', 'down.example');
    expect((await one.acquire('relay', 'down.example')).ok).toBe(false);
    await sendFor(one, 'down.example', 600);
    // The first report of the outage: nothing measured yet (the pace is under 1.5 s old), a plain cut.
    expect(await one.throttled('relay', 'down.example', null)).toMatchObject({ decreased: true, rate: 36 });
    await sendFor(one, 'down.example', 1000);
    // A second of sending without a single success: down, not slow.
    expect(await one.throttled('relay', 'down.example', null)).toMatchObject({ decreased: true, rate: 1 });
    expect(await one.succeeded('relay', 'down.example')).toBe(36);
  });

  it('resumes where it stood after an outage that comes with no decrease before it', async () => {
    const { one } = pacers(1, { startRate: 40, floor: 1, decreaseFactor: 0.9, coalesceMs: 500, toleranceMs: 0 });
    // 1.6 s of demand (measured from 1.5 s on) and not one success: the first signal finds an outage.
    await sendFor(one, 'down.example', 1600);
    expect(await one.throttled('relay', 'down.example', null)).toMatchObject({ decreased: true, rate: 1 });
    // The first success goes back to the rate before the outage, cut once (not to the floor it fell to).
    expect(await one.succeeded('relay', 'down.example')).toBe(36);
  });

  it('lets its keys expire when idle, and lists recent paces in the snapshot', async () => {
    const { one, keys, redis } = pacers(1, { idleTtlMs: 60_000 });
    await one.acquire('relay', 'snap.example');
    await one.acquire('relay', 'quiet.example');
    await one.throttled('relay', 'snap.example', null);
    for (const key of [keys.pace('relay', 'snap.example'), keys.paceIndex()]) {
      const ttl = await redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(50_000);
      expect(ttl, key).toBeLessThanOrEqual(60_000);
    }
    const snapshot = await one.snapshot();
    expect(snapshot.map((pace) => pace.destination).sort()).toEqual(['quiet.example', 'snap.example']);
    const snap = snapshot.find((pace) => pace.destination === 'snap.example');
    expect(snap).toMatchObject({ transport: 'relay', rate: 9, ceiling: 100, pausedUntil: null, decreases: 1 });
    expect(snap?.throttledSince).toBeInstanceOf(Date);
    expect(snapshot.find((pace) => pace.destination === 'quiet.example')).toMatchObject({
      rate: 10,
      throttledSince: null,
      decreases: 0,
    });

    // An expired pace leaves the snapshot and starts over.
    await redis.del(keys.pace('relay', 'snap.example'));
    expect((await one.snapshot()).map((pace) => pace.destination)).toEqual(['quiet.example']);
  });

  it('refuses bad settings, naming every one', () => {
    const redis = new Redis(inject('redisUrl'), { lazyConnect: true });
    const keys = new RedisKeys('unused');
    const build = (settings: Partial<PacerSettings>) => () => new DestinationPacer({ redis, keys, settings });
    expect(build({ decreaseFactor: 1.5, floor: 20, startRate: 10, increaseStep: 0 })).toThrow(PacerSettingsError);
    expect(build({ decreaseFactor: 1.5, floor: 20, startRate: 10, increaseStep: 0 })).toThrow(
      /increaseStep must be a number above 0; decreaseFactor must be between 0 and 1; floor \(20\) is above startRate \(10\)/,
    );
    expect(build({ ceilings: new Map([['x.example', 0]]) })).toThrow(/the ceiling of x.example must be above 0/);
    redis.disconnect();
  });
});

describe('Pacing', () => {
  /** Two workers (each its own Pacing and Redis connection) that both sent `destination` unpaced for ~0.6 s, 20 messages each. */
  async function bothSentUnpaced(settings: Partial<PacerSettings>, destination: string) {
    const { list } = pacers(3, settings);
    const [first, second, idle] = list.map((pacer) => new Pacing(pacer)) as [Pacing, Pacing, Pacing];
    for (let message = 0; message < 20; message += 1) {
      await Promise.all([
        first.succeeded('relay', destination),
        second.succeeded('relay', destination),
        idle.acquire('relay', destination),
      ]);
      await sleep(30);
    }
    return { first, second, idle, pacer: list[0] as DestinationPacer };
  }

  it('starts a pace from what every worker saw the destination take unpaced, not only the one throttled first', async () => {
    const { first, second, idle, pacer } = await bothSentUnpaced(
      { startRate: 1, decreaseFactor: 0.5, coalesceMs: 1500 },
      'busy.example',
    );
    await first.throttled('relay', 'busy.example', null);
    const started = (await rateOf(pacer, 'busy.example')) ?? 0;
    // About 20 messages in the last 0.6-1 s, cut by half: well above the start rate of 1.
    expect(started).toBeGreaterThan(5);
    // The second worker learns of the pace at its next look (every 250 ms) and adds what it saw.
    await sleep(300);
    await second.acquire('relay', 'busy.example');
    const joined = (await rateOf(pacer, 'busy.example')) ?? 0;
    expect(joined - started).toBeGreaterThan(5);
    // Once only, and a worker that sent nothing unpaced adds nothing.
    await sleep(300);
    await Promise.all([second.acquire('relay', 'busy.example'), idle.acquire('relay', 'busy.example')]);
    expect(await rateOf(pacer, 'busy.example')).toBe(joined);
  });

  it('paces a destination from its first throttle on, even when a look at the paced list was on its way', async () => {
    const { one, redis } = pacers(1, { startRate: 1, toleranceMs: 0 });
    const pacing = new Pacing(one);
    // The look starts (TIME, then the list); the PING's answer comes after TIME's, so by then the
    // list has been asked for, before the throttle's script runs: the answer will not have it.
    const looking = pacing.acquire('relay', 'other.example');
    await redis.ping();
    await pacing.throttled('relay', 'race.example', null);
    await looking;
    // Paced (at 1/s): the message right after one that went must wait.
    expect(await pacing.acquire('relay', 'race.example')).toEqual({ ok: true });
    expect((await pacing.acquire('relay', 'race.example')).ok).toBe(false);
  });

  it("knows without asking Redis which destinations have a pace: a ceiling, its own throttle, or another worker's at its next look", async () => {
    const { list } = pacers(2, { ceilings: new Map([['capped.example', 5]]) });
    const [first, second] = list.map((pacer) => new Pacing(pacer)) as [Pacing, Pacing];
    expect(first.knownPaced('capped.example')).toBe(true);
    expect(first.knownPaced('throttled.example')).toBe(false);
    await first.throttled('relay', 'throttled.example', null);
    expect(first.knownPaced('throttled.example')).toBe(true);
    // A name that merely ends the same way is another destination.
    expect(first.knownPaced('example')).toBe(false);
    expect(second.knownPaced('throttled.example')).toBe(false);
    await sleep(300);
    await second.acquire('relay', 'unrelated.example');
    expect(second.knownPaced('throttled.example')).toBe(true);
  });

  it('leaves a pace past its first moments as it is when a worker learns of it late', async () => {
    const { first, second, pacer } = await bothSentUnpaced(
      { startRate: 1, decreaseFactor: 0.5, coalesceMs: 100 },
      'late.example',
    );
    await first.throttled('relay', 'late.example', null);
    const started = await rateOf(pacer, 'late.example');
    await sleep(300);
    await second.acquire('relay', 'late.example');
    expect(await rateOf(pacer, 'late.example')).toBe(started);
  });
});

describe('the pacing Lua scripts', () => {
  const dir = join(import.meta.dirname, '../../src/delivery/pacing/scripts');
  const scripts = readdirSync(dir).filter((name) => name.endsWith('.lua') && name !== 'pace-state.lua');

  it.each(scripts)('%s starts with a header naming KEYS, ARGV and the return value', (name) => {
    const header = readFileSync(join(dir, name), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('--'))
      .join('\n');
    expect(header).toMatch(/KEYS\[1\]/);
    expect(header).toMatch(/ARGV\[1\]/);
    expect(header).toMatch(/Returns/);
  });

  it('are four', () => {
    expect(scripts.sort()).toEqual(['acquire.lua', 'joined.lua', 'succeeded.lua', 'throttled.lua']);
  });
});
