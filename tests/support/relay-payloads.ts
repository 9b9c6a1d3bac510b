import {
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  sign,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SNS_CERT_URL, SNS_ORIGIN } from './sns-peer.ts';

/**
 * Requests as each relay sends them to its webhook, in its documented format, signed with test keys:
 * Amazon SNS (SES notifications), SendGrid's signed Event Webhook, Mailgun, Postmark (basic auth).
 */

export const SNS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:digest-feedback';
const SNS_KEY = createPrivateKey(
  readFileSync(new URL('../fixtures/feedback/sns/test-signing-key.pem', import.meta.url), 'utf8'),
);
const sendgrid = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
export const MAILGUN_KEY = 'mailgun-signing-key-0123456789abcdef';
export const POSTMARK = { user: 'postmark-hook', password: 'postmark-password-0123456789' };

/** The settings that configure every relay webhook with these keys. */
export const RELAY_ENV = {
  SES_SNS_TOPIC_ARNS: SNS_TOPIC,
  SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  MAILGUN_SIGNING_KEY: MAILGUN_KEY,
  POSTMARK_WEBHOOK_USER: POSTMARK.user,
  POSTMARK_WEBHOOK_PASSWORD: POSTMARK.password,
};

export interface RelayRequest {
  body: string;
  headers: Record<string, string>;
}

/** A key no relay uses: what a forger signs with. */
export const forgerKeys = () => ({
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  ec: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
});

type SnsFields = Record<string, string>;

/** AWS's string to sign: `Name\nvalue\n` over the type's fields in byte order, SHA256withRSA (SignatureVersion 2). */
function signSns(fields: SnsFields, key: KeyObject): SnsFields {
  const names =
    fields.Type === 'Notification'
      ? ['Message', 'MessageId', ...(fields.Subject !== undefined ? ['Subject'] : []), 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const canonical = names.map((name) => `${name}\n${fields[name] ?? ''}\n`).join('');
  return {
    ...fields,
    SignatureVersion: '2',
    Signature: sign('sha256', Buffer.from(canonical), key).toString('base64'),
    SigningCertURL: SNS_CERT_URL,
  };
}

/** An SES notification (bounce or complaint JSON) in a signed SNS envelope, as POSTed to an HTTPS subscription. */
export function sesRequest(
  sesMessage: unknown,
  options: { timestamp?: Date; key?: KeyObject; messageId?: string } = {},
): RelayRequest {
  const fields = signSns(
    {
      Type: 'Notification',
      MessageId: options.messageId ?? randomUUID(),
      TopicArn: SNS_TOPIC,
      Message: JSON.stringify(sesMessage),
      Timestamp: (options.timestamp ?? new Date()).toISOString(),
      UnsubscribeURL: `${SNS_ORIGIN}/?Action=Unsubscribe&SubscriptionArn=${SNS_TOPIC}:c9135db0-26c4-47ec-8998-413945fb5a96`,
    },
    options.key ?? SNS_KEY,
  );
  return {
    body: JSON.stringify(fields),
    headers: {
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-topic-arn': SNS_TOPIC,
    },
  };
}

export function sesSubscriptionConfirmation(token = randomBytes(16).toString('hex')): RelayRequest {
  const fields = signSns(
    {
      Type: 'SubscriptionConfirmation',
      MessageId: randomUUID(),
      Token: token,
      TopicArn: SNS_TOPIC,
      Message: `You have chosen to subscribe to the topic ${SNS_TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: `${SNS_ORIGIN}/?Action=ConfirmSubscription&TopicArn=${SNS_TOPIC}&Token=${token}`,
      Timestamp: new Date().toISOString(),
    },
    SNS_KEY,
  );
  return {
    body: JSON.stringify(fields),
    headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'SubscriptionConfirmation' },
  };
}

/** SES's notification contents (notificationType, mail, bounce or complaint), as AWS documents them. */
export function sesBounce(
  recipient: { email: string; status: string; diagnostic: string },
  mail: { source: string; messageId?: string },
  bounceType = 'Permanent',
  bounceSubType = 'General',
) {
  return {
    notificationType: 'Bounce',
    bounce: {
      bounceType,
      bounceSubType,
      bouncedRecipients: [
        {
          emailAddress: recipient.email,
          action: 'failed',
          status: recipient.status,
          diagnosticCode: `smtp; ${recipient.diagnostic}`,
        },
      ],
      timestamp: new Date().toISOString(),
      feedbackId: `0100017e1c2d3e50-${randomUUID()}-000000`,
      reportingMTA: 'dsn; a8-70.smtp-out.amazonses.com',
    },
    mail: sesMail(recipient.email, mail),
  };
}

export function sesComplaint(email: string, mail: { source: string; messageId?: string }) {
  return {
    notificationType: 'Complaint',
    complaint: {
      complainedRecipients: [{ emailAddress: email }],
      timestamp: new Date().toISOString(),
      feedbackId: randomUUID(),
      userAgent: 'Yahoo!-Mail-Feedback/2.0',
      complaintFeedbackType: 'abuse',
    },
    mail: sesMail(email, mail),
  };
}

function sesMail(email: string, mail: { source: string; messageId?: string }) {
  return {
    timestamp: new Date().toISOString(),
    source: mail.source,
    sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/example.test',
    sendingAccountId: '123456789012',
    messageId: `0100017e1c2d3e4f-${randomUUID()}-000000`,
    destination: [email],
    commonHeaders: {
      from: ['Evening Digest <digest@example.test>'],
      ...(mail.messageId ? { messageId: mail.messageId } : {}),
      subject: 'The Evening Digest',
    },
  };
}

/** SendGrid's Event Webhook: ECDSA over the timestamp header followed by the raw body. */
export function sendgridRequest(events: unknown[], options: { timestamp?: Date; key?: KeyObject } = {}): RelayRequest {
  const body = JSON.stringify(events);
  const timestamp = String(Math.floor((options.timestamp ?? new Date()).getTime() / 1000));
  const signature = sign('sha256', Buffer.from(timestamp + body), {
    key: options.key ?? sendgrid.privateKey,
    dsaEncoding: 'der',
  }).toString('base64');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-signature': signature,
      'x-twilio-email-event-webhook-timestamp': timestamp,
    },
  };
}

/** Mailgun's webhook body: the signature (hex HMAC-SHA256 of timestamp + token) beside the event data. */
export function mailgunRequest(
  eventData: Record<string, unknown>,
  options: { timestamp?: Date; key?: string } = {},
): RelayRequest {
  const timestamp = String(Math.floor((options.timestamp ?? new Date()).getTime() / 1000));
  const token = randomBytes(25).toString('hex');
  const signature = createHmac('sha256', options.key ?? MAILGUN_KEY)
    .update(timestamp + token)
    .digest('hex');
  return {
    body: JSON.stringify({ signature: { timestamp, token, signature }, 'event-data': eventData }),
    headers: { 'content-type': 'application/json' },
  };
}

/** Postmark's bounce and spam-complaint webhooks: JSON, with the basic-auth credentials of the webhook URL. */
export function postmarkRequest(
  record: Record<string, unknown>,
  credentials: { user: string; password: string } = POSTMARK,
): RelayRequest {
  return {
    body: JSON.stringify(record),
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`,
    },
  };
}
