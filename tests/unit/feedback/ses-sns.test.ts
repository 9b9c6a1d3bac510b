import { generateKeyPairSync, type KeyObject, createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { receiveSesNotification, type SesSettings } from '../../../src/feedback/ses-sns.ts';
import { SnsCertificates } from '../../../src/feedback/sns.ts';
import { bounceAddress, readVerpToken } from '../../../src/feedback/verp.ts';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/feedback/sns/${name}`, import.meta.url), 'utf8');
const KEY = createPrivateKey(fixture('test-signing-key.pem'));
const CERT = fixture('test-signing-cert.pem');

const NOW = new Date('2027-01-15T19:00:00.000Z');
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:digest-feedback';
const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem';
const SECRET = 'verp-secret-for-ses-tests-0123456789';
const BOUNCES = 'bounce@bounces.example.org';

function settings(overrides: Partial<SesSettings> = {}): SesSettings & { fetched: string[] } {
  const fetched: string[] = [];
  return {
    topicArns: [TOPIC],
    certificates: new SnsCertificates(async (url) => {
      fetched.push(url);
      return CERT;
    }),
    bounceAddress: BOUNCES,
    now: () => NOW,
    fetched,
    ...overrides,
  };
}

type Fields = Record<string, string | undefined>;

/** Signs an SNS message the way AWS documents it: `Name\nvalue\n` over the type's fields in byte order. */
function signSns(fields: Fields, { version = '2', key = KEY }: { version?: '1' | '2'; key?: KeyObject } = {}): Fields {
  const names =
    fields.Type === 'Notification'
      ? ['Message', 'MessageId', ...(fields.Subject !== undefined ? ['Subject'] : []), 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const canonical = names.map((name) => `${name}\n${fields[name] ?? ''}\n`).join('');
  const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(canonical, 'utf8'), key).toString('base64');
  return { ...fields, SignatureVersion: version, Signature: signature, SigningCertURL: CERT_URL };
}

function notification(
  sesMessage: unknown,
  overrides: Fields = {},
  options?: { version?: '1' | '2'; key?: KeyObject },
): string {
  return JSON.stringify(
    signSns(
      {
        Type: 'Notification',
        MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
        TopicArn: TOPIC,
        Message: JSON.stringify(sesMessage),
        Timestamp: new Date(NOW.getTime() - 20_000).toISOString(),
        UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:c9135db0-26c4-47ec-8998-413945fb5a96`,
        ...overrides,
      },
      options,
    ),
  );
}

const VERP = bounceAddress('1042', '2027-01-15', SECRET, BOUNCES);

// SES notification contents as AWS documents them (notificationType, mail, bounce/complaint).
const mail = {
  timestamp: '2027-01-15T18:35:04.000Z',
  source: VERP,
  sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/example.org',
  sourceIp: '192.0.2.10',
  sendingAccountId: '123456789012',
  messageId: '0100017e1c2d3e4f-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee-000000',
  destination: ['gone@example.net', 'full@example.net', 'auth@outlook.example'],
  headersTruncated: false,
  headers: [
    { name: 'From', value: 'Evening Digest <digest@example.org>' },
    { name: 'Message-ID', value: '<2027-01-15.r1.1042@example.org>' },
    { name: 'X-Edition', value: '2027-01-15' },
  ],
  commonHeaders: {
    from: ['Evening Digest <digest@example.org>'],
    messageId: '<2027-01-15.r1.1042@example.org>',
    subject: 'The Evening Digest',
  },
};

function bounceNotification(bounceType: string, bounceSubType: string, recipients: Array<Record<string, string>>) {
  return {
    notificationType: 'Bounce',
    bounce: {
      bounceType,
      bounceSubType,
      bouncedRecipients: recipients,
      timestamp: '2027-01-15T18:35:09.000Z',
      feedbackId: '0100017e1c2d3e50-11111111-2222-3333-4444-555555555555-000000',
      remoteMtaIp: '198.51.100.25',
      reportingMTA: 'dsn; a8-70.smtp-out.amazonses.com',
    },
    mail,
  };
}

const PERMANENT = bounceNotification('Permanent', 'General', [
  {
    emailAddress: 'gone@example.net',
    action: 'failed',
    status: '5.1.1',
    diagnosticCode: 'smtp; 550 5.1.1 user unknown',
  },
  {
    emailAddress: 'auth@outlook.example',
    action: 'failed',
    status: '5.7.515',
    diagnosticCode:
      'smtp; 550 5.7.515 Access denied, sending domain example.org does not meet the required authentication level.',
  },
  { emailAddress: 'plain@example.net' },
]);

describe('receiveSesNotification', () => {
  it('verifies a SignatureVersion 2 notification and maps a permanent bounce per recipient', async () => {
    const result = await receiveSesNotification(
      notification(PERMANENT),
      { 'x-amz-sns-message-type': 'Notification' },
      settings(),
    );
    expect(result.ok).toBe(true);
    expect(result.ok && result.events).toEqual([
      {
        source: 'ses',
        eventId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324:gone@example.net',
        kind: 'hard',
        email: 'gone@example.net',
        status: '5.1.1',
        smtpCode: 550,
        diagnostic: '550 5.1.1 user unknown',
        at: new Date('2027-01-15T18:35:09.000Z'),
        edition: '2027-01-15',
        messageId: '2027-01-15.r1.1042@example.org',
        verpToken: VERP.slice('bounce+'.length, VERP.indexOf('@')),
      },
      expect.objectContaining({ email: 'auth@outlook.example', kind: 'policy', status: '5.7.515' }),
      expect.objectContaining({
        email: 'plain@example.net',
        kind: 'hard',
        status: null,
        diagnostic: 'Permanent/General bounce',
      }),
    ]);
    const token = result.ok ? result.events[0]?.verpToken : null;
    expect(readVerpToken('bounce', token ?? '', SECRET, BOUNCES)).toEqual({
      recipientId: '1042',
      edition: '2027-01-15',
    });
  });

  it('verifies SignatureVersion 1 (SHA1withRSA) too', async () => {
    const result = await receiveSesNotification(notification(PERMANENT, {}, { version: '1' }), {}, settings());
    expect(result).toMatchObject({ ok: true, events: [{ email: 'gone@example.net' }, {}, {}] });
  });

  it('includes Subject in the signed string when the message has one', async () => {
    const result = await receiveSesNotification(
      notification(PERMANENT, { Subject: 'Amazon SES Email Event Notification' }),
      {},
      settings(),
    );
    expect(result).toMatchObject({ ok: true });
  });

  it.each([
    ['Permanent', 'NoEmail', '5.1.1', 'hard'],
    ['Permanent', 'Suppressed', '5.1.1', 'hard'],
    ['Permanent', 'OnAccountSuppressionList', '', 'hard'],
    ['Permanent', 'General', '5.2.2', 'soft'],
    ['Transient', 'General', '4.4.7', 'soft'],
    ['Transient', 'General', '5.1.1', 'soft'],
    ['Transient', 'General', '4.7.0', 'policy'],
    ['Transient', 'MailboxFull', '5.2.2', 'soft'],
    ['Transient', 'MessageTooLarge', '5.3.4', 'policy'],
    ['Transient', 'ContentRejected', '5.7.1', 'policy'],
    ['Transient', 'AttachmentRejected', '5.7.1', 'policy'],
    ['Undetermined', 'Undetermined', '', 'soft'],
  ])('maps %s/%s (status %j) to %s', async (type, subType, status, kind) => {
    const body = notification(
      bounceNotification(type, subType, [{ emailAddress: 'r@example.net', action: 'failed', status }]),
    );
    const result = await receiveSesNotification(body, {}, settings());
    expect(result.ok && result.events.map((event) => event.kind)).toEqual([kind]);
  });

  it('maps a complaint per recipient, and not-spam to nothing', async () => {
    const complaint = (feedbackType?: string) => ({
      notificationType: 'Complaint',
      complaint: {
        userAgent: 'Yahoo!-Mail-Feedback/2.0',
        complainedRecipients: [{ emailAddress: 'angry@yahoo.example' }],
        complaintFeedbackType: feedbackType,
        arrivalDate: '2027-01-15T18:35:06.000Z',
        timestamp: '2027-01-15T18:50:00.000Z',
        feedbackId: '0100017e1c2d3e51-66666666-7777-8888-9999-000000000000-000000',
      },
      mail,
    });
    const abuse = await receiveSesNotification(notification(complaint('abuse')), {}, settings());
    expect(abuse).toEqual({
      ok: true,
      events: [
        expect.objectContaining({
          kind: 'complaint',
          email: 'angry@yahoo.example',
          diagnostic: 'complaint (abuse) from Yahoo!-Mail-Feedback/2.0',
          at: new Date('2027-01-15T18:50:00.000Z'),
          status: null,
        }),
      ],
    });
    expect(await receiveSesNotification(notification(complaint()), {}, settings())).toMatchObject({
      ok: true,
      events: [{ kind: 'complaint' }],
    });
    expect(await receiveSesNotification(notification(complaint('not-spam')), {}, settings())).toEqual({
      ok: true,
      events: [],
    });
  });

  it('gives nothing for a delivery notification, and reads eventType (event publishing) like notificationType', async () => {
    expect(
      await receiveSesNotification(notification({ notificationType: 'Delivery', delivery: {}, mail }), {}, settings()),
    ).toEqual({ ok: true, events: [] });
    const published = { ...PERMANENT, notificationType: undefined, eventType: 'Bounce' };
    expect(await receiveSesNotification(notification(published), {}, settings())).toMatchObject({
      ok: true,
      events: [{}, {}, {}],
    });
  });

  it('fetches a certificate once and serves the next messages from the cache', async () => {
    const shared = settings();
    for (let i = 0; i < 3; i += 1) {
      expect(await receiveSesNotification(notification(PERMANENT, { MessageId: `m-${i}` }), {}, shared)).toMatchObject({
        ok: true,
      });
    }
    expect(shared.fetched).toEqual([CERT_URL]);
  });

  it('does not cache a failed fetch', async () => {
    const fetchCertificate = vi
      .fn<(url: string) => Promise<string>>()
      .mockRejectedValueOnce(new Error('timeout'))
      .mockResolvedValue(CERT);
    const flaky = settings({ certificates: new SnsCertificates(fetchCertificate) });
    expect(await receiveSesNotification(notification(PERMANENT), {}, flaky)).toMatchObject({ ok: false, status: 401 });
    expect(await receiveSesNotification(notification(PERMANENT), {}, flaky)).toMatchObject({ ok: true });
    expect(fetchCertificate).toHaveBeenCalledTimes(2);
  });

  describe('subscription', () => {
    const confirmation = (overrides: Fields = {}) =>
      JSON.stringify(
        signSns({
          Type: 'SubscriptionConfirmation',
          MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
          Token:
            '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736',
          TopicArn: TOPIC,
          Message: `You have chosen to subscribe to the topic ${TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
          SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37fb687f`,
          Timestamp: new Date(NOW.getTime() - 5_000).toISOString(),
          ...overrides,
        }),
      );

    it('returns the SubscribeURL of a valid confirmation for the caller to GET', async () => {
      expect(
        await receiveSesNotification(
          confirmation(),
          { 'x-amz-sns-message-type': 'SubscriptionConfirmation' },
          settings(),
        ),
      ).toEqual({
        ok: true,
        events: [],
        subscribeUrl: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37fb687f`,
      });
    });

    it.each([
      [
        'another host',
        `https://sns.us-east-1.amazonaws.com.evil.example/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=x`,
      ],
      ['plain http', `http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=x`],
      ['another region', `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=x`],
      [
        'another topic',
        'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:123456789012:other&Token=x',
      ],
      ['another action', `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&TopicArn=${TOPIC}`],
    ])('refuses a (signed) SubscribeURL on %s', async (_label, url) => {
      expect(await receiveSesNotification(confirmation({ SubscribeURL: url }), {}, settings())).toMatchObject({
        ok: false,
        status: 400,
      });
    });

    it('answers an UnsubscribeConfirmation with nothing to do', async () => {
      expect(await receiveSesNotification(confirmation({ Type: 'UnsubscribeConfirmation' }), {}, settings())).toEqual({
        ok: true,
        events: [],
      });
    });

    it('refuses a confirmation whose Token was changed (it is signed)', async () => {
      const changed = JSON.parse(confirmation()) as Fields;
      changed.Token = 'attacker-token';
      expect(await receiveSesNotification(JSON.stringify(changed), {}, settings())).toMatchObject({
        ok: false,
        status: 401,
      });
    });
  });

  describe('refuses', () => {
    const good = () => JSON.parse(notification(PERMANENT)) as Fields;

    it('a message signed with another key (forged)', async () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      expect(await receiveSesNotification(notification(PERMANENT, {}, { key: other }), {}, settings())).toMatchObject({
        ok: false,
        status: 401,
        reason: 'invalid signature',
      });
    });

    it('a tampered Message (another recipient)', async () => {
      const tampered = good();
      tampered.Message = (tampered.Message ?? '').replace('gone@example.net', 'victim@example.net');
      expect(await receiveSesNotification(JSON.stringify(tampered), {}, settings())).toMatchObject({
        ok: false,
        status: 401,
      });
    });

    it('a Subject added after signing', async () => {
      expect(await receiveSesNotification(JSON.stringify({ ...good(), Subject: 'hi' }), {}, settings())).toMatchObject({
        ok: false,
        status: 401,
      });
    });

    it.each([
      ['plain http', 'http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem'],
      ['a look-alike host', 'https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-x.pem'],
      ['a host that is not SNS', 'https://s3.amazonaws.com/bucket/cert.pem'],
      ['another region than the topic', 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem'],
      ['a path that is not .pem', 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.txt'],
      ['a port', 'https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-x.pem'],
      ['credentials in the URL', 'https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem'],
      ['not a URL', 'sns.us-east-1.amazonaws.com'],
    ])('a SigningCertURL with %s, before fetching anything', async (_label, url) => {
      const shared = settings();
      expect(
        await receiveSesNotification(JSON.stringify({ ...good(), SigningCertURL: url }), {}, shared),
      ).toMatchObject({ ok: false, status: 401 });
      expect(shared.fetched).toEqual([]);
    });

    it('a China-region certificate URL is accepted for a China-region topic', async () => {
      const cnTopic = 'arn:aws-cn:sns:cn-north-1:123456789012:digest-feedback';
      const fields = signSns({
        Type: 'Notification',
        MessageId: 'cn-1',
        TopicArn: cnTopic,
        Message: JSON.stringify(PERMANENT),
        Timestamp: NOW.toISOString(),
      });
      const body = JSON.stringify({
        ...fields,
        SigningCertURL: 'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem',
      });
      expect(await receiveSesNotification(body, {}, settings({ topicArns: [cnTopic] }))).toMatchObject({ ok: true });
    });

    it('a topic we did not subscribe, with 403', async () => {
      expect(
        await receiveSesNotification(
          notification(PERMANENT),
          {},
          settings({ topicArns: ['arn:aws:sns:us-east-1:123456789012:other'] }),
        ),
      ).toMatchObject({ ok: false, status: 403 });
    });

    it('a genuine but stale message, with 403 (default 5 minutes)', async () => {
      const old = notification(PERMANENT, { Timestamp: new Date(NOW.getTime() - 301_000).toISOString() });
      expect(await receiveSesNotification(old, {}, settings())).toMatchObject({
        ok: false,
        status: 403,
        reason: 'stale timestamp',
      });
      expect(await receiveSesNotification(old, {}, settings({ toleranceSeconds: 3600 }))).toMatchObject({ ok: true });
    });

    it('a certificate that is not valid at the time', async () => {
      const later = settings({ now: () => new Date('2200-01-01T00:00:00Z') });
      expect(await receiveSesNotification(notification(PERMANENT), {}, later)).toMatchObject({
        ok: false,
        status: 401,
        reason: 'the signing certificate is not valid now',
      });
    });

    it('a fetched certificate that is not a certificate', async () => {
      const broken = settings({ certificates: new SnsCertificates(async () => 'not a certificate') });
      expect(await receiveSesNotification(notification(PERMANENT), {}, broken)).toMatchObject({
        ok: false,
        status: 401,
      });
    });

    it.each([
      ['SignatureVersion 3', { SignatureVersion: '3' }],
      ['no Signature', { Signature: undefined }],
      ['a Signature that is not base64', { Signature: '%%%' }],
    ])('%s, with 401', async (_label, overrides) => {
      expect(await receiveSesNotification(JSON.stringify({ ...good(), ...overrides }), {}, settings())).toMatchObject({
        ok: false,
        status: 401,
      });
    });

    it('raw message delivery (SES JSON without an SNS envelope): nothing to verify, so 400', async () => {
      expect(await receiveSesNotification(JSON.stringify(PERMANENT), {}, settings())).toMatchObject({
        ok: false,
        status: 400,
      });
    });

    it.each([
      ['not JSON', '{"Type":'],
      ['a JSON array', '[]'],
      ['an unknown Type', JSON.stringify({ Type: 'Other', TopicArn: TOPIC })],
      ['a header type that disagrees with the body', null],
      ['a signed Message that is not SES JSON', notification('hello')],
      ['a signed bounce without its bounce object', notification({ notificationType: 'Bounce', mail })],
      ['an invalid TopicArn', JSON.stringify({ ...good(), TopicArn: 'topic' })],
    ])('%s, with 400', async (label, body) => {
      const headers = label.startsWith('a header type') ? { 'x-amz-sns-message-type': 'SubscriptionConfirmation' } : {};
      expect(await receiveSesNotification(body ?? notification(PERMANENT), headers, settings())).toMatchObject({
        ok: false,
        status: 400,
      });
    });
  });
});
