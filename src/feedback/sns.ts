import { verify, X509Certificate } from 'node:crypto';
import { header, isRecord, outsideWindow, parseJson, type Clock, type WebhookHeaders } from './webhook.ts';

/**
 * Amazon SNS message authentication, as AWS documents it ("Verifying the signatures of Amazon SNS
 * messages"): the string to sign is `Name\nvalue\n` for a fixed list of fields in byte order —
 * Message, MessageId, Subject (if present), Timestamp, TopicArn, Type for a Notification; Message,
 * MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type for a (Un)SubscriptionConfirmation —
 * signed SHA1withRSA (SignatureVersion 1) or SHA256withRSA (2) with the key of the certificate at
 * SigningCertURL.
 *
 * The certificate URL is the attacker's easiest lever, so it must be https on `sns.<region>.
 * amazonaws.com` (or `.com.cn`) with a `.pem` path, in the topic's own region, before anything is
 * fetched; TLS to that host is what vouches for the certificate. Only topics the caller lists are
 * accepted (AWS: "reject any message with an unexpected TopicArn").
 */
export type FetchCertificate = (url: string) => Promise<string>;

export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

export interface SnsMessage {
  type: SnsMessageType;
  messageId: string;
  topicArn: string;
  /** For a Notification, the published text (SES's JSON); for confirmations, AWS's explanation. */
  message: string;
  timestamp: Date;
  /** Only for confirmations. */
  subscribeUrl: string | null;
}

export type SnsCheck = { ok: true; message: SnsMessage } | { ok: false; status: 400 | 401 | 403; reason: string };

export interface SnsSettings extends Clock {
  /** The topics we subscribed; a message for any other topic is refused. */
  topicArns: readonly string[];
  certificates: SnsCertificates;
  /** How far the signed Timestamp may be from now (seconds); default 300. Raise it for a delivery policy with long retries. */
  toleranceSeconds?: number;
}

const SNS_HOST = /^sns\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;
export const TOPIC_ARN = /^arn:aws(-cn|-us-gov)?:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_.-]{1,256}$/;

/** Signing certificates by URL, fetched once (AWS rotates them rarely); failures are not cached. */
export class SnsCertificates {
  private readonly cache = new Map<string, Promise<X509Certificate>>();

  constructor(
    private readonly fetchCertificate: FetchCertificate,
    private readonly maxEntries = 32,
  ) {}

  get(url: string): Promise<X509Certificate> {
    const cached = this.cache.get(url);
    if (cached) return cached;
    const loading = this.fetchCertificate(url).then((pem) => new X509Certificate(pem));
    loading.catch(() => this.cache.delete(url));
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value ?? '');
    this.cache.set(url, loading);
    return loading;
  }
}

/** An https URL on SNS's own host for the region, e.g. the SigningCertURL or the SubscribeURL. */
export function snsUrl(value: string, region: string): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const host = SNS_HOST.exec(url.hostname);
  if (
    url.protocol !== 'https:' ||
    !host ||
    host[1] !== region ||
    url.port !== '' ||
    url.username !== '' ||
    url.password !== ''
  )
    return null;
  return url;
}

function stringToSign(fields: Record<string, unknown>, type: SnsMessageType): string | null {
  const names =
    type === 'Notification'
      ? [
          'Message',
          'MessageId',
          ...(typeof fields.Subject === 'string' ? ['Subject'] : []),
          'Timestamp',
          'TopicArn',
          'Type',
        ]
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  let signed = '';
  for (const name of names) {
    const value = fields[name];
    if (typeof value !== 'string') return null;
    signed += `${name}\n${value}\n`;
  }
  return signed;
}

function signatureValid(
  algorithm: 'sha1' | 'sha256',
  signed: string,
  certificate: X509Certificate,
  signature: string,
): boolean {
  try {
    return verify(algorithm, Buffer.from(signed, 'utf8'), certificate.publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false; // a key or signature OpenSSL cannot use proves nothing
  }
}

const refuse = (status: 400 | 401 | 403, reason: string): SnsCheck => ({ ok: false, status, reason });

export async function verifySnsMessage(
  body: Buffer | string,
  headers: WebhookHeaders,
  settings: SnsSettings,
): Promise<SnsCheck> {
  const parsed = parseJson(body);
  if (!parsed.ok || !isRecord(parsed.value)) return refuse(400, 'the body is not a JSON object');
  const fields = parsed.value;
  const type = fields.Type;
  if (type !== 'Notification' && type !== 'SubscriptionConfirmation' && type !== 'UnsubscribeConfirmation')
    return refuse(400, 'not an SNS message type');
  const headerType = header(headers, 'x-amz-sns-message-type');
  if (headerType !== null && headerType !== type) return refuse(400, 'x-amz-sns-message-type does not match the body');
  const topicArn = typeof fields.TopicArn === 'string' ? fields.TopicArn : '';
  const topic = TOPIC_ARN.exec(topicArn);
  if (!topic) return refuse(400, 'no valid TopicArn');
  if (!settings.topicArns.includes(topicArn)) return refuse(403, 'a topic we did not subscribe');

  const signed = stringToSign(fields, type);
  if (signed === null || typeof fields.Signature !== 'string' || typeof fields.SigningCertURL !== 'string') {
    return refuse(401, 'missing signed fields, Signature or SigningCertURL');
  }
  const algorithm = fields.SignatureVersion === '1' ? 'sha1' : fields.SignatureVersion === '2' ? 'sha256' : null;
  if (!algorithm) return refuse(401, 'unsupported SignatureVersion');
  const certUrl = snsUrl(fields.SigningCertURL, topic[2] ?? '');
  if (!certUrl || !certUrl.pathname.endsWith('.pem'))
    return refuse(401, "SigningCertURL is not an SNS certificate of the topic's region");

  let certificate: X509Certificate;
  try {
    certificate = await settings.certificates.get(certUrl.href);
  } catch {
    return refuse(401, 'the signing certificate could not be fetched or read');
  }
  const now = (settings.now ?? (() => new Date()))();
  if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo))
    return refuse(401, 'the signing certificate is not valid now');
  if (!signatureValid(algorithm, signed, certificate, fields.Signature)) return refuse(401, 'invalid signature');

  const timestamp = new Date(typeof fields.Timestamp === 'string' ? fields.Timestamp : '');
  if (Number.isNaN(timestamp.getTime())) return refuse(400, 'Timestamp is not a date');
  if (outsideWindow(timestamp, settings.toleranceSeconds, settings)) return refuse(403, 'stale timestamp');
  return {
    ok: true,
    message: {
      type,
      messageId: String(fields.MessageId),
      topicArn,
      message: String(fields.Message),
      timestamp,
      subscribeUrl: typeof fields.SubscribeURL === 'string' ? fields.SubscribeURL : null,
    },
  };
}
