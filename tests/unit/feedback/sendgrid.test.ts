import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readSendgridKey, receiveSendgrid } from '../../../src/feedback/sendgrid.ts';

// A test-only P-256 key pair; SendGrid shows the public half as base64 DER.
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_KEY = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const NOW = new Date('2026-11-24T19:00:00Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
const SETTINGS = { publicKey: PUBLIC_KEY, now: () => NOW };

function signed(body: string, timestamp = String(NOW_SECONDS), key = privateKey) {
  const signature = sign('sha256', Buffer.from(timestamp + body), { key, dsaEncoding: 'der' }).toString('base64');
  return { 'X-Twilio-Email-Event-Webhook-Signature': signature, 'X-Twilio-Email-Event-Webhook-Timestamp': timestamp };
}

const base = {
  timestamp: NOW_SECONDS - 60,
  'smtp-id': '<2026-11-24.r1.1042@example.org>',
  category: 'digest',
  sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
};

// Event shapes as in SendGrid's Event Webhook reference.
const EVENTS = [
  {
    ...base,
    email: 'gone@example.net',
    event: 'bounce',
    type: 'bounce',
    bounce_classification: 'Invalid Address',
    status: '5.0.0',
    reason:
      "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.",
    sg_event_id: 'sg-bounce-1',
  },
  {
    ...base,
    email: 'blocked@example.net',
    event: 'bounce',
    type: 'blocked',
    bounce_classification: 'Reputation',
    status: '5.0.0',
    reason: '550 5.7.1 Service unavailable; client [192.0.2.20] blocked using Spamhaus',
    sg_event_id: 'sg-blocked-1',
  },
  {
    ...base,
    email: 'full@example.net',
    event: 'bounce',
    type: 'bounce',
    bounce_classification: 'Mailbox Unavailable',
    status: '5.2.2',
    reason: '552 5.2.2 Mailbox full',
    sg_event_id: 'sg-full-1',
  },
  {
    ...base,
    email: 'slow@example.net',
    event: 'deferred',
    response: '451 4.4.1 Try again later',
    attempt: '5',
    sg_event_id: 'sg-deferred-1',
  },
  {
    ...base,
    email: 'throttled@example.net',
    event: 'deferred',
    response: '421 4.7.28 unusual rate of unsolicited mail',
    attempt: '1',
    sg_event_id: 'sg-deferred-2',
  },
  {
    ...base,
    email: 'known-bouncer@example.net',
    event: 'dropped',
    reason: 'Bounced Address',
    status: '5.0.0',
    sg_event_id: 'sg-dropped-1',
  },
  {
    ...base,
    email: 'complainer@example.net',
    event: 'dropped',
    reason: 'Spam Reporting Address',
    status: '5.0.0',
    sg_event_id: 'sg-dropped-2',
  },
  {
    ...base,
    email: 'left@example.net',
    event: 'dropped',
    reason: 'Unsubscribed Address',
    status: '5.0.0',
    sg_event_id: 'sg-dropped-3',
  },
  {
    ...base,
    email: 'x@example.net',
    event: 'dropped',
    reason: 'Invalid SMTPAPI header',
    status: '5.0.0',
    sg_event_id: 'sg-dropped-4',
  },
  { ...base, email: 'angry@example.net', event: 'spamreport', sg_event_id: 'sg-spam-1' },
  { ...base, email: 'happy@example.net', event: 'delivered', response: '250 OK', sg_event_id: 'sg-delivered-1' },
  {
    ...base,
    email: 'reader@example.net',
    event: 'open',
    useragent: 'Mozilla/5.0',
    ip: '198.51.100.1',
    sg_event_id: 'sg-open-1',
  },
];

describe('receiveSendgrid', () => {
  it('verifies the signature and maps each feedback event', () => {
    const body = JSON.stringify(EVENTS);
    const result = receiveSendgrid(body, signed(body), SETTINGS);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(
      result.events.map((event) => [event.eventId, event.email, event.kind, event.status, event.smtpCode]),
    ).toEqual([
      ['sg-bounce-1', 'gone@example.net', 'hard', '5.1.1', 550],
      ['sg-blocked-1', 'blocked@example.net', 'policy', '5.7.1', 550],
      ['sg-full-1', 'full@example.net', 'soft', '5.2.2', 552],
      ['sg-deferred-1', 'slow@example.net', 'soft', '4.4.1', 451],
      ['sg-deferred-2', 'throttled@example.net', 'policy', '4.7.28', 421],
      ['sg-dropped-1', 'known-bouncer@example.net', 'hard', null, null],
      ['sg-dropped-2', 'complainer@example.net', 'complaint', null, null],
      ['sg-dropped-3', 'left@example.net', 'unsubscribe', null, null],
      ['sg-spam-1', 'angry@example.net', 'complaint', null, null],
    ]);
    expect(result.events[0]).toMatchObject({
      source: 'sendgrid',
      at: new Date((NOW_SECONDS - 60) * 1000),
      messageId: '2026-11-24.r1.1042@example.org',
      diagnostic: expect.stringMatching(/^550 5\.1\.1 The email account/),
    });
  });

  it('accepts a key read once with readSendgridKey, and headers in any case', () => {
    const body = JSON.stringify(EVENTS.slice(0, 1));
    const lower = Object.fromEntries(Object.entries(signed(body)).map(([name, value]) => [name.toLowerCase(), value]));
    expect(
      receiveSendgrid(Buffer.from(body), lower, { ...SETTINGS, publicKey: readSendgridKey(PUBLIC_KEY) }),
    ).toMatchObject({ ok: true, events: [{ eventId: 'sg-bounce-1' }] });
  });

  it("uses an unclassified bounce's type when the reply says nothing specific", () => {
    const body = JSON.stringify([
      {
        ...base,
        email: 'a@example.net',
        event: 'bounce',
        type: 'bounce',
        status: '5.0.0',
        reason: '550 rejected',
        sg_event_id: 'a',
      },
      {
        ...base,
        email: 'b@example.net',
        event: 'bounce',
        type: 'blocked',
        status: '5.0.0',
        reason: '554 refused',
        sg_event_id: 'b',
      },
    ]);
    const result = receiveSendgrid(body, signed(body), SETTINGS);
    expect(result.ok && result.events.map((event) => event.kind)).toEqual(['hard', 'soft']);
  });

  it('skips an event without sg_event_id or email but keeps the rest of the batch', () => {
    const body = JSON.stringify([
      { event: 'spamreport', email: 'a@example.net' },
      { event: 'spamreport', sg_event_id: 'x' },
      'junk',
      EVENTS[9],
    ]);
    const result = receiveSendgrid(body, signed(body), SETTINGS);
    expect(result.ok && result.events.map((event) => event.eventId)).toEqual(['sg-spam-1']);
  });

  describe('refuses', () => {
    const body = JSON.stringify(EVENTS);
    const headers = signed(body);

    it('a forged signature (another key)', () => {
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      expect(receiveSendgrid(body, signed(body, String(NOW_SECONDS), other), SETTINGS)).toMatchObject({
        ok: false,
        status: 401,
      });
    });

    it('a tampered body', () => {
      const tampered = body.replace('gone@example.net', 'victim@example.net');
      expect(receiveSendgrid(tampered, headers, SETTINGS)).toMatchObject({ ok: false, status: 401 });
    });

    it('a changed timestamp (it is signed too)', () => {
      const moved = { ...headers, 'X-Twilio-Email-Event-Webhook-Timestamp': String(NOW_SECONDS + 1) };
      expect(receiveSendgrid(body, moved, SETTINGS)).toMatchObject({ ok: false, status: 401 });
    });

    it.each([
      ['no signature', { 'X-Twilio-Email-Event-Webhook-Timestamp': String(NOW_SECONDS) }],
      ['no timestamp', { 'X-Twilio-Email-Event-Webhook-Signature': 'abc' }],
      [
        'a signature that is not base64 DER',
        { ...signed(body), 'X-Twilio-Email-Event-Webhook-Signature': 'not-a-signature' },
      ],
      ['a timestamp that is not a number', { ...signed(body), 'X-Twilio-Email-Event-Webhook-Timestamp': 'yesterday' }],
    ])('%s with 401', (_label, badHeaders) => {
      expect(receiveSendgrid(body, badHeaders, SETTINGS)).toMatchObject({ ok: false, status: 401 });
    });

    it('a correctly signed but stale request with 403 (default tolerance 5 minutes, both directions)', () => {
      const old = String(NOW_SECONDS - 301);
      expect(receiveSendgrid(body, signed(body, old), SETTINGS)).toMatchObject({ ok: false, status: 403 });
      const future = String(NOW_SECONDS + 301);
      expect(receiveSendgrid(body, signed(body, future), SETTINGS)).toMatchObject({ ok: false, status: 403 });
      expect(receiveSendgrid(body, signed(body, String(NOW_SECONDS - 299)), SETTINGS)).toMatchObject({ ok: true });
    });

    it('a request outside a configured tolerance', () => {
      const old = String(NOW_SECONDS - 120);
      expect(receiveSendgrid(body, signed(body, old), { ...SETTINGS, toleranceSeconds: 60 })).toMatchObject({
        ok: false,
        status: 403,
      });
    });

    it.each([
      ['not JSON', '[{"event":'],
      ['a JSON object instead of an array', '{"event":"bounce"}'],
    ])('a signed body that is %s with 400', (_label, bad) => {
      expect(receiveSendgrid(bad, signed(bad), SETTINGS)).toMatchObject({ ok: false, status: 400 });
    });

    it('anything when the configured key is unreadable (never throws)', () => {
      expect(receiveSendgrid(body, headers, { ...SETTINGS, publicKey: 'not a key' })).toMatchObject({
        ok: false,
        status: 401,
      });
    });
  });

  it('readSendgridKey refuses a key that is not an EC public key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ format: 'der', type: 'spki' })
      .toString('base64');
    expect(() => readSendgridKey(rsa)).toThrow(RangeError);
    expect(() => readSendgridKey('AAAA')).toThrow();
  });
});
