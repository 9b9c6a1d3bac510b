import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { failureFactsOf } from '../../src/delivery/pacing/throttle-signals.ts';
import { type RelayProcess, startRelayProcess } from '../support/throttling-relay-process.ts';
import { ThrottlingRelay } from '../support/throttling-relay.ts';

const RAW = Buffer.from('From: digest@example.test\r\nSubject: relay test\r\n\r\nhello\r\n');

/** One message to `to`, on a connection of its own: the reply, or the refusal's text. */
async function send(url: string, to: string): Promise<string> {
  const transport = nodemailer.createTransport({ url });
  try {
    return String(
      (await transport.sendMail({ envelope: { from: 'digest@example.test', to: [to] }, raw: RAW })).response,
    );
  } catch (error) {
    return failureFactsOf(error).text;
  } finally {
    transport.close();
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
/** Until early in a wall-clock second, so that a short burst falls into one window. */
const startOfSecond = () => sleep(1000 - (Date.now() % 1000) + 20);

describe('the throttling relay, in process', () => {
  let relay: ThrottlingRelay | undefined;
  afterEach(async () => relay?.stop());

  it('refuses a domain over its limit in a second with 421 4.7.0 at RCPT, and counts per domain and second', async () => {
    relay = await new ThrottlingRelay({ limits: [['strict.test', 3]], defaultLimit: 5 }).start();
    await startOfSecond();
    const strict = await Promise.all(
      Array.from({ length: 6 }, (_, index) => send(relay!.url, `r${index}@strict.test`)),
    );
    const other = await Promise.all(Array.from({ length: 4 }, (_, index) => send(relay!.url, `r${index}@Other.test`)));
    expect(strict.filter((reply) => reply.startsWith('250'))).toHaveLength(3);
    expect(strict.filter((reply) => reply === '421 4.7.0 Try again later')).toHaveLength(3);
    expect(other.every((reply) => reply.startsWith('250'))).toBe(true);

    const stats = relay.stats();
    expect(stats['strict.test']).toMatchObject({ limit: 3, accepted: 3, refused: 3 });
    expect(stats['other.test']).toMatchObject({ limit: 5, accepted: 4, refused: 0 });
    // The burst may straddle a second on a slow machine: each second on its own obeys the limit.
    for (const counts of stats['strict.test']?.series ?? []) expect(counts.accepted).toBeLessThanOrEqual(3);
    expect(stats['strict.test']?.series.reduce((sum, counts) => sum + counts.accepted + counts.refused, 0)).toBe(6);
  });

  it('takes limit changes while running', async () => {
    relay = await new ThrottlingRelay({ defaultLimit: 100 }).start();
    expect(await send(relay.url, 'a@mutable.test')).toMatch(/^250/);
    relay.setLimit('mutable.test', 1);
    await startOfSecond();
    const replies = [await send(relay.url, 'b@mutable.test'), await send(relay.url, 'c@mutable.test')];
    expect(replies.filter((reply) => reply.startsWith('421'))).toHaveLength(1);
    relay.setLimit('mutable.test', null);
    expect(relay.limitOf('mutable.test')).toBe(100);
    relay.setDefaultLimit(null);
    expect(relay.limitOf('mutable.test')).toBe(Infinity);
  });

  it('states a pause, and holds the domain refused until it has passed', async () => {
    relay = await new ThrottlingRelay({ limits: [['paused.test', 1]], statedPauseSeconds: 2 }).start();
    await startOfSecond();
    expect(await send(relay.url, 'a@paused.test')).toMatch(/^250/);
    expect(await send(relay.url, 'b@paused.test')).toBe('421 4.7.0 Too many messages, try again in 2 seconds');
    await startOfSecond();
    // A new second, but the stated pause still holds.
    expect(await send(relay.url, 'c@paused.test')).toMatch(
      /^421 4\.7\.0 Too many messages, try again in [12] seconds$/,
    );
    expect(await send(relay.url, 'd@elsewhere.test')).toMatch(/^250/);
    await sleep(2100);
    expect(await send(relay.url, 'e@paused.test')).toMatch(/^250/);
  });

  it('refuses everything, or closes its port, and opens it again', async () => {
    relay = await new ThrottlingRelay({ keepBodies: true }).start();
    await relay.setMode('refuse-all');
    expect(await send(relay.url, 'a@any.test')).toBe('421 4.7.0 Try again later');
    await relay.setMode('closed');
    expect(await send(relay.url, 'b@any.test')).toMatch(/ECONNREFUSED/);
    await relay.setMode('throttle');
    expect(await send(relay.url, 'c@any.test')).toMatch(/^250/);
    expect(relay.stats()['any.test']).toMatchObject({ accepted: 1, refused: 1 });
    expect(relay.messages.map((message) => message.to)).toEqual([['c@any.test']]);
    expect(relay.messages[0]?.raw).toContain('relay test');
  });
});

describe('the throttling relay, as its own process', () => {
  let relay: RelayProcess | undefined;
  afterEach(async () => relay?.stop());

  it('prints its port and stats lines, and takes commands on stdin', async () => {
    relay = await startRelayProcess({
      args: ['--limits', 'a.test=2/s', '--stats-ms', '200'],
      env: { RELAY_DEFAULT_LIMIT: '50' },
    });
    expect(relay.url).toBe(`smtp://127.0.0.1:${relay.port}`);
    await startOfSecond();
    const replies = await Promise.all(['x', 'y', 'z'].map((name) => send(relay!.url, `${name}@a.test`)));
    expect(replies.filter((reply) => reply.startsWith('421'))).toHaveLength(1);

    await relay.command({ cmd: 'limit', domain: 'a.test', perSecond: 10 });
    await startOfSecond();
    const after = await Promise.all(['x', 'y', 'z'].map((name) => send(relay!.url, `${name}@a.test`)));
    expect(after.every((reply) => reply.startsWith('250'))).toBe(true);

    const stats = await relay.stats();
    expect(stats.domains['a.test']).toMatchObject({ limit: 10, accepted: 5, refused: 1 });
    expect(stats.domains['a.test']?.series?.reduce((sum, counts) => sum + counts.accepted, 0)).toBe(5);
    await sleep(300);
    const periodic = relay.lines.at(-1);
    expect(periodic?.domains['a.test']).toMatchObject({ limit: 10, accepted: 5, refused: 1 });
    expect(periodic?.domains['a.test']?.last).toBeDefined();

    await expect(relay.command({ cmd: 'mode', mode: 'sideways' as 'closed' })).rejects.toThrow(/mode must be one of/);
    await relay.command({ cmd: 'mode', mode: 'refuse-all' });
    expect(await send(relay.url, 'w@b.test')).toBe('421 4.7.0 Try again later');
    await relay.command({ cmd: 'reset' });
    expect((await relay.stats()).domains).toEqual({});
  });

  it('refuses bad settings, naming them', async () => {
    await expect(startRelayProcess({ env: { RELAY_LIMITS: 'a.test=fast' } })).rejects.toThrow(
      /RELAY_LIMITS: entry 1 "a.test=fast"/,
    );
  });
});
