import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminSessions } from '../../src/admin/sessions.ts';
import { EditionDesk } from '../../src/editions/edition-desk.ts';
import { EditionRenderer } from '../../src/editions/render.ts';
import { EmailTemplates, TEMPLATES_DIR } from '../../src/platform/email-template.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { type Harness, publishedForToday, startHarness } from '../support/harness.ts';

const EDITION = '2020-02-25';

/**
 * When an edition truly cannot become email, it fails at the cut-off, before any recipient is
 * claimed, and says why in the admin API, the console and the log; a test send says what the SMTP
 * server really answered.
 */
describe('an edition that cannot be composed', () => {
  let h: Harness;
  let templates: string;
  const logs: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ captureLogs: true });
    const { id } = await h.app.subscribers.create('reader@example.test', { email: 'reader@example.test' });
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    await h.app.intake.ingest(
      { url: 'https://news.example.org/a', title: 'A story', publishedAt: `${EDITION}T12:00:00Z` },
      'admin',
    );
    // A digest template that places a value an edition does not have (a confirmation link).
    templates = mkdtempSync(join(tmpdir(), 'digest-templates-'));
    cpSync(TEMPLATES_DIR, templates, { recursive: true });
    const digest = join(templates, 'digest.mjml');
    writeFileSync(
      digest,
      readFileSync(digest, 'utf8').replace(
        '</mj-body>',
        `<mj-section><mj-column><mj-text><a href="{{personal 'confirm_url'}}">x</a></mj-text></mj-column></mj-section></mj-body>`,
      ),
    );
    const desk = new EditionDesk({
      store: h.app.editions,
      articles: h.app.articles,
      renderer: new EditionRenderer(new EmailTemplates({ dir: templates }), {
        newsletterName: 'Evening Digest',
        publicUrl: h.app.config.PUBLIC_URL,
        timeZone: 'UTC',
        tracking: false,
      }),
      schedule: h.app.schedule,
      rules: { sectionCap: 6, maxArticles: 30 },
      editorial: {
        minArticles: 1,
        freshHours: 6,
        approval: 'none',
        approvalDeadlineMinutes: 60,
        approvalFallback: 'hold',
        deliveryDeadlineMinutes: 60,
      },
      delivery: { start: async () => 'started', finished: async () => true },
      checkComposition: (edition) => h.app.messages.checkEdition(edition),
      alerts: h.app.alerts,
      clock: h.app.clock,
      logger: createLogger('test', 'info', { write: (line: string) => void logs.push(line) }),
    });
    await desk.runDue(new Date(`${EDITION}T18:30:05Z`));
  });
  afterAll(async () => {
    await h?.close();
    rmSync(templates, { recursive: true, force: true });
  });

  it('is stored as failed with the reason, and nobody is claimed or queued', async () => {
    const edition = await h.app.editions.get(EDITION);
    expect(edition?.status).toBe('failed');
    expect(edition?.error).toContain('places confirm_url, which an edition has no value for');
    expect(await h.app.ledger.counts(EDITION)).toMatchObject({ queued: 0, sending: 0, sent: 0 });
    expect(await h.app.deliveryQueue.getJobCounts('waiting', 'active', 'delayed')).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
    });
  });

  it('says so in the admin API, the console and the log', async () => {
    const api = await h.server.inject({ method: 'GET', url: `/admin/editions/${EDITION}`, headers: h.admin });
    expect(api.json()).toMatchObject({
      status: 'failed',
      finished: true,
      error: expect.stringContaining('confirm_url'),
    });
    const session = await new AdminSessions(h.app.redis, h.app.keys, h.app.config.ADMIN_TOKEN, '').create('editor');
    const page = await h.server.inject({
      method: 'GET',
      url: `/console/editions/${EDITION}`,
      cookies: { digest_session: session.id },
    });
    expect(page.body).toContain('Not sent: the edition cannot be composed: the digest template places confirm_url');
    const line = logs
      .map((text) => JSON.parse(text) as { msg: string; edition?: string; error?: string })
      .find((entry) => entry.msg.startsWith('edition cannot be composed'));
    expect(line).toMatchObject({ edition: EDITION, error: expect.stringContaining('confirm_url') });
  });

  it('is not resent, and a later run leaves it as it is', async () => {
    const resend = await h.server.inject({
      method: 'POST',
      url: `/admin/editions/${EDITION}/resend`,
      headers: h.admin,
      payload: { all: true },
    });
    expect(resend.statusCode).toBe(409);
    await h.app.desk.runDue(new Date(`${EDITION}T18:31:05Z`));
    expect((await h.app.editions.get(EDITION))?.status).toBe('failed');
    expect(h.sink.messages.filter((message) => message.raw.includes('X-Edition:'))).toHaveLength(0);
  });
});

describe('a test send', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: false });
    await h.app.intake.ingest(
      {
        url: 'https://news.example.org/b',
        title: 'Tonight',
        publishedAt: await publishedForToday(h, 60_000, 'preview'),
      },
      'admin',
    );
  });
  afterAll(async () => h?.close());

  it('reports what the SMTP server answered, refusal or acceptance', async () => {
    const session = await new AdminSessions(h.app.redis, h.app.keys, h.app.config.ADMIN_TOKEN, '').create('editor');
    const send = async (to: string) => {
      const response = await h.server.inject({
        method: 'POST',
        url: '/console/test-send',
        cookies: { digest_session: session.id },
        payload: `_csrf=${session.csrf}&to=${encodeURIComponent(to)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(response.statusCode).toBe(303);
      return decodeURIComponent(String(response.headers.location).replace('/console?notice=', ''));
    };
    h.sink.policy.rcpt = (address) =>
      address === 'gone@example.test' ? { code: 550, message: '5.1.1 No such user' } : null;
    expect(await send('gone@example.test')).toMatch(/^Test not sent to gone@example\.test: 550 5\.1\.1 No such user/);
    expect(h.sink.to('gone@example.test')).toHaveLength(0);
    expect(await send('editor@example.test')).toMatch(
      /^Test sent to editor@example\.test \(250 .*Ok: queued as SINK\d+\)\.$/,
    );
    expect(h.sink.to('editor@example.test')).toHaveLength(1);
  });
});
