import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounceAddress } from '../../src/feedback/verp.ts';
import type { SubscriberState } from '../../src/subscribers/subscriber-store.ts';
import { listenOnLoopback } from '../support/feedback-rig.ts';
import { type Harness, startHarness, transactionalIdle, waitFor } from '../support/harness.ts';
import {
  forgerKeys,
  mailgunRequest,
  POSTMARK,
  postmarkRequest,
  RELAY_ENV,
  type RelayRequest,
  sendgridRequest,
  sesBounce,
  sesComplaint,
  sesRequest,
  sesSubscriptionConfirmation,
} from '../support/relay-payloads.ts';
import { SnsPeer } from '../support/sns-peer.ts';

const SECRET = 'test-secret-test-secret-test-secret-0123';
const BOUNCES = 'bounce@bounces.example.test';

/**
 * The relays' webhooks over HTTP, against real PostgreSQL and Redis, with the work done by the
 * worker's queue: valid reports apply once; replays change nothing; forged and stale ones are refused
 * before anything is queued.
 */
describe('relay webhooks (POST /feedback/<relay>)', () => {
  let h: Harness;
  let base: string;
  const sns = new SnsPeer();
  const post = (path: string, request: RelayRequest) =>
    fetch(`${base}${path}`, { method: 'POST', headers: request.headers, body: request.body });
  const idOf = async (email: string) => (await h.app.subscribers.findIdByEmail(email))!;
  const stateOf = async (email: string): Promise<SubscriberState | undefined> =>
    (await h.app.subscribers.get(await idOf(email)))?.state;
  const historyOf = async (email: string) => h.app.subscribers.history(await idOf(email));
  const total = async (source: string, kind: string, outcome: string) =>
    (await h.app.feedbackStore.totals()).find(
      (row) => row.source === source && row.kind === kind && row.outcome === outcome,
    )?.count ?? 0;
  /** Posts, expects 202, and waits until the queued reports are applied. */
  const deliver = async (path: string, request: RelayRequest) => {
    const response = await post(path, request);
    expect(response.status).toBe(202);
    await transactionalIdle(h);
    return (await response.json()) as { accepted: number };
  };

  beforeAll(async () => {
    await sns.start();
    h = await startHarness({ env: { ...RELAY_ENV, BOUNCE_ADDRESS: BOUNCES }, overrides: { snsFetch: sns.snsFetch } });
    base = await listenOnLoopback(h);
    for (const email of [
      'ses-gone@example.test',
      'ses-angry@example.test',
      'ses-stale@example.test',
      'sg-gone@example.test',
      'sg-blocked@example.test',
      'mg-gone@example.test',
      'pm-gone@example.test',
      'pm-angry@example.test',
      'kept@example.test',
    ]) {
      const { id } = await h.app.subscribers.create(email, { email });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    }
  });
  afterAll(async () => {
    await h?.close();
    await sns.stop();
  });

  describe('Amazon SES through SNS', () => {
    it('a signed bounce notification suppresses the reader its VERP return path names, once', async () => {
      const source = bounceAddress(await idOf('ses-gone@example.test'), '', SECRET, BOUNCES);
      const request = sesRequest(
        sesBounce(
          { email: 'ses-gone@example.test', status: '5.1.1', diagnostic: '550 5.1.1 user unknown' },
          { source },
        ),
      );
      expect(await deliver('/feedback/ses', request)).toEqual({ accepted: 1 });
      expect(await h.app.subscribers.get(await idOf('ses-gone@example.test'))).toMatchObject({
        state: 'bounced',
        suppressionReason: 'hard bounce reported by ses (5.1.1): 550 5.1.1 user unknown',
      });
      expect(sns.requests.filter((path) => path.endsWith('.pem'))).toHaveLength(1);

      // SNS retries a notification it thinks was lost: the same message, byte for byte.
      const before = await historyOf('ses-gone@example.test');
      expect(await deliver('/feedback/ses', request)).toEqual({ accepted: 1 });
      expect(await historyOf('ses-gone@example.test')).toEqual(before);
      expect(await total('ses', 'hard', 'duplicate')).toBe(1);
      expect(sns.requests.filter((path) => path.endsWith('.pem'))).toHaveLength(1); // the certificate is cached
    });

    it('a complaint marks the reader complained', async () => {
      await deliver(
        '/feedback/ses',
        sesRequest(sesComplaint('ses-angry@example.test', { source: 'digest@example.test' })),
      );
      expect(await stateOf('ses-angry@example.test')).toBe('complained');
    });

    it('refuses a forged signature, a tampered message and a stale timestamp, and applies nothing', async () => {
      const bounce = sesBounce(
        { email: 'ses-stale@example.test', status: '5.1.1', diagnostic: '550 5.1.1 user unknown' },
        { source: 'digest@example.test' },
      );
      expect((await post('/feedback/ses', sesRequest(bounce, { key: forgerKeys().rsa }))).status).toBe(401);
      const tampered = sesRequest(bounce);
      tampered.body = tampered.body.replace('ses-stale@example.test', 'kept@example.test');
      expect((await post('/feedback/ses', tampered)).status).toBe(401);
      const stale = await post('/feedback/ses', sesRequest(bounce, { timestamp: new Date(Date.now() - 3600_000) }));
      expect(stale.status).toBe(403);
      expect(await stale.json()).toEqual({ error: 'stale timestamp' });
      await transactionalIdle(h);
      expect(await stateOf('ses-stale@example.test')).toBe('confirmed');
      expect(await stateOf('kept@example.test')).toBe('confirmed');
    });

    it('confirms a subscription by visiting its SubscribeURL on SNS, from the queue', async () => {
      const response = await post('/feedback/ses', sesSubscriptionConfirmation('confirm-token-1'));
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ accepted: 0, confirming: true });
      await waitFor(
        async () =>
          sns.requests.find(
            (path) => path.startsWith('/?Action=ConfirmSubscription') && path.endsWith('Token=confirm-token-1'),
          ),
        'the confirmation GET',
      );
    });
  });

  describe('SendGrid', () => {
    const bounce = {
      email: 'sg-gone@example.test',
      timestamp: Math.floor(Date.now() / 1000),
      event: 'bounce',
      type: 'bounce',
      bounce_classification: 'Invalid Address',
      status: '5.0.0',
      reason: '550 5.1.1 The email account that you tried to reach does not exist.',
      sg_event_id: 'sg-bounce-1',
      'smtp-id': '<x@example.test>',
    };

    it('a signed batch is applied; the same batch again changes nothing', async () => {
      const blocked = {
        ...bounce,
        email: 'sg-blocked@example.test',
        type: 'blocked',
        bounce_classification: 'Reputation',
        reason: '550 5.7.1 blocked using Spamhaus',
        sg_event_id: 'sg-blocked-1',
      };
      const delivered = { ...bounce, email: 'kept@example.test', event: 'delivered', sg_event_id: 'sg-delivered-1' };
      const request = sendgridRequest([bounce, blocked, delivered]);
      expect(await deliver('/feedback/sendgrid', request)).toEqual({ accepted: 2 });
      expect(await stateOf('sg-gone@example.test')).toBe('bounced');
      // A block by the receiver's policy is about us, never the reader.
      expect(await stateOf('sg-blocked@example.test')).toBe('confirmed');
      expect((await historyOf('sg-blocked@example.test'))[0]?.reason).toBe(
        'policy block reported by sendgrid (5.7.1): 550 5.7.1 blocked using Spamhaus (address kept)',
      );

      expect(await deliver('/feedback/sendgrid', request)).toEqual({ accepted: 2 });
      expect(await total('sendgrid', 'hard', 'duplicate')).toBe(1);
      expect(await total('sendgrid', 'policy', 'duplicate')).toBe(1);
      expect(
        (await historyOf('sg-blocked@example.test')).filter((event) => event.reason.startsWith('policy block')),
      ).toHaveLength(1);
    });

    it('refuses a forged signature (401) and a stale timestamp (403)', async () => {
      const other = { ...bounce, email: 'kept@example.test', sg_event_id: 'sg-forged-1' };
      expect((await post('/feedback/sendgrid', sendgridRequest([other], { key: forgerKeys().ec }))).status).toBe(401);
      const unsigned = sendgridRequest([other]);
      delete unsigned.headers['x-twilio-email-event-webhook-signature'];
      expect((await post('/feedback/sendgrid', unsigned)).status).toBe(401);
      expect(
        (await post('/feedback/sendgrid', sendgridRequest([other], { timestamp: new Date(Date.now() - 600_000) })))
          .status,
      ).toBe(403);
      await transactionalIdle(h);
      expect(await stateOf('kept@example.test')).toBe('confirmed');
    });
  });

  describe('Mailgun', () => {
    const failed = (recipient: string, id: string) => ({
      id,
      event: 'failed',
      severity: 'permanent',
      reason: 'bounce',
      recipient,
      timestamp: Date.now() / 1000,
      'delivery-status': {
        code: 550,
        'enhanced-code': '5.1.1',
        message: '5.1.1 The email account that you tried to reach does not exist',
        description: '',
      },
      message: { headers: { 'message-id': 'x@example.test' } },
    });

    it('a signed event is applied once, however often it is posted', async () => {
      const request = mailgunRequest(failed('mg-gone@example.test', 'mg-event-1'));
      await deliver('/feedback/mailgun', request);
      expect(await stateOf('mg-gone@example.test')).toBe('bounced');
      const history = await historyOf('mg-gone@example.test');
      await deliver('/feedback/mailgun', request);
      // Mailgun signs a time and a token, not the body: what makes its retries (freshly signed) harmless is the event id.
      await deliver('/feedback/mailgun', mailgunRequest(failed('mg-gone@example.test', 'mg-event-1')));
      expect(await historyOf('mg-gone@example.test')).toEqual(history);
      expect(await total('mailgun', 'hard', 'duplicate')).toBe(2);
    });

    it('refuses a signature made with another key (401) and a stale timestamp (403)', async () => {
      expect(
        (
          await post(
            '/feedback/mailgun',
            mailgunRequest(failed('kept@example.test', 'mg-forged'), { key: 'another-key-0123456789abcdef' }),
          )
        ).status,
      ).toBe(401);
      expect(
        (
          await post(
            '/feedback/mailgun',
            mailgunRequest(failed('kept@example.test', 'mg-stale'), { timestamp: new Date(Date.now() - 3600_000) }),
          )
        ).status,
      ).toBe(403);
      await transactionalIdle(h);
      expect(await stateOf('kept@example.test')).toBe('confirmed');
    });
  });

  describe('Postmark', () => {
    const hardBounce = (email: string, id: number | string, bouncedAt = new Date()) => ({
      RecordType: 'Bounce',
      MessageStream: 'outbound',
      ID: id,
      Type: 'HardBounce',
      TypeCode: 1,
      Name: 'Hard bounce',
      Tag: '',
      MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
      Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
      Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist.',
      Email: email,
      From: 'digest@example.test',
      BouncedAt: bouncedAt.toISOString(),
      Inactive: true,
      CanActivate: true,
      Subject: 'The Evening Digest',
    });

    it('a bounce with the webhook credentials is applied once; a replay days later changes nothing (its ID is the guard: Postmark signs no time)', async () => {
      // 64-bit ids as Postmark writes them: they must not be rounded into each other.
      const request = postmarkRequest(
        hardBounce('pm-gone@example.test', 'ID-HERE', new Date(Date.now() - 3 * 24 * 3600_000)),
      );
      request.body = request.body.replace('"ID":"ID-HERE"', '"ID":4323372036854775807');
      await deliver('/feedback/postmark', request);
      expect(await stateOf('pm-gone@example.test')).toBe('bounced');
      const history = await historyOf('pm-gone@example.test');
      await deliver('/feedback/postmark', request);
      expect(await historyOf('pm-gone@example.test')).toEqual(history);
      expect(await total('postmark', 'hard', 'duplicate')).toBe(1);
      // The neighbouring 64-bit id (the same number once rounded to a double) is another bounce, not a replay.
      const neighbour = postmarkRequest({
        ...hardBounce('pm-gone@example.test', 'ID-HERE'),
        Type: 'SoftBounce',
        Details: 'smtp;452 4.2.2 Mailbox full',
      });
      await deliver('/feedback/postmark', {
        ...neighbour,
        body: neighbour.body.replace('"ID":"ID-HERE"', '"ID":4323372036854775806'),
      });
      expect(await total('postmark', 'soft', 'already-suppressed')).toBe(1);
    });

    it('a spam complaint marks the reader complained', async () => {
      await deliver(
        '/feedback/postmark',
        postmarkRequest({
          ...hardBounce('pm-angry@example.test', 92),
          RecordType: 'SpamComplaint',
          Type: 'SpamComplaint',
          TypeCode: 512,
        }),
      );
      expect(await stateOf('pm-angry@example.test')).toBe('complained');
    });

    it('refuses wrong or missing credentials (401)', async () => {
      expect(
        (
          await post(
            '/feedback/postmark',
            postmarkRequest(hardBounce('kept@example.test', 93), {
              user: POSTMARK.user,
              password: 'guessed-password-0123456789',
            }),
          )
        ).status,
      ).toBe(401);
      const anonymous = postmarkRequest(hardBounce('kept@example.test', 94));
      delete anonymous.headers.authorization;
      expect((await post('/feedback/postmark', anonymous)).status).toBe(401);
      await transactionalIdle(h);
      expect(await stateOf('kept@example.test')).toBe('confirmed');
    });
  });

  it('answers 413 to a body over 1 MiB, before reading it', async () => {
    const response = await post('/feedback/sendgrid', sendgridRequest([{ padding: 'x'.repeat(1024 * 1024) }]));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'request body too large' });
  });

  it("answers 400 to a body that is not the relay's format once it is authentic", async () => {
    expect((await post('/feedback/postmark', { ...postmarkRequest({}), body: 'not json' })).status).toBe(400);
  });

  it('counts requests by relay and status in /metrics, and the reports by source, kind and outcome', async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/digest_feedback_webhook_requests_total\{relay="sendgrid",status="202"\} [1-9]/);
    expect(metrics).toMatch(/digest_feedback_webhook_requests_total\{relay="ses",status="403"\} [1-9]/);
    expect(metrics).toMatch(/digest_feedback_reports\{source="ses",kind="hard",outcome="suppressed"\} 1/);
    expect(metrics).toMatch(/digest_feedback_reports\{source="ses",kind="hard",outcome="duplicate"\} 1/);
  });
});

describe('relay webhooks without settings', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: false });
  });
  afterAll(async () => h?.close());

  it.each(['ses', 'sendgrid', 'mailgun', 'postmark'])('POST /feedback/%s answers 404', async (relay) => {
    const response = await h.server.inject({
      method: 'POST',
      url: `/feedback/${relay}`,
      headers: { 'content-type': 'application/json' },
      payload: '[]',
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: `the ${relay} webhook is not configured` });
  });
});
