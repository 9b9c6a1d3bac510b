import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArf } from '../../../src/feedback/arf.ts';
import { readVerpToken } from '../../../src/feedback/verp.ts';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/feedback/arf/${name}`, import.meta.url));
const withFeedbackType = (name: string, type: string) =>
  fixture(name)
    .toString('latin1')
    .replace(/^Feedback-Type: .*$/m, `Feedback-Type: ${type}`);

const SECRET = 'fixture-secret-0123456789';
const BOUNCES = 'bounce@bounces.example.org';

describe('parseArf', () => {
  it('reads a Yahoo complaint: the reported recipient, our identifiers, the time of the complaint', () => {
    expect(parseArf(fixture('yahoo-abuse.eml'))).toEqual([
      {
        source: 'arf',
        eventId: expect.stringMatching(/^[0-9a-f]{32}$/),
        kind: 'complaint',
        email: 'reader@yahoo.com',
        status: null,
        smtpCode: null,
        diagnostic: 'abuse report from Yahoo!-Mail-Feedback/2.0',
        at: new Date('2026-11-25T07:12:43Z'),
        edition: '2026-11-24',
        messageId: '2026-11-24.r1.1042@example.org',
        verpToken: '1042=2026-11-24=x42yp65gj2uirzcq',
      },
    ]);
  });

  it('gives a Microsoft JMRP complaint without an address, and the VERP token that names the reader', () => {
    const [event, ...rest] = parseArf(fixture('microsoft-jmrp.eml'), { bounceAddress: BOUNCES });
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      kind: 'complaint',
      email: null,
      messageId: '2026-11-24.r1.2001@example.org',
      edition: '2026-11-24',
      diagnostic: 'abuse report from Microsoft JMRP',
    });
    expect(readVerpToken('bounce', event?.verpToken ?? '', SECRET, BOUNCES)).toEqual({
      recipientId: '2001',
      edition: '2026-11-24',
    });
  });

  it('takes the recipient from our own To header when the reporter leaves Original-Rcpt-To out', () => {
    const raw = fixture('yahoo-abuse.eml')
      .toString('latin1')
      .replace(/^Original-Rcpt-To: .*\n/m, '');
    expect(parseArf(raw)).toEqual([expect.objectContaining({ email: 'reader@yahoo.com', kind: 'complaint' })]);
  });

  it('gives one complaint per reported recipient, with its own stable eventId', () => {
    const events = parseArf(fixture('headers-only-two-recipients.eml'));
    expect(events.map((event) => [event.email, event.kind, event.messageId])).toEqual([
      ['one@isp.example', 'complaint', '2026-11-24.r1.5001@example.org'],
      ['two@isp.example', 'complaint', '2026-11-24.r1.5001@example.org'],
    ]);
    expect(events[0]?.eventId).not.toBe(events[1]?.eventId);
    expect(parseArf(fixture('headers-only-two-recipients.eml')).map((event) => event.eventId)).toEqual(
      events.map((event) => event.eventId),
    );
    // No token on a plain return path.
    expect(events[0]?.verpToken).toBeNull();
  });

  it.each(['abuse', 'fraud', 'virus', 'other', 'Abuse'])('Feedback-Type %s is a complaint', (type) => {
    expect(parseArf(withFeedbackType('yahoo-abuse.eml', type)).map((event) => event.kind)).toEqual(['complaint']);
  });

  it.each(['not-spam', 'auth-failure', 'opt-out', ''])('Feedback-Type %j gives nothing', (type) => {
    expect(parseArf(withFeedbackType('yahoo-abuse.eml', type))).toEqual([]);
  });

  it('gives nothing for a delivery status report or an ordinary message', () => {
    expect(
      parseArf(readFileSync(new URL('../../fixtures/feedback/dsn/postfix-user-unknown.eml', import.meta.url))),
    ).toEqual([]);
    expect(parseArf('From: a@b.example\r\nSubject: hello\r\n\r\nThis is spam, remove me.')).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['garbage', '\u0000\u0000\u0000'],
    [
      'a report without parts',
      'Content-Type: multipart/report; report-type=feedback-report; boundary=z\r\n\r\nno parts here',
    ],
  ])('gives nothing and does not throw for %s', (_label, raw) => {
    expect(parseArf(raw)).toEqual([]);
  });
});
