import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDsn } from '../../../src/feedback/dsn.ts';
import { readBounceAddress, readVerpToken } from '../../../src/feedback/verp.ts';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/feedback/dsn/${name}`, import.meta.url));
const crlf = (buffer: Buffer) => Buffer.from(buffer.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

// The secret the fixtures' VERP addresses were made with.
const SECRET = 'fixture-secret-0123456789';
const BOUNCES = 'bounce@bounces.example.org';
const RECEIVED = new Date('2026-11-24T19:00:00Z');

describe('parseDsn', () => {
  it('reads a Postfix bounce: one hard event with the returned headers and the VERP token', () => {
    const events = parseDsn(fixture('postfix-user-unknown.eml'), { receivedAt: RECEIVED });
    expect(events).toEqual([
      {
        source: 'dsn',
        eventId: expect.stringMatching(/^[0-9a-f]{32}$/),
        kind: 'hard',
        email: 'reader.gone@gmail.com',
        status: '5.1.1',
        smtpCode: 550,
        diagnostic: expect.stringMatching(
          /^550-5\.1\.1 The email account that you tried to reach does not exist\. Please try double-checking/,
        ),
        at: new Date('2026-11-24T18:35:07Z'),
        edition: '2026-11-24',
        messageId: '2026-11-24.r1.1042@example.org',
        verpToken: '1042=2026-11-24=x42yp65gj2uirzcq',
      },
    ]);
    const [event] = events;
    expect(event?.diagnostic.length).toBeLessThanOrEqual(300);
    expect(readVerpToken('bounce', event?.verpToken ?? '', SECRET, BOUNCES)).toEqual({
      recipientId: '1042',
      edition: '2026-11-24',
    });
  });

  it('gives the same events for CRLF line ends, a string, and a second read (stable eventId)', () => {
    const raw = fixture('postfix-user-unknown.eml');
    const first = parseDsn(raw, { receivedAt: RECEIVED });
    expect(first).toHaveLength(1);
    expect(parseDsn(crlf(raw), { receivedAt: RECEIVED })).toEqual(first);
    expect(parseDsn(raw.toString('utf8'), { receivedAt: RECEIVED })).toEqual(first);
    expect(parseDsn(raw, { receivedAt: new Date() })).toEqual(first);
  });

  it('prefers the envelope recipient (the VERP address the DSN came to) for the token', () => {
    const envelopeTo = 'BOUNCE+1043=2026-11-24=T5ZW4VQBD7GDJ24N@bounces.example.org';
    const [event] = parseDsn(fixture('postfix-user-unknown.eml'), { envelopeTo, bounceAddress: BOUNCES });
    expect(event?.verpToken).toBe('1043=2026-11-24=t5zw4vqbd7gdj24n');
    expect(readBounceAddress(envelopeTo, SECRET, BOUNCES)).toEqual({ recipientId: '1043', edition: '2026-11-24' });
  });

  it('reports a Postfix delay warning as soft, with the MTA text and no SMTP code', () => {
    const events = parseDsn(fixture('postfix-delayed.eml'));
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'soft',
        email: 'reader@slow.example.net',
        status: '4.4.1',
        smtpCode: null,
        diagnostic: 'connect to mx.slow.example.net[198.51.100.25]:25: Connection timed out',
        at: new Date('2026-11-25T06:35:12Z'),
        messageId: '2026-11-24.r1.1043@example.org',
        verpToken: '1043=2026-11-24=t5zw4vqbd7gdj24n',
      }),
    ]);
  });

  it('reads a Gmail DSN with a nested human part and the whole returned message (mailbox full is soft)', () => {
    const events = parseDsn(fixture('gmail-failure.eml'));
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'soft',
        email: 'someone@mailbox-full.example',
        status: '5.2.2',
        smtpCode: 552,
        at: new Date('2026-11-24T18:36:18Z'),
        edition: '2026-11-24',
        messageId: '2026-11-24.r1.2001@example.org',
        verpToken: '2001=2026-11-24=hcxifyrb5spn2sfc',
      }),
    ]);
  });

  it('reads an Exchange Online NDR: one event per failed recipient, the Original-Recipient as sent, policy kept apart', () => {
    const events = parseDsn(fixture('exchange-online-ndr.eml'));
    expect(events.map((event) => [event.email, event.kind, event.status, event.smtpCode])).toEqual([
      ['Staff@Contoso.example', 'hard', '5.1.10', 550],
      ['news@contoso.example', 'policy', '5.7.515', 550],
    ]);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(2);
    // Without VERP the Return-Path has no token; the Message-ID and edition still come back.
    expect(events[0]).toMatchObject({
      verpToken: null,
      messageId: '2026-11-24.r1.3001@example.org',
      edition: '2026-11-24',
    });
  });

  it('gives nothing for a report of successful deliveries', () => {
    expect(parseDsn(fixture('delivered-only.eml'))).toEqual([]);
  });

  it('gives nothing for a plain-text bounce without a report part (no guessing from prose)', () => {
    expect(parseDsn(fixture('exim-plain-text.eml'))).toEqual([]);
  });

  it('gives nothing for a report whose status part is typed text/plain', () => {
    expect(parseDsn(fixture('status-as-text-plain.eml'))).toEqual([]);
  });

  it('decodes a base64-encoded status part', () => {
    const status = Buffer.from(
      'Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.2\r\n',
    ).toString('base64');
    const raw = [
      'From: MAILER-DAEMON@mx.example',
      'Message-ID: <b64@mx.example>',
      'Content-Type: multipart/report; report-type="delivery-status"; boundary="=_b"',
      '',
      '--=_b',
      'Content-Type: message/delivery-status',
      'Content-Transfer-Encoding: base64',
      '',
      status.replace(/(.{40})/g, '$1\r\n'),
      '--=_b--',
    ].join('\r\n');
    expect(parseDsn(raw)).toEqual([
      expect.objectContaining({
        email: 'a@example.net',
        kind: 'hard',
        status: '5.1.2',
        diagnostic: 'delivery failed (5.1.2)',
      }),
    ]);
  });

  it('skips a recipient group without a usable address, keeps the others', () => {
    const raw = [
      'Content-Type: multipart/report; report-type=delivery-status; boundary=b',
      '',
      '--b',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example',
      '',
      'Final-Recipient: x400; /C=US/O=Example/',
      'Action: failed',
      'Status: 5.1.1',
      '',
      'Final-Recipient: rfc822; ok@example.net',
      'Action: failed',
      'Status: 5.1.1',
      '--b--',
    ].join('\n');
    expect(parseDsn(raw).map((event) => event.email)).toEqual(['ok@example.net']);
  });

  it('finds a report that a gateway wrapped in multipart/mixed', () => {
    const report = fixture('postfix-user-unknown.eml').toString('latin1');
    const wrapped = `Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: text/plain\n\nForwarded bounce.\n--outer\n${report}\n--outer--\n`;
    expect(parseDsn(wrapped).map((event) => [event.email, event.kind])).toEqual([['reader.gone@gmail.com', 'hard']]);
  });

  it.each([
    ['an empty message', ''],
    ['garbage', '\u0000\u0001 not mail at all \r\n\r\n\r\n--'],
    [
      'a report without boundary',
      'Content-Type: multipart/report; report-type=delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\nAction: failed\r\n',
    ],
    ['a truncated report', fixture('postfix-user-unknown.eml').subarray(0, 1200)],
    [
      'a report nested 50 deep',
      `${Array.from({ length: 50 }, (_, level) => `Content-Type: multipart/mixed; boundary=x${level}\n\n--x${level}\n`).join('')}Content-Type: multipart/report; report-type=delivery-status; boundary=y\n\n--y\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.1.1\n--y--`,
    ],
  ])('gives nothing and does not throw for %s', (_label, raw) => {
    expect(parseDsn(raw)).toEqual([]);
  });
});
