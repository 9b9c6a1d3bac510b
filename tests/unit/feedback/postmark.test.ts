import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { receivePostmark } from '../../../src/feedback/postmark.ts';

const SETTINGS = {
  user: 'postmark-hook',
  password: 'correct horse battery staple',
  now: () => new Date('2026-11-24T19:00:00Z'),
};
const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const AUTH = basic(SETTINGS.user, SETTINGS.password);

// As Postmark documents its bounce webhook (RecordType, ID, Type, TypeCode, Name, MessageID, …).
function bounce(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    RecordType: 'Bounce',
    MessageStream: 'broadcast',
    ID: 42,
    Type: 'HardBounce',
    TypeCode: 1,
    Name: 'Hard bounce',
    Tag: 'edition',
    MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
    Metadata: {},
    ServerID: 23,
    Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
    Details:
      "smtp;550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.",
    Email: 'reader@example.net',
    From: 'digest@example.org',
    BouncedAt: '2026-11-24T13:28:10.2735393-05:00',
    DumpAvailable: true,
    Inactive: true,
    CanActivate: true,
    Subject: 'The Evening Digest',
    ...overrides,
  });
}

describe('receivePostmark', () => {
  it('maps a hard bounce to one event keyed by the bounce ID', () => {
    expect(receivePostmark(bounce(), AUTH, SETTINGS)).toEqual({
      ok: true,
      events: [
        {
          source: 'postmark',
          eventId: '42',
          kind: 'hard',
          email: 'reader@example.net',
          status: '5.1.1',
          smtpCode: 550,
          diagnostic: expect.stringMatching(/^smtp;550 5\.1\.1 The email account/),
          at: new Date('2026-11-24T18:28:10.273Z'),
          edition: null,
          messageId: null,
          verpToken: null,
        },
      ],
    });
  });

  it.each([
    [
      'HardBounce with an authentication block',
      'HardBounce',
      'smtp;550 5.7.515 Access denied, sending domain example.org does not meet the required authentication level.',
      'policy',
    ],
    ['HardBounce that is a full mailbox', 'HardBounce', 'smtp;552 5.2.2 mailbox full', 'soft'],
    ['HardBounce with nothing specific', 'HardBounce', 'smtp;550 rejected', 'hard'],
    ['BadEmailAddress', 'BadEmailAddress', 'Invalid email address', 'hard'],
    ['SoftBounce', 'SoftBounce', 'smtp;452 4.2.2 Mailbox full', 'soft'],
    ['SoftBounce that says user unknown stays soft', 'SoftBounce', 'smtp;550 5.1.1 user unknown', 'soft'],
    ['Transient', 'Transient', 'Message delayed', 'soft'],
    ['DnsError', 'DnsError', 'DNS lookup failed', 'soft'],
    ['Blocked', 'Blocked', 'smtp;554 5.7.1 blocked using zen.spamhaus.org', 'policy'],
    ['SpamNotification', 'SpamNotification', 'Message was classified as spam', 'policy'],
    ['DMARCPolicy', 'DMARCPolicy', 'smtp;550 5.7.26 DMARC', 'policy'],
    ['Unsubscribe', 'Unsubscribe', 'Please remove me', 'unsubscribe'],
    ['SpamComplaint as a bounce type', 'SpamComplaint', '', 'complaint'],
    ['a type Postmark adds later', 'SomethingNew', 'smtp;550 5.1.1 user unknown', 'hard'],
  ])('%s is %s', (_label, type, details, kind) => {
    const result = receivePostmark(bounce({ Type: type, Details: details }), AUTH, SETTINGS);
    expect(result.ok && result.events.map((event) => event.kind)).toEqual([kind]);
  });

  it.each(['AutoResponder', 'ChallengeVerification', 'AddressChange', 'Subscribe', 'ManuallyDeactivated'])(
    'ignores %s',
    (type) => {
      expect(receivePostmark(bounce({ Type: type }), AUTH, SETTINGS)).toEqual({ ok: true, events: [] });
    },
  );

  it('maps a spam complaint webhook', () => {
    const body = bounce({
      RecordType: 'SpamComplaint',
      ID: 43,
      Type: 'SpamComplaint',
      TypeCode: 512,
      Details: 'Test spam complaint details',
      Email: 'john@example.com',
    });
    const result = receivePostmark(body, AUTH, SETTINGS);
    expect(result).toEqual({
      ok: true,
      events: [
        expect.objectContaining({
          kind: 'complaint',
          eventId: '43',
          email: 'john@example.com',
          status: null,
          smtpCode: null,
        }),
      ],
    });
  });

  it('keeps 64-bit IDs exact, so two bounces never share an eventId', () => {
    const ids = ['4323372036854775807', '4323372036854775808'].map((id) => {
      const result = receivePostmark(bounce().replace(/"ID":\d+/, `"ID":${id}`), AUTH, SETTINGS);
      return result.ok ? result.events[0]?.eventId : null;
    });
    expect(ids).toEqual(['4323372036854775807', '4323372036854775808']);
  });

  it('takes the top-level ID, not one in Metadata', () => {
    const body = JSON.stringify({
      Metadata: { ID: 7 },
      RecordType: 'Bounce',
      ID: 99,
      Type: 'HardBounce',
      Email: 'a@b.example',
      Details: 'x',
    });
    expect(receivePostmark(body, AUTH, SETTINGS)).toMatchObject({ ok: true, events: [{ eventId: '99' }] });
  });

  it('ignores other record types (deliveries, opens)', () => {
    expect(
      receivePostmark(
        JSON.stringify({ RecordType: 'Delivery', MessageID: 'x', Recipient: 'a@b.example' }),
        AUTH,
        SETTINGS,
      ),
    ).toEqual({ ok: true, events: [] });
  });

  it('reads our identifiers from the bounce dump when Postmark includes it', () => {
    const dump = readFileSync(new URL('../../fixtures/feedback/dsn/postfix-user-unknown.eml', import.meta.url), 'utf8');
    const result = receivePostmark(bounce({ Content: dump }), AUTH, SETTINGS);
    expect(result.ok && result.events[0]).toMatchObject({
      edition: '2026-11-24',
      messageId: '2026-11-24.r1.1042@example.org',
      verpToken: '1042=2026-11-24=x42yp65gj2uirzcq',
    });
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong password', basic(SETTINGS.user, 'guess')],
    ['a wrong user', basic('someone', SETTINGS.password)],
    ['a password with the right prefix', basic(SETTINGS.user, `${SETTINGS.password}x`)],
    ['a Bearer token', { authorization: 'Bearer abc' }],
    ['no colon in the credentials', { authorization: `Basic ${Buffer.from('justauser').toString('base64')}` }],
  ])('refuses %s with 401', (_label, headers) => {
    expect(receivePostmark(bounce(), headers, SETTINGS)).toMatchObject({ ok: false, status: 401 });
  });

  it('accepts the header in any case and a password containing a colon', () => {
    const settings = { ...SETTINGS, password: 'pa:ss' };
    const headers = { authorization: `basic ${Buffer.from('postmark-hook:pa:ss').toString('base64')}` };
    expect(receivePostmark(bounce(), headers, settings)).toMatchObject({ ok: true });
  });

  it.each([
    ['not JSON', '{"RecordType": "Bounce",'],
    ['a JSON array', '[]'],
    ['a bounce without ID', bounce({ ID: undefined })],
    ['a bounce without Email', bounce({ Email: '' })],
  ])('refuses %s with 400 once authenticated', (_label, body) => {
    expect(receivePostmark(body, AUTH, SETTINGS)).toMatchObject({ ok: false, status: 400 });
  });
});
