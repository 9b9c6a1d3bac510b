import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { editorActions } from '../../src/admin/editor-actions.ts';
import { type Harness, startHarness, transactionalIdle, waitFor } from '../support/harness.ts';
import { WebhookServer } from '../support/webhook-server.ts';

/**
 * The editorial day (issue 9) with a real Redis, PostgreSQL, SMTP sink and a real HTTP server
 * receiving the desk's alerts. The scheduler's ticks are `desk.runDue(at)` at chosen moments, and
 * each harness's clock (CLOCK_START) is where an editor's action happens: nothing sleeps until 22:58.
 */
const READERS = ['ann@example.test', 'ben@example.test'];
const ALERT_EMAIL = 'desk@example.test';

async function world(env: Record<string, string>): Promise<{ h: Harness; hook: WebhookServer }> {
  const hook = await new WebhookServer().start();
  const h = await startHarness({ env: { ALERT_WEBHOOK_URL: hook.url, ...env } });
  for (const email of READERS) {
    const { id } = await h.app.subscribers.create(email, { email });
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
  }
  return { h, hook };
}

const copies = (h: Harness, edition: string, email: string) =>
  h.sink.to(email).filter((message) => message.raw.includes(`X-Edition: ${edition}`));
const editionMails = (h: Harness) => h.sink.messages.filter((message) => message.raw.includes('X-Edition:'));
const publish = async (h: Harness, slug: string, publishedAt: string) => {
  const result = await h.app.intake.ingest(
    { url: `https://news.example.org/${slug}`, title: `Story ${slug}`, publishedAt },
    'admin',
  );
  if (!result.ok) throw new Error(`article refused: ${result.issues.join('; ')}`);
  return result.key;
};
const delivered = (h: Harness, edition: string) =>
  waitFor(
    async () =>
      (await h.app.deliveries.progress(edition))?.finished &&
      (await h.app.deliveries.progress(edition))?.counts.sent === READERS.length,
    `edition ${edition} delivered`,
  );
const admin = (h: Harness, path: string, payload: Record<string, unknown> = {}) =>
  h.server.inject({ method: 'POST', url: path, headers: h.admin, payload });

describe('the editorial day', () => {
  const worlds: Array<{ h: Harness; hook: WebhookServer }> = [];
  const open = async (env: Record<string, string>) => {
    const created = await world(env);
    worlds.push(created);
    return created;
  };
  afterEach(async () => {
    for (const { h, hook } of worlds.splice(0)) {
      await h.close();
      await hook.stop();
    }
  });

  it('holds an edition with no articles at 22:58 (one alert), sends it once an article for its window arrives, then says resolved', async () => {
    const { h, hook } = await open({ CLOCK_START: '2020-03-02T22:58:00Z', ALERT_EMAIL });
    const edition = '2020-03-02';
    expect((await h.app.desk.runDue(new Date('2020-03-02T22:58:00Z')))?.status).toBe('held');
    expect((await h.app.editions.get(edition))?.holdReason).toBe('too-few-articles');
    await waitFor(async () => hook.of(edition, 'held').length === 1, 'the held alert at the webhook');
    await waitFor(async () => h.sink.to(ALERT_EMAIL).length === 1, 'the held alert by email');
    // The scheduler looks every minute: the desk is not told again.
    await h.app.desk.runDue(new Date('2020-03-02T22:59:00Z'));
    await h.app.desk.runDue(new Date('2020-03-02T23:00:00Z'));
    await transactionalIdle(h);
    expect(hook.of(edition)).toEqual([
      expect.objectContaining({
        kind: 'held',
        event: 'raised',
        text: expect.stringContaining('0 of the 1 article it needs'),
      }),
    ]);
    expect(editionMails(h)).toHaveLength(0);
    const status = await h.server.inject({ method: 'GET', url: '/admin/editions/current', headers: h.admin });
    expect(status.json()).toMatchObject({
      id: edition,
      status: 'held',
      holdReason: 'too-few-articles',
      actions: ['send', 'skip'],
    });

    // A wire item published before the cut-off, polled at 23:04: it counts.
    const late = await publish(h, 'wire-item', '2020-03-02T18:10:00Z');
    // Handed to delivery (a small edition may already be delivered when runDue reads it back).
    expect(['sending', 'sent']).toContain((await h.app.desk.runDue(new Date('2020-03-02T23:05:00Z')))?.status);
    await delivered(h, edition);
    for (const email of READERS) expect(copies(h, edition, email)).toHaveLength(1);
    await waitFor(async () => hook.of(edition, 'held').length === 2, 'the resolved notice');
    expect(hook.of(edition, 'held')[1]).toMatchObject({ event: 'resolved', text: expect.stringContaining('Resolved') });
    expect((await h.app.articles.get(late))?.editionId).toBe(edition);
    // Sent as soon as its last recipient is settled, by the worker that settled it: no scheduler tick needed.
    await waitFor(
      async () => (await h.app.editions.get(edition))?.status === 'sent',
      'the edition sent within seconds of its last settle',
      5_000,
    );
    expect(
      (await h.app.editions.events(edition)).map(
        (event) => `${event.by}: ${event.action} ${event.from ?? '-'}→${event.to}`,
      ),
    ).toEqual([
      'scheduler: cut -→held',
      'scheduler: held held→held',
      'scheduler: sent held→ready',
      'scheduler: delivery started ready→sending',
      'worker: delivered sending→sent',
    ]);

    // One alert per kind, counted for Prometheus.
    const metrics = await h.server.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('digest_alerts{kind="held",state="raised"} 1');
    expect(metrics.body).toContain('digest_alerts{kind="held",state="resolved"} 1');
  });

  it('keeps windows gapless: a late item for a sent window goes to the next edition, no article is in two', async () => {
    const { h } = await open({ CLOCK_START: '2020-03-03T19:00:00Z' });
    const first = await publish(h, 'first', '2020-03-02T12:00:00Z');
    await h.app.desk.runDue(new Date('2020-03-02T18:30:05Z'));
    await delivered(h, '2020-03-02');
    // Published before the first cut-off, but only polled after that edition went out.
    const late = await publish(h, 'late', '2020-03-02T18:20:00Z');
    const next = await publish(h, 'next', '2020-03-03T12:00:00Z');
    await h.app.desk.runDue(new Date('2020-03-03T18:30:05Z'));
    await delivered(h, '2020-03-03');
    expect((await h.app.editions.get('2020-03-02'))?.articleKeys).toEqual([first]);
    expect([...((await h.app.editions.get('2020-03-03'))?.articleKeys ?? [])].sort()).toEqual([late, next].sort());
    const text = (await h.sink.parsed(copies(h, '2020-03-03', READERS[0]!)[0]!)).text ?? '';
    expect(text).toContain('Story late');
    expect(text).not.toContain('Story first');
  });

  it('past its freshness, an edition waits for an editor: sent late through the API, or skipped with its articles going to the next one', async () => {
    const { h, hook } = await open({ CLOCK_START: '2020-03-05T01:00:00Z', DIGEST_FRESH_HOURS: '6' });
    await h.app.desk.runDue(new Date('2020-03-04T18:30:05Z'));
    const article = await publish(h, 'overnight', '2020-03-04T17:00:00Z');
    // 6.5 hours after the cut-off: the article would qualify it, but it is stale now.
    await h.app.desk.runDue(new Date('2020-03-05T01:00:00Z'));
    expect(await h.app.editions.get('2020-03-04')).toMatchObject({ status: 'held', holdReason: 'stale' });
    await waitFor(async () => hook.of('2020-03-04', 'stale').length === 1, 'the stale alert');
    expect(hook.of('2020-03-04', 'stale')[0]?.text).toContain('an editor must send it late or skip it');
    expect(editionMails(h)).toHaveLength(0);

    const sent = await admin(h, '/admin/editions/2020-03-04/send');
    expect(sent.statusCode).toBe(200);
    expect(sent.json()).toMatchObject({ id: '2020-03-04', status: 'sending', actions: [] });
    await delivered(h, '2020-03-04');
    expect((await h.app.editions.events('2020-03-04')).find((event) => event.action === 'sent late')).toMatchObject({
      by: 'admin-api',
      from: 'held',
      to: 'ready',
    });
    expect((await h.app.articles.get(article))?.editionId).toBe('2020-03-04');
    // Sending it again is refused.
    expect((await admin(h, '/admin/editions/2020-03-04/send')).statusCode).toBe(409);
  });

  it('skips an edition (who, why, alerted), reopens it while fresh, and a skipped window goes to the next edition', async () => {
    const { h, hook } = await open({ CLOCK_START: '2020-03-10T19:00:00Z', DIGEST_MIN_ARTICLES: '2' });
    const monday = await publish(h, 'monday', '2020-03-09T12:00:00Z');
    await h.app.desk.runDue(new Date('2020-03-09T18:30:05Z'));
    expect(await h.app.editions.get('2020-03-09')).toMatchObject({ status: 'held', holdReason: 'too-few-articles' });
    const skipped = await admin(h, '/admin/editions/2020-03-09/skip', { reason: 'a quiet Monday' });
    expect(skipped.json()).toMatchObject({ status: 'skipped', actions: [] });
    await waitFor(async () => hook.of('2020-03-09', 'skipped').length === 1, 'the skipped alert');
    expect(hook.of('2020-03-09', 'skipped')[0]?.text).toContain('skipped by admin-api: a quiet Monday');
    expect((await h.app.editions.events('2020-03-09')).at(-1)).toMatchObject({
      by: 'admin-api',
      action: 'skipped',
      note: 'a quiet Monday',
      to: 'skipped',
    });

    // Tuesday's cut-off: its edition takes Monday's article as well.
    const tuesday = await publish(h, 'tuesday', '2020-03-10T12:00:00Z');
    await h.app.desk.runDue(new Date('2020-03-10T18:30:05Z'));
    await delivered(h, '2020-03-10');
    expect([...((await h.app.editions.get('2020-03-10'))?.articleKeys ?? [])].sort()).toEqual([monday, tuesday].sort());

    // Reopening is for the latest edition while it is fresh: Monday's window is Tuesday's now.
    expect((await admin(h, '/admin/editions/2020-03-09/reopen')).statusCode).toBe(409);
  });

  it("keeps an editor's skip reason as one line, however it came (a NUL byte or a line break becomes a space)", async () => {
    const { h } = await open({ CLOCK_START: '2020-03-10T19:00:00Z', DIGEST_MIN_ARTICLES: '2' });
    await publish(h, 'monday', '2020-03-09T12:00:00Z');
    await h.app.desk.runDue(new Date('2020-03-09T18:30:05Z'));
    // What the console calls with the form's reason, unfiltered.
    const skip = editorActions(h.app.desk, 'console:admin', 'quiet\u0000Monday\r\nBcc: victim@example.test').skip;
    expect(await skip?.('2020-03-09')).toMatchObject({ ok: true });
    expect((await h.app.editions.events('2020-03-09')).at(-1)).toMatchObject({
      by: 'console:admin',
      action: 'skipped',
      note: 'quiet Monday Bcc: victim@example.test',
    });
  });

  it('reopens a skipped edition while it is fresh; it goes out when it qualifies', async () => {
    const { h, hook } = await open({ CLOCK_START: '2020-03-11T19:00:00Z' });
    await h.app.desk.runDue(new Date('2020-03-11T18:30:05Z'));
    expect((await admin(h, '/admin/editions/2020-03-11/skip', { reason: 'by mistake' })).json()).toMatchObject({
      status: 'skipped',
      actions: ['reopen'],
    });
    const reopened = await admin(h, '/admin/editions/2020-03-11/reopen');
    expect(reopened.json()).toMatchObject({ status: 'held', holdReason: 'too-few-articles' });
    await waitFor(
      async () => hook.of('2020-03-11', 'skipped').some((notice) => notice.event === 'resolved'),
      'the skip resolved',
    );
    await publish(h, 'after-reopen', '2020-03-11T18:00:00Z');
    await h.app.desk.runDue(new Date('2020-03-11T19:01:00Z'));
    await delivered(h, '2020-03-11');
  });

  it('with approval required, sends nothing before an editor approves; an edition approved ahead of its cut-off goes out at the cut-off', async () => {
    const { h, hook } = await open({ CLOCK_START: '2020-03-16T18:40:00Z', DIGEST_APPROVAL: 'required' });
    await publish(h, 'needs-approval', '2020-03-16T12:00:00Z');
    await h.app.desk.runDue(new Date('2020-03-16T18:30:05Z'));
    await h.app.desk.runDue(new Date('2020-03-16T18:35:00Z'));
    expect(await h.app.editions.get('2020-03-16')).toMatchObject({ status: 'held', holdReason: 'awaiting-approval' });
    await waitFor(async () => hook.of('2020-03-16', 'awaiting-approval').length === 1, 'the approval alert');
    await transactionalIdle(h);
    expect(editionMails(h)).toHaveLength(0);

    const approved = await admin(h, '/admin/editions/2020-03-16/approve');
    expect(approved.statusCode).toBe(200);
    await delivered(h, '2020-03-16');
    for (const email of READERS) expect(copies(h, '2020-03-16', email)).toHaveLength(1);
    expect((await h.app.editions.events('2020-03-16')).find((event) => event.action === 'approved')).toMatchObject({
      by: 'admin-api',
    });

    // Tomorrow's edition, approved this evening: it goes out at its cut-off without waiting.
    expect((await admin(h, '/admin/editions/2020-03-17/approve')).json()).toMatchObject({ status: 'approved' });
    await publish(h, 'tomorrow', '2020-03-17T12:00:00Z');
    await h.app.desk.runDue(new Date('2020-03-17T18:30:05Z'));
    await delivered(h, '2020-03-17');
    expect((await h.app.editions.events('2020-03-17')).map((event) => event.action).slice(0, 3)).toEqual([
      'approved',
      'sent',
      'delivery started',
    ]);
  });

  it('with approval required and the fallback "send", sends at the deadline and tells the desk', async () => {
    const { h, hook } = await open({
      CLOCK_START: '2020-03-16T20:00:00Z',
      DIGEST_APPROVAL: 'required',
      DIGEST_APPROVAL_DEADLINE_MINUTES: '30',
      DIGEST_APPROVAL_FALLBACK: 'send',
    });
    await publish(h, 'no-one-approves', '2020-03-16T12:00:00Z');
    await h.app.desk.runDue(new Date('2020-03-16T18:30:05Z'));
    expect((await h.app.editions.get('2020-03-16'))?.holdReason).toBe('awaiting-approval');
    await h.app.desk.runDue(new Date('2020-03-16T19:01:00Z'));
    await delivered(h, '2020-03-16');
    await waitFor(async () => hook.of('2020-03-16', 'approval-deadline').length === 1, 'the deadline alert');
    expect(hook.of('2020-03-16', 'approval-deadline')[0]?.text).toContain('went out without approval');
  });

  it('raises one alert when delivery is not finished by its deadline, retries the webhook while it is down, and resolves it once delivered', async () => {
    const { h, hook } = await open({ CLOCK_START: '2020-03-20T19:00:00Z', DIGEST_DELIVERY_DEADLINE_MINUTES: '5' });
    await publish(h, 'slow', '2020-03-20T12:00:00Z');
    await h.app.deliveryQueue.pause();
    await h.app.desk.runDue(new Date('2020-03-20T18:30:05Z'));
    hook.failNext = 3;
    await h.app.desk.runDue(new Date('2020-03-20T18:40:00Z'));
    await h.app.desk.runDue(new Date('2020-03-20T18:41:00Z'));
    await waitFor(
      async () => hook.of('2020-03-20', 'delivery-late').length === 1,
      'the delivery alert, after the webhook came back',
      20_000,
    );
    expect(hook.requests).toBeGreaterThanOrEqual(4);
    expect(hook.of('2020-03-20', 'delivery-late')[0]?.text).toContain(
      'not fully delivered 5 minutes after it started sending',
    );
    await h.app.deliveryQueue.resume();
    await delivered(h, '2020-03-20');
    await h.app.desk.runDue(new Date('2020-03-20T18:42:00Z'));
    expect((await h.app.editions.get('2020-03-20'))?.status).toBe('sent');
    await waitFor(async () => hook.of('2020-03-20', 'delivery-late').length === 2, 'the resolved notice');
    await transactionalIdle(h);
    expect(hook.of('2020-03-20', 'delivery-late').map((notice) => notice.event)).toEqual(['raised', 'resolved']);
  });
});

describe('the editorial day from the CLI', () => {
  let h: Harness;
  beforeAll(async () => {
    ({ h } = await world({}));
  });
  afterAll(async () => h?.close());

  it('is reported by `digest status` and acted on by `digest skip`', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { join } = await import('node:path');
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'digest.js');
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      REDIS_URL: h.app.config.redisUrl,
      DATABASE_URL: h.app.config.DATABASE_URL,
      REDIS_PREFIX: h.app.config.REDIS_PREFIX,
      SMTP_URL: 'smtp://127.0.0.1:9',
      CLOCK_START: '2020-03-23T19:00:00Z',
      APP_SECRET: h.app.config.APP_SECRET,
      ADMIN_TOKEN: h.app.config.ADMIN_TOKEN,
    };
    const digest = (args: string[]) => promisify(execFile)(process.execPath, [bin, ...args], { env });
    await h.app.desk.runDue(new Date('2020-03-23T18:30:05Z'));
    const status = await digest(['status']);
    expect(status.stderr).toContain('Edition 2020-03-23: Held: too few articles yet');
    expect(status.stderr).toContain('Editors can: send, skip');
    expect(JSON.parse(status.stdout)).toMatchObject({ id: '2020-03-23', status: 'held' });
    await expect(digest(['skip', '--edition', '2020-03-23'])).rejects.toMatchObject({ code: 64 });
    const skipped = await digest(['skip', '--edition', '2020-03-23', '--reason', 'no news is good news']);
    expect(skipped.stderr).toContain('Skipped by cli:');
    expect(await h.app.editions.get('2020-03-23')).toMatchObject({ status: 'skipped' });
  });
});
