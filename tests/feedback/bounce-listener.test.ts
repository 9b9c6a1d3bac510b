import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBounceListener, type BounceListener } from '../../src/feedback/bounce-listener.ts';
import type { SubscriberState } from '../../src/subscribers/subscriber-store.ts';
import { arfComplaint, deliverBySmtp, postfixDsn, unsubscribeMail } from '../support/feedback-mail.ts';
import { FEEDBACK_EDITION, sendEditionTo } from '../support/feedback-rig.ts';
import { type Harness, startHarness, transactionalIdle, waitFor } from '../support/harness.ts';
import { freePort } from '../support/redis-server.ts';
import type { ReceivedMessage } from '../support/smtp-sink.ts';
import { WebhookServer } from '../support/webhook-server.ts';

const EDITION = FEEDBACK_EDITION;
const READERS = [
  'gone@gmail.test',
  'blocked@outlook.test',
  'full@example.test',
  'angry@yahoo.test',
  'jmrp@hotmail.test',
  'leaver@example.test',
  'kept@example.test',
];

/**
 * The bounce listener end to end: an edition goes out through the SMTP sink with VERP return paths;
 * reports about those very messages, written as Postfix, Yahoo and Microsoft write them, are delivered
 * to the listener by a real SMTP client; the worker applies them.
 */
describe('the bounce listener (BOUNCE_SMTP_PORT)', () => {
  let h: Harness;
  let listener: BounceListener;
  let port: number;
  const desk = new WebhookServer();
  let sent: Record<string, ReceivedMessage> = {};
  const idOf = async (email: string) => (await h.app.subscribers.findIdByEmail(email))!;
  const stateOf = async (email: string): Promise<SubscriberState | undefined> =>
    (await h.app.subscribers.get(await idOf(email)))?.state;
  const historyOf = async (email: string) => h.app.subscribers.history(await idOf(email));
  /** Delivers over SMTP, then waits until the worker has applied what the listener queued. */
  const deliver = async (envelope: { from: string; to: string[] }, raw: string) => {
    const answer = await deliverBySmtp(port, envelope, raw);
    await transactionalIdle(h);
    return answer;
  };
  const dsnFor = (email: string, status: string, diagnostic: string, id?: string) =>
    postfixDsn(sent[email]!, { recipient: email, status, diagnostic }, id);

  beforeAll(async () => {
    await desk.start();
    port = await freePort();
    h = await startHarness({
      env: {
        BOUNCE_ADDRESS: 'bounces.example.test',
        BOUNCE_SMTP_PORT: String(port),
        BOUNCE_SMTP_HOST: '127.0.0.1',
        ALERT_WEBHOOK_URL: desk.url,
      },
    });
    listener = (await startBounceListener(h.app))!;
    sent = await sendEditionTo(h, READERS);
  });
  afterAll(async () => {
    await listener?.close();
    await h?.close();
    await desk.stop();
  });

  it('a hard bounce (Postfix DSN, 5.1.1) to the VERP return path suppresses the reader as bounced', async () => {
    const answer = await deliver(
      { from: '', to: [sent['gone@gmail.test']!.from] },
      dsnFor(
        'gone@gmail.test',
        '5.1.1',
        '550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser - gsmtp',
      ),
    );
    expect(answer).toMatch(/^250 /);
    expect(await h.app.subscribers.get(await idOf('gone@gmail.test'))).toMatchObject({
      state: 'bounced',
      // The reply on one line, its repeated code dropped.
      suppressionReason: `hard bounce reported by dsn (5.1.1) for edition ${EDITION}: 550-5.1.1 The email account that you tried to reach does not exist. https://support.google.com/mail/?p=NoSuchUser - gsmtp`,
    });
  });

  it('the same DSN delivered again changes nothing', async () => {
    const raw = dsnFor('gone@gmail.test', '5.1.1', '550 5.1.1 user unknown', 'repeat-me');
    await deliver({ from: '', to: [sent['gone@gmail.test']!.from] }, raw);
    const history = await historyOf('gone@gmail.test');
    await deliver({ from: '', to: [sent['gone@gmail.test']!.from] }, raw);
    expect(await historyOf('gone@gmail.test')).toEqual(history);
    expect(history.filter((event) => event.to === 'bounced' && event.from === 'confirmed')).toHaveLength(1);
  });

  it("a policy block (Microsoft 550 5.7.515) keeps the reader and raises one policy-block alert for the edition and the reader's destination", async () => {
    const diagnostic =
      '550 5.7.515 Access denied, sending domain example.test does not meet the required authentication level.';
    await deliver(
      { from: '', to: [sent['blocked@outlook.test']!.from] },
      dsnFor('blocked@outlook.test', '5.7.515', diagnostic),
    );
    await deliver(
      { from: '', to: [sent['blocked@outlook.test']!.from] },
      dsnFor('blocked@outlook.test', '5.7.515', diagnostic),
    );
    expect(await stateOf('blocked@outlook.test')).toBe('confirmed');
    expect((await historyOf('blocked@outlook.test'))[0]?.reason).toBe(
      `policy block reported by dsn (5.7.515) for edition ${EDITION}: ${diagnostic} (address kept)`,
    );
    await waitFor(async () => desk.of(EDITION, 'policy-block').length > 0, 'the policy-block alert');
    expect(desk.of(EDITION, 'policy-block')).toEqual([
      {
        edition: EDITION,
        kind: 'policy-block',
        event: 'raised',
        text: expect.stringContaining('outlook.test refused our mail for policy (5.7.515), reported by dsn'),
      },
    ]);
    expect(
      (await h.app.alerts.ofEdition(EDITION))
        .filter((alert) => alert.kind === 'policy-block')
        .map((alert) => alert.about),
    ).toEqual(['outlook.test']);
  });

  it('policy blocks about none of our readers are told once for the edition, not once per domain they name', async () => {
    const about = (email: string, id: string) =>
      postfixDsn(
        sent['kept@example.test']!,
        { recipient: email, status: '5.7.1', diagnostic: '550 5.7.1 Message rejected by policy' },
        id,
      );
    // A genuine token, other recipients: the report is kept, applied to nobody.
    await deliver({ from: '', to: [sent['kept@example.test']!.from] }, about('someone@one.test', 'elsewhere-1'));
    await deliver({ from: '', to: [sent['kept@example.test']!.from] }, about('someone@two.test', 'elsewhere-2'));
    expect(await stateOf('kept@example.test')).toBe('confirmed');
    expect(
      (await h.app.feedbackStore.totals()).find(
        (row) => row.source === 'dsn' && row.kind === 'policy' && row.outcome === 'not-this-reader',
      )?.count,
    ).toBe(2);
    const alerts = (await h.app.alerts.ofEdition(EDITION)).filter((alert) => alert.kind === 'policy-block');
    expect(alerts.map((alert) => alert.about)).toEqual(['outlook.test', null]);
    expect(alerts[1]?.text).toContain('a receiving server refused our mail for policy (5.7.1), reported by dsn');
  });

  it('a delayed delivery (4.2.2) counts as a soft bounce and keeps the reader', async () => {
    await deliver(
      { from: '', to: [sent['full@example.test']!.from] },
      postfixDsn(sent['full@example.test']!, {
        recipient: 'full@example.test',
        status: '4.2.2',
        diagnostic: '452 4.2.2 Mailbox full',
        action: 'delayed',
      }),
    );
    expect(await stateOf('full@example.test')).toBe('confirmed');
    expect((await historyOf('full@example.test'))[0]?.reason).toMatch(
      /^soft bounce reported by dsn \(4\.2\.2\) for edition 2020-02-25: 452 4\.2\.2 Mailbox full$/,
    );
  });

  it('an ARF complaint from Yahoo (recipient named) and from Microsoft JMRP (recipient redacted) mark the readers complained; the rate raises one alert', async () => {
    await deliver(
      { from: 'feedback@arf.mail.yahoo.com', to: ['fbl@bounces.example.test'] },
      arfComplaint(sent['angry@yahoo.test']!, { recipient: 'angry@yahoo.test', style: 'yahoo' }),
    );
    await deliver(
      { from: 'staff@hotmail.com', to: ['fbl@bounces.example.test'] },
      arfComplaint(sent['jmrp@hotmail.test']!, { recipient: 'jmrp@hotmail.test', style: 'jmrp' }),
    );
    expect(await stateOf('angry@yahoo.test')).toBe('complained');
    expect(await stateOf('jmrp@hotmail.test')).toBe('complained');
    await waitFor(async () => desk.of(EDITION, 'complaint-rate').length > 0, 'the complaint-rate alert');
    await transactionalIdle(h);
    expect(desk.of(EDITION, 'complaint-rate')).toEqual([
      {
        edition: EDITION,
        kind: 'complaint-rate',
        event: 'raised',
        text: `Edition ${EDITION}: 1 of 7 readers marked it as spam (14.29 %), above COMPLAINT_RATE_ALERT (0.1 %); Gmail asks bulk senders to stay under 0.3 %.`,
      },
    ]);
  });

  it('mail to the List-Unsubscribe mailto address unsubscribes the reader it names', async () => {
    const mailto = /<mailto:([^?>]+)\?subject=unsubscribe>/.exec(sent['leaver@example.test']!.raw)?.[1] ?? '';
    expect(mailto).toMatch(/^unsubscribe\+.+@bounces\.example\.test$/);
    // An auto-reply to it is nobody asking to leave.
    await deliver(
      { from: 'leaver@example.test', to: [mailto] },
      unsubscribeMail('leaver@example.test', mailto, ['Auto-Submitted: auto-replied (vacation)']),
    );
    expect(await stateOf('leaver@example.test')).toBe('confirmed');
    await deliver(
      { from: 'leaver@example.test', to: [mailto] },
      unsubscribeMail('Leaver <leaver@example.test>', mailto),
    );
    expect(await stateOf('leaver@example.test')).toBe('unsubscribed');
    expect((await historyOf('leaver@example.test'))[0]).toMatchObject({
      to: 'unsubscribed',
      reason: `unsubscribed (by mail to the List-Unsubscribe address, edition ${EDITION})`,
      by: 'bounce-report',
    });
  });

  it('reports that no valid token vouches for are kept but name nobody: a forged DSN suppresses no one', async () => {
    const forgedTo = sent['kept@example.test']!.from.replace(/=[a-z2-7]{16}@/, '=aaaaaaaaaaaaaaaa@');
    expect(
      await deliver({ from: '', to: [forgedTo] }, dsnFor('kept@example.test', '5.1.1', '550 5.1.1 user unknown')),
    ).toMatch(/^250 /);
    // To the plain bounce address, with no token anywhere: the address alone proves nothing.
    const untokened = dsnFor('kept@example.test', '5.1.1', '550 5.1.1 user unknown').replace(
      /bounce\+[a-z0-9=-]+@/g,
      'bounce@',
    );
    await deliver({ from: '', to: ['bounce@bounces.example.test'] }, untokened);
    const fakeMailto = /<mailto:([^?>]+)\?/
      .exec(sent['kept@example.test']!.raw)![1]!
      .replace(/=[a-z2-7]{16}@/, '=bbbbbbbbbbbbbbbb@');
    await deliver(
      { from: 'someone@example.net', to: [fakeMailto] },
      unsubscribeMail('someone@example.net', fakeMailto),
    );
    expect(await stateOf('kept@example.test')).toBe('confirmed');
    expect(
      (await h.app.feedbackStore.totals()).find((row) => row.source === 'dsn' && row.outcome === 'unverified')?.count,
    ).toBe(1);
  });

  it('accepts and drops mail to the domain that is no report (postmaster, replies)', async () => {
    const answer = await deliver(
      { from: 'someone@example.net', to: ['postmaster@bounces.example.test'] },
      'From: someone@example.net\r\nTo: postmaster@bounces.example.test\r\nSubject: hello\r\n\r\nAre you there?\r\n',
    );
    expect(answer).toMatch(/^250 /);
    expect(await stateOf('kept@example.test')).toBe('confirmed');
  });

  it('refuses mail for any other domain (it relays nothing) and messages over 2 MiB', async () => {
    await expect(
      deliverBySmtp(port, { from: 'spammer@example.net', to: ['victim@example.net'] }, 'Subject: relay?\r\n\r\nx\r\n'),
    ).rejects.toMatchObject({ responseCode: 550 });
    const big = `Subject: big\r\n\r\n${'x'.repeat(76).concat('\r\n').repeat(30_000)}`;
    await expect(
      deliverBySmtp(port, { from: 'someone@example.net', to: ['bounce@bounces.example.test'] }, big),
    ).rejects.toMatchObject({ responseCode: 552 });
  });

  it('counts the mail in /metrics', async () => {
    const metrics = (await h.server.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/digest_feedback_inbound_mail_total\{kind="dsn",verified="true"\} [1-9]/);
    expect(metrics).toMatch(/digest_feedback_inbound_mail_total\{kind="arf",verified="true"\} 2/);
    expect(metrics).toMatch(/digest_feedback_inbound_mail_total\{kind="none",verified="false"\} [1-9]/);
  });
});
