import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBounceListener, type BounceListener } from '../../src/feedback/bounce-listener.ts';
import { arfComplaint, deliverBySmtp, postfixDsn } from '../support/feedback-mail.ts';
import { FEEDBACK_EDITION, listenOnLoopback, sendEditionTo } from '../support/feedback-rig.ts';
import { ADMIN_TOKEN, type Harness, startHarness, transactionalIdle, waitFor } from '../support/harness.ts';
import { freePort } from '../support/redis-server.ts';
import {
  RELAY_ENV,
  type RelayRequest,
  sendgridRequest,
  sesBounce,
  sesComplaint,
  sesRequest,
} from '../support/relay-payloads.ts';
import type { ReceivedMessage } from '../support/smtp-sink.ts';
import { SnsPeer } from '../support/sns-peer.ts';
import { WebhookServer } from '../support/webhook-server.ts';

const EDITION = FEEDBACK_EDITION;
const READERS = [
  'ses-then-arf@example.test',
  'arf-then-ses@example.test',
  'dsn-then-ses@example.test',
  'ses-then-dsn@example.test',
  'race@example.test',
  'kept@example.test',
];

/** A console session for GET pages: the login form's token and cookie, then the admin token as password. */
async function consoleCookie(h: Harness): Promise<string> {
  const form = await h.server.inject({ method: 'GET', url: '/console/login' });
  const login = form.cookies.find((cookie) => cookie.name === 'digest_login')?.value ?? '';
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const response = await h.server.inject({
    method: 'POST',
    url: '/console/login',
    cookies: { digest_login: login },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, name: 'admin', password: ADMIN_TOKEN }).toString(),
  });
  const session = response.cookies.find((cookie) => cookie.name === 'digest_session')?.value;
  if (!session) throw new Error(`no console session: ${response.statusCode}`);
  return session;
}

/**
 * The same suppression told by two channels (a relay's webhook and a report by mail) in either order,
 * or by one channel many times at once, is applied once; the edition's figures count each reader
 * once; admins see it per edition and per reader in the admin API and the console.
 */
describe('feedback from several sources, as admins see it', () => {
  let h: Harness;
  let listener: BounceListener;
  let port: number;
  let base: string;
  const sns = new SnsPeer();
  const desk = new WebhookServer();
  let sent: Record<string, ReceivedMessage> = {};
  const idOf = async (email: string) => (await h.app.subscribers.findIdByEmail(email))!;
  const transitions = async (email: string) =>
    (await h.app.subscribers.history(await idOf(email))).filter((event) => event.from !== event.to);
  const viaWebhook = async (request: RelayRequest) => {
    const response = await fetch(`${base}/feedback/ses`, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
    });
    expect(response.status).toBe(202);
    await transactionalIdle(h);
  };
  const viaMail = async (envelope: { from: string; to: string[] }, raw: string) => {
    await deliverBySmtp(port, envelope, raw);
    await transactionalIdle(h);
  };
  const sesComplaintAbout = (email: string, messageId = `${email}-complaint`) =>
    sesRequest(sesComplaint(email, { source: sent[email]!.from }), { messageId });
  const arfAbout = (email: string) =>
    viaMail(
      { from: 'feedback@arf.mail.yahoo.com', to: ['fbl@bounces.example.test'] },
      arfComplaint(sent[email]!, { recipient: email, style: 'yahoo' }),
    );
  const sesBounceAbout = (email: string) =>
    sesRequest(
      sesBounce({ email, status: '5.1.1', diagnostic: '550 5.1.1 user unknown' }, { source: sent[email]!.from }),
    );
  const dsnAbout = (email: string) =>
    viaMail(
      { from: '', to: [sent[email]!.from] },
      postfixDsn(sent[email]!, { recipient: email, status: '5.1.1', diagnostic: '550 5.1.1 user unknown' }),
    );

  beforeAll(async () => {
    await Promise.all([sns.start(), desk.start()]);
    port = await freePort();
    h = await startHarness({
      env: {
        ...RELAY_ENV,
        BOUNCE_ADDRESS: 'bounces.example.test',
        BOUNCE_SMTP_PORT: String(port),
        BOUNCE_SMTP_HOST: '127.0.0.1',
        ALERT_WEBHOOK_URL: desk.url,
        COMPLAINT_RATE_ALERT: '0.2',
      },
      overrides: { snsFetch: sns.snsFetch },
    });
    listener = (await startBounceListener(h.app))!;
    base = await listenOnLoopback(h);
    sent = await sendEditionTo(h, READERS);
  });
  afterAll(async () => {
    await listener?.close();
    await h?.close();
    await Promise.all([sns.stop(), desk.stop()]);
  });

  it('a complaint told by SES and by ARF, in either order, marks the reader complained once', async () => {
    await viaWebhook(sesComplaintAbout('ses-then-arf@example.test'));
    await arfAbout('ses-then-arf@example.test');
    await arfAbout('arf-then-ses@example.test');
    await viaWebhook(sesComplaintAbout('arf-then-ses@example.test'));
    for (const email of ['ses-then-arf@example.test', 'arf-then-ses@example.test']) {
      expect((await transitions(email)).filter((event) => event.to === 'complained')).toEqual([
        expect.objectContaining({ from: 'confirmed', to: 'complained', by: 'bounce-report' }),
      ]);
      expect(await h.app.subscribers.get(await idOf(email))).toMatchObject({ state: 'complained' });
    }
  });

  it('a hard bounce told by a DSN and by SES, in either order, suppresses the reader once', async () => {
    await dsnAbout('dsn-then-ses@example.test');
    await viaWebhook(sesBounceAbout('dsn-then-ses@example.test'));
    await viaWebhook(sesBounceAbout('ses-then-dsn@example.test'));
    await dsnAbout('ses-then-dsn@example.test');
    for (const email of ['dsn-then-ses@example.test', 'ses-then-dsn@example.test']) {
      expect((await transitions(email)).filter((event) => event.to === 'bounced')).toHaveLength(1);
      expect(await h.app.subscribers.get(await idOf(email))).toMatchObject({ state: 'bounced' });
    }
  });

  it('the same report arriving many times at once is applied by exactly one of them', async () => {
    const request = sesComplaintAbout('race@example.test', 'race-message');
    const responses = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(`${base}/feedback/ses`, { method: 'POST', headers: request.headers, body: request.body }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual([202, 202, 202, 202, 202, 202]);
    await transactionalIdle(h);
    expect((await transitions('race@example.test')).filter((event) => event.to === 'complained')).toHaveLength(1);
    const totals = await h.app.feedbackStore.totals();
    expect(
      totals
        .filter((row) => row.source === 'ses' && row.kind === 'complaint')
        .map((row) => [row.outcome, row.count])
        .sort(),
    ).toEqual([
      ['already-suppressed', 1],
      ['duplicate', 5],
      ['suppressed', 2],
    ]);
  });

  it('a relay that gives back only our Message-ID (SendGrid) has its report counted against the edition', async () => {
    const messageId = /^Message-ID: <([^>]+)>\r$/m.exec(sent['kept@example.test']!.raw)?.[1];
    const deferred = {
      email: 'kept@example.test',
      timestamp: Math.floor(Date.now() / 1000),
      event: 'deferred',
      response: '452 4.2.2 Mailbox full',
      attempt: '2',
      sg_event_id: 'sg-deferred-kept',
      'smtp-id': `<${messageId}>`,
    };
    const request = sendgridRequest([deferred]);
    expect(
      (await fetch(`${base}/feedback/sendgrid`, { method: 'POST', headers: request.headers, body: request.body }))
        .status,
    ).toBe(202);
    await transactionalIdle(h);
    expect((await h.app.subscribers.history(await idOf('kept@example.test')))[0]?.reason).toBe(
      `soft bounce reported by sendgrid (4.2.2) for edition ${EDITION}: 452 4.2.2 Mailbox full`,
    );
  });

  it('GET /admin/editions/:id counts each reader once per kind, by code, with the complaint rate', async () => {
    const report = (
      await h.server.inject({
        method: 'GET',
        url: `/admin/editions/${EDITION}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json();
    expect(report.feedback).toEqual({
      readers: { hard: 2, soft: 1, complaint: 3, policy: 0, unsubscribe: 0 },
      byCode: [
        { kind: 'complaint', code: '', readers: 3 },
        { kind: 'hard', code: '5.1.1', readers: 2 },
        { kind: 'soft', code: '4.2.2', readers: 1 },
      ],
      complaintRate: 0.5,
    });
  });

  it('raises the complaint-rate alert once for the edition (COMPLAINT_RATE_ALERT 0.2), however many complaints follow', async () => {
    await waitFor(async () => desk.of(EDITION, 'complaint-rate').length > 0, 'the alert');
    expect(desk.of(EDITION, 'complaint-rate')).toEqual([
      {
        edition: EDITION,
        kind: 'complaint-rate',
        event: 'raised',
        text: `Edition ${EDITION}: 2 of 6 readers marked it as spam (33.33 %), above COMPLAINT_RATE_ALERT (20 %); Gmail asks bulk senders to stay under 0.3 %.`,
      },
    ]);
  });

  it("GET /admin/subscribers/:email lists the reader's reports with what each did", async () => {
    const record = (
      await h.server.inject({
        method: 'GET',
        url: '/admin/subscribers/arf-then-ses@example.test',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json();
    expect(
      record.feedback.map((report: { source: string; kind: string; outcome: string; edition: string }) => [
        report.source,
        report.kind,
        report.outcome,
        report.edition,
      ]),
    ).toEqual([
      ['ses', 'complaint', 'already-suppressed', EDITION],
      ['arf', 'complaint', 'suppressed', EDITION],
    ]);
    expect(record.history[0]).toMatchObject({
      from: 'complained',
      to: 'complained',
      reason: expect.stringMatching(/^complaint reported by ses .*\(already-suppressed\)$/),
    });
  });

  it("the console shows them on the edition page and the reader's page", async () => {
    const cookies = { digest_session: await consoleCookie(h) };
    const edition = await h.server.inject({ method: 'GET', url: `/console/editions/${EDITION}`, cookies });
    expect(edition.statusCode).toBe(200);
    expect(edition.body).toContain('<h2>Bounces and complaints</h2>');
    expect(edition.body).toMatch(/<b id="feedback-complaint">3<\/b>/);
    expect(edition.body).toMatch(/<b id="feedback-hard">2<\/b>/);
    expect(edition.body).toContain('Complaint rate: <strong>50.000 %</strong>');
    expect(edition.body).toMatch(/<td>hard bounces<\/td><td>5\.1\.1<\/td><td>2<\/td>/);
    const reader = await h.server.inject({
      method: 'GET',
      url: `/console/subscribers/${await idOf('dsn-then-ses@example.test')}`,
      cookies,
    });
    expect(reader.body).toMatch(
      /<table id="feedback">[^]*<td>ses<\/td><td>hard<\/td><td>5\.1\.1<\/td><td>2020-02-25<\/td>[^]*<td>already-suppressed<\/td>[^]*<td>dsn<\/td><td>hard<\/td>[^]*<td>suppressed<\/td>/,
    );
  });

  it("a remote server's words are shown as text on the console, never as markup", async () => {
    const hostile = '452 4.2.2 <script>alert(1)</script><img src=x onerror=alert(2)> mailbox full';
    await viaWebhook(
      sesRequest(
        sesBounce(
          { email: 'kept@example.test', status: '4.2.2', diagnostic: hostile },
          { source: sent['kept@example.test']!.from },
          'Transient',
          'MailboxFull',
        ),
      ),
    );
    const page = (
      await h.server.inject({
        method: 'GET',
        url: `/console/subscribers/${await idOf('kept@example.test')}`,
        cookies: { digest_session: await consoleCookie(h) },
      })
    ).body;
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; mailbox full');
    expect(page).not.toMatch(/<script>alert|<img src=x/);
  });
});
