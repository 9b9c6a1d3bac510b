import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { receiveMailgun } from '../../../src/feedback/mailgun.ts';

const KEY = 'key-test-only-0123456789abcdef';
const NOW = new Date('2026-11-24T19:00:00Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
const SETTINGS = { signingKey: KEY, now: () => NOW };
const TOKEN = 'e0b5477167110d68991efc6b9f89f0a11066af27834600e123';

function signature(timestamp: string | number = String(NOW_SECONDS), token = TOKEN, key = KEY) {
  return { timestamp, token, signature: createHmac('sha256', key).update(`${timestamp}${token}`).digest('hex') };
}

// Shapes as in Mailgun's webhook payload documentation.
function failed(overrides: Record<string, unknown> = {}) {
  return {
    id: 'G9Bn5sl1TC6nu79C8C0bwg',
    timestamp: NOW_SECONDS - 30.5,
    'log-level': 'error',
    event: 'failed',
    severity: 'permanent',
    reason: 'bounce',
    recipient: 'gone@example.net',
    'recipient-domain': 'example.net',
    envelope: { sender: 'bounce@mg.example.org', transport: 'smtp', targets: 'gone@example.net' },
    message: {
      headers: {
        to: 'gone@example.net',
        'message-id': '2026-11-24.r1.1042@example.org',
        from: 'digest@example.org',
        subject: 'The Evening Digest',
      },
      size: 111,
    },
    'delivery-status': {
      'attempt-no': 1,
      code: 550,
      'enhanced-code': '5.1.1',
      message: '5.1.1 The email account that you tried to reach does not exist.',
      description: '',
      'mx-host': 'gmail-smtp-in.l.google.com',
      'bounce-type': 'hard',
    },
    'user-variables': { edition: '2026-11-24' },
    flags: { 'is-authenticated': true, 'is-test-mode': false },
    ...overrides,
  };
}

const body = (eventData: unknown, sig: unknown = signature()) =>
  JSON.stringify({ signature: sig, 'event-data': eventData });

describe('receiveMailgun', () => {
  it('verifies the signature and maps a permanent failure', () => {
    expect(receiveMailgun(body(failed()), {}, SETTINGS)).toEqual({
      ok: true,
      events: [
        {
          source: 'mailgun',
          eventId: 'G9Bn5sl1TC6nu79C8C0bwg',
          kind: 'hard',
          email: 'gone@example.net',
          status: '5.1.1',
          smtpCode: 550,
          diagnostic: '5.1.1 The email account that you tried to reach does not exist.',
          at: new Date((NOW_SECONDS - 30.5) * 1000),
          edition: '2026-11-24',
          messageId: '2026-11-24.r1.1042@example.org',
          verpToken: null,
        },
      ],
    });
  });

  it.each([
    [
      'a temporary failure',
      {
        severity: 'temporary',
        reason: 'generic',
        'delivery-status': { code: 452, 'enhanced-code': '4.2.2', message: 'Mailbox full' },
      },
      'soft',
    ],
    [
      'a temporary policy deferral',
      {
        severity: 'temporary',
        reason: 'generic',
        'delivery-status': {
          code: 421,
          'enhanced-code': '4.7.0',
          message: '[TSS04] Messages temporarily deferred due to user complaints',
        },
      },
      'policy',
    ],
    [
      'a permanent DMARC rejection',
      {
        'delivery-status': {
          code: 550,
          'enhanced-code': '5.7.26',
          message: 'Unauthenticated email is not accepted due to DMARC policy',
        },
      },
      'policy',
    ],
    ['a permanent failure with nothing specific', { 'delivery-status': { code: 550, message: 'rejected' } }, 'hard'],
    ['a permanent failure without delivery-status', { 'delivery-status': undefined }, 'hard'],
    [
      'a previously bounced address',
      {
        reason: 'suppress-bounce',
        'delivery-status': { code: 605, message: '', description: 'Not delivering to previously bounced address' },
      },
      'hard',
    ],
    [
      'a previous complainer',
      {
        reason: 'suppress-complaint',
        'delivery-status': { code: 607, description: 'Not delivering to a user who marked your messages as spam' },
      },
      'complaint',
    ],
    [
      'a previously unsubscribed address',
      {
        reason: 'suppress-unsubscribe',
        'delivery-status': { code: 606, description: 'Not delivering to unsubscribed address' },
      },
      'unsubscribe',
    ],
  ])('maps %s', (_label, overrides, kind) => {
    const result = receiveMailgun(body(failed(overrides)), {}, SETTINGS);
    expect(result.ok && result.events.map((event) => event.kind)).toEqual([kind]);
  });

  it("ignores Mailgun's own 6xx codes as SMTP codes", () => {
    const result = receiveMailgun(
      body(
        failed({
          reason: 'suppress-bounce',
          'delivery-status': { code: 605, description: 'Not delivering to previously bounced address' },
        }),
      ),
      {},
      SETTINGS,
    );
    expect(result.ok && result.events[0]?.smtpCode).toBeNull();
  });

  it.each([
    ['complained', 'complaint'],
    ['unsubscribed', 'unsubscribe'],
  ])('maps a %s event', (event, kind) => {
    const data = {
      id: `${event}-1`,
      event,
      timestamp: NOW_SECONDS,
      recipient: 'reader@example.net',
      message: { headers: { 'message-id': '2026-11-24.r1.7@example.org' } },
    };
    expect(receiveMailgun(body(data), {}, SETTINGS)).toEqual({
      ok: true,
      events: [expect.objectContaining({ kind, eventId: `${event}-1`, email: 'reader@example.net', status: null })],
    });
  });

  it.each(['delivered', 'opened', 'clicked', 'accepted'])('gives nothing for %s', (event) => {
    expect(receiveMailgun(body({ id: 'x', event, recipient: 'a@example.net' }), {}, SETTINGS)).toEqual({
      ok: true,
      events: [],
    });
  });

  it('accepts a numeric timestamp in the signature', () => {
    expect(receiveMailgun(body(failed(), signature(NOW_SECONDS)), {}, SETTINGS)).toMatchObject({ ok: true });
  });

  describe('refuses', () => {
    it('a signature made with another key', () => {
      expect(
        receiveMailgun(body(failed(), signature(String(NOW_SECONDS), TOKEN, 'another-key')), {}, SETTINGS),
      ).toMatchObject({ ok: false, status: 401 });
    });

    it('a changed token or timestamp', () => {
      const good = signature();
      expect(receiveMailgun(body(failed(), { ...good, token: `${TOKEN}x` }), {}, SETTINGS)).toMatchObject({
        ok: false,
        status: 401,
      });
      expect(
        receiveMailgun(body(failed(), { ...good, timestamp: String(NOW_SECONDS - 1) }), {}, SETTINGS),
      ).toMatchObject({ ok: false, status: 401 });
    });

    it.each([
      ['no signature', undefined],
      ['an empty signature', { timestamp: String(NOW_SECONDS), token: TOKEN, signature: '' }],
      ['a timestamp that is not a number', { ...signature(), timestamp: 'now' }],
    ])('%s with 401', (_label, sig) => {
      expect(receiveMailgun(JSON.stringify({ signature: sig, 'event-data': failed() }), {}, SETTINGS)).toMatchObject({
        ok: false,
        status: 401,
      });
    });

    it('a genuine but stale signature with 403 (default 5 minutes, either way)', () => {
      expect(receiveMailgun(body(failed(), signature(String(NOW_SECONDS - 301))), {}, SETTINGS)).toMatchObject({
        ok: false,
        status: 403,
      });
      expect(receiveMailgun(body(failed(), signature(String(NOW_SECONDS + 301))), {}, SETTINGS)).toMatchObject({
        ok: false,
        status: 403,
      });
      expect(
        receiveMailgun(
          body(failed(), signature(String(NOW_SECONDS - 3600))),
          {},
          { ...SETTINGS, toleranceSeconds: 7200 },
        ),
      ).toMatchObject({ ok: true });
    });

    it.each([
      ['not JSON', '{"signature":'],
      ['a JSON array', '[]'],
    ])('%s with 400', (_label, raw) => {
      expect(receiveMailgun(raw, {}, SETTINGS)).toMatchObject({ ok: false, status: 400 });
    });

    it('a signed request without event-data, or a failure without id, with 400', () => {
      expect(receiveMailgun(JSON.stringify({ signature: signature() }), {}, SETTINGS)).toMatchObject({
        ok: false,
        status: 400,
      });
      expect(receiveMailgun(body(failed({ id: undefined })), {}, SETTINGS)).toMatchObject({ ok: false, status: 400 });
    });
  });
});
