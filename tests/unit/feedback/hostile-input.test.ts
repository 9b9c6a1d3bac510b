import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArf } from '../../../src/feedback/arf.ts';
import { parseDsn } from '../../../src/feedback/dsn.ts';
import type { FeedbackEvent } from '../../../src/feedback/event.ts';
import { receiveMailgun } from '../../../src/feedback/mailgun.ts';
import { receivePostmark } from '../../../src/feedback/postmark.ts';
import { receiveSendgrid } from '../../../src/feedback/sendgrid.ts';

/**
 * Reports are written by strangers. Every fixture, cut short and with bytes flipped, must come out as
 * a list of well-formed events or nothing, never as an exception.
 */
const FIXTURES = ['dsn', 'arf'].flatMap((folder) => {
  const dir = new URL(`../../fixtures/feedback/${folder}/`, import.meta.url);
  return readdirSync(dir).map((name) => readFileSync(new URL(name, dir)));
});

/** A small deterministic generator, so a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function damaged(raw: Buffer, next: () => number): Buffer {
  const copy = Buffer.from(raw.subarray(0, Math.floor(next() * raw.length) + 1));
  const flips = Math.floor(next() * 20);
  const noise = [0, 10, 13, 32, 45, 58, 59, 60, 62, 0xff, 0xc3];
  for (let i = 0; i < flips; i += 1)
    copy[Math.floor(next() * copy.length)] = noise[Math.floor(next() * noise.length)] ?? 0;
  return copy;
}

function wellFormed(event: FeedbackEvent): boolean {
  return (
    ['hard', 'soft', 'complaint', 'policy', 'unsubscribe'].includes(event.kind) &&
    typeof event.eventId === 'string' &&
    event.eventId.length > 0 &&
    event.diagnostic.length <= 300 &&
    !/[\r\n]/.test(event.diagnostic) &&
    !Number.isNaN(event.at.getTime())
  );
}

describe('hostile input', () => {
  it('has fixtures to damage', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(8);
  });

  it('parseDsn and parseArf never throw and only give well-formed events', () => {
    const next = random(20261124);
    let events = 0;
    for (let round = 0; round < 400; round += 1) {
      const raw = damaged(FIXTURES[round % FIXTURES.length] ?? Buffer.alloc(0), next);
      for (const parse of [parseDsn, parseArf]) {
        const result = parse(raw);
        events += result.length;
        expect(result.every(wellFormed)).toBe(true);
      }
    }
    // Some damage leaves the reports readable: the check above ran on real events, not only on empty lists.
    expect(events).toBeGreaterThan(0);
  });

  it.each([
    ['deeply nested JSON', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    [
      'a huge string',
      JSON.stringify({ RecordType: 'Bounce', ID: 1, Email: 'a@b.example', Details: 'x'.repeat(1_000_000) }),
    ],
    ['null', 'null'],
    ['binary', Buffer.from([0xff, 0xfe, 0x00, 0x7b])],
  ])('the webhook receivers answer %s without throwing', (_label, body) => {
    const now = () => new Date('2026-11-24T19:00:00Z');
    const auth = { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` };
    const postmark = receivePostmark(body, auth, { user: 'u', password: 'p', now });
    expect(postmark.ok ? postmark.events.every(wellFormed) : [400, 401, 403].includes(postmark.status)).toBe(true);
    expect(
      receiveSendgrid(
        body,
        { 'x-twilio-email-event-webhook-signature': 'AA==', 'x-twilio-email-event-webhook-timestamp': '1' },
        { publicKey: 'AA==', now },
      ),
    ).toMatchObject({ ok: false });
    expect(receiveMailgun(body, {}, { signingKey: 'k', now })).toMatchObject({ ok: false });
  });
});
