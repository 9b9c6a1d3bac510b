import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from '../support/harness.ts';

/**
 * Issue 27: `digest skip --edition <tomorrow>` then `digest reopen --edition <tomorrow>` left the
 * edition held, and the next article made the scheduler send it 22.5 hours before its cut-off. Here
 * the same sequence, through the CLI and the admin API, with a real Redis, PostgreSQL and SMTP sink.
 */
const NOON = '2020-04-06T12:00:00Z';
const TODAY = '2020-04-06';
const TOMORROW = '2020-04-07';
const READER = 'ann@example.test';
const bin = join(import.meta.dirname, '..', '..', 'bin', 'digest.js');

describe("tomorrow's edition, skipped and reopened", () => {
  let h: Harness;
  const digest = (args: string[]) =>
    promisify(execFile)(process.execPath, [bin, ...args], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        REDIS_URL: h.app.config.redisUrl,
        DATABASE_URL: h.app.config.DATABASE_URL,
        REDIS_PREFIX: h.app.config.REDIS_PREFIX,
        SMTP_URL: 'smtp://127.0.0.1:9',
        CLOCK_START: NOON,
        APP_SECRET: h.app.config.APP_SECRET,
        ADMIN_TOKEN: h.app.config.ADMIN_TOKEN,
      },
    });
  const post = (path: string, payload: unknown = {}) =>
    h.server.inject({ method: 'POST', url: path, headers: h.admin, payload: payload as Record<string, unknown> });
  const mailsOf = (edition: string) =>
    h.sink.messages.filter((message) => message.raw.includes(`X-Edition: ${edition}`));
  const delivered = (edition: string) =>
    waitFor(async () => (await h.app.editions.get(edition))?.status === 'sent', `edition ${edition} sent`);

  beforeAll(async () => {
    h = await startHarness({ env: { CLOCK_START: NOON, DIGEST_CRON: '30 18 * * *' } });
    const { id } = await h.app.subscribers.create(READER, { email: READER });
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
  });
  afterAll(async () => h?.close());

  it('stays open until its cut-off: an article and the scheduler do not send it early, and it goes out at its own cut-off', async () => {
    await digest(['skip', '--edition', TOMORROW, '--reason', 'a holiday, we thought']);
    expect(await h.app.editions.get(TOMORROW)).toMatchObject({ status: 'skipped' });
    const reopened = await digest(['reopen', '--edition', TOMORROW]);
    expect(reopened.stderr).toContain(`Edition ${TOMORROW}: Open: collecting articles until its cut-off`);
    const status = JSON.parse((await digest(['status', '--edition', TOMORROW])).stdout) as {
      status: string;
      holdReason: string | null;
      actions: string[];
    };
    expect(status).toMatchObject({ status: 'open', holdReason: null, actions: ['send', 'skip'] });

    // An article arrives and the scheduler sweeps: today's edition is the one it belongs to, tomorrow's waits.
    expect(
      (
        await post('/admin/articles', {
          url: 'https://news.example.org/monday',
          title: 'Monday',
          publishedAt: '2020-04-06T11:59:00Z',
        })
      ).statusCode,
    ).toBe(201);
    await h.app.desk.runDue(new Date('2020-04-06T12:01:00Z'));
    await h.app.desk.runDue(new Date('2020-04-06T18:29:00Z'));
    expect(await h.app.editions.get(TOMORROW)).toMatchObject({ status: 'open' });
    expect(mailsOf(TOMORROW)).toHaveLength(0);

    // Today's cut-off takes today's article; tomorrow's is still open after it.
    await h.app.desk.runDue(new Date('2020-04-06T18:30:05Z'));
    await delivered(TODAY);
    await h.app.desk.runDue(new Date('2020-04-07T09:00:00Z'));
    expect(await h.app.editions.get(TOMORROW)).toMatchObject({ status: 'open' });
    expect(mailsOf(TOMORROW)).toHaveLength(0);

    // Its own cut-off: cut, then sent with its own article.
    expect(
      (
        await post('/admin/articles', {
          url: 'https://news.example.org/tuesday',
          title: 'Tuesday',
          publishedAt: '2020-04-07T10:00:00Z',
        })
      ).statusCode,
    ).toBe(201);
    await h.app.desk.runDue(new Date('2020-04-07T18:30:05Z'));
    await delivered(TOMORROW);
    expect(mailsOf(TOMORROW)).toHaveLength(1);
    expect(mailsOf(TODAY)).toHaveLength(1);
    const events = await h.app.editions.events(TOMORROW);
    expect(events.map((event) => [event.action, event.from, event.to])).toEqual([
      ['skipped', null, 'skipped'],
      ['reopened', 'skipped', 'open'],
      ['cut', 'open', 'held'],
      ['sent', 'held', 'ready'],
      ['delivery started', 'ready', 'sending'],
      ['delivered', 'sending', 'sent'],
    ]);
    expect(events.find((event) => event.action === 'sent')?.at).toBe('2020-04-07T18:30:05.000Z');
  }, 90_000);

  it('restores a held edition to held for the same reason, and an approved one to approved', async () => {
    const world = await startHarness({
      env: { CLOCK_START: '2020-05-04T19:00:00Z', DIGEST_MIN_ARTICLES: '2', DIGEST_APPROVAL: 'required' },
    });
    try {
      const admin = (path: string, payload: Record<string, unknown> = {}) =>
        world.server.inject({ method: 'POST', url: path, headers: world.admin, payload });
      await world.app.desk.runDue(new Date('2020-05-04T18:30:05Z'));
      expect(await world.app.editions.get('2020-05-04')).toMatchObject({
        status: 'held',
        holdReason: 'too-few-articles',
      });
      expect((await admin('/admin/editions/2020-05-04/skip', { reason: 'quiet' })).json()).toMatchObject({
        status: 'skipped',
        actions: ['reopen'],
      });
      expect((await admin('/admin/editions/2020-05-04/reopen')).json()).toMatchObject({
        status: 'held',
        holdReason: 'too-few-articles',
      });

      expect((await admin('/admin/editions/2020-05-05/approve')).json()).toMatchObject({ status: 'approved' });
      expect((await admin('/admin/editions/2020-05-05/skip', { reason: 'changed our minds' })).json()).toMatchObject({
        status: 'skipped',
      });
      expect((await admin('/admin/editions/2020-05-05/reopen')).json()).toMatchObject({
        status: 'approved',
        actions: ['send', 'skip'],
      });
    } finally {
      await world.close();
    }
  });

  it('answers 404 for an edition that does not exist, whatever the action, and says what could not be done in words', async () => {
    for (const action of ['approve', 'send', 'skip', 'reopen']) {
      const answer = await post(`/admin/editions/2019-01-01/${action}`, { reason: 'x' });
      expect(answer.statusCode, action).toBe(404);
    }
    expect((await post('/admin/editions/2019-01-01/skip', { reason: 'x' })).json().error).toBe(
      'no edition 2019-01-01 that could be skipped now',
    );
    expect((await post('/admin/editions/2019-01-01/reopen')).json().error).toBe(
      'no edition 2019-01-01 that could be reopened now',
    );
    expect((await post(`/admin/editions/${TODAY}/reopen`)).json().error).toBe(
      `edition ${TODAY} is sent: it cannot be reopened now`,
    );
  });
});
