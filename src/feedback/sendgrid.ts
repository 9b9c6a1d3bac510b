import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { type Classification, classifyFailure, orProviderKind } from './classify.ts';
import { dateOr, diagnosticLine, type BounceKind, type FeedbackEvent, type FeedbackKind } from './event.ts';
import { messageIdOf } from './our-identifiers.ts';
import {
  bodyBytes,
  header,
  isRecord,
  numeric,
  outsideWindow,
  parseJson,
  refuse,
  text,
  type Clock,
  type WebhookHeaders,
  type WebhookResult,
  guarded,
} from './webhook.ts';

/**
 * SendGrid's signed Event Webhook: ECDSA P-256 with SHA-256 over the timestamp header followed by the
 * raw body, signature base64 (DER) in X-Twilio-Email-Event-Webhook-Signature, timestamp (Unix seconds)
 * in X-Twilio-Email-Event-Webhook-Timestamp. The verification key is the base64 DER public key SendGrid
 * shows in its mail settings. The body is a JSON array of events; eventId is `sg_event_id`.
 */
export interface SendgridSettings extends Clock {
  /** The verification key as SendGrid shows it (base64 DER SubjectPublicKeyInfo), or read once with `readSendgridKey`. */
  publicKey: string | KeyObject;
  /** How far the signed timestamp may be from now (seconds); default 300. */
  toleranceSeconds?: number;
}

const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/** Reads the configured key; throws for one that is not an EC public key, so a bad setting fails at start. */
export function readSendgridKey(base64Der: string): KeyObject {
  const key = createPublicKey({
    key: Buffer.from(base64Der.replace(/\s+/g, ''), 'base64'),
    format: 'der',
    type: 'spki',
  });
  if (key.asymmetricKeyType !== 'ec')
    throw new RangeError('the SendGrid verification key is not an elliptic-curve public key');
  return key;
}

function signatureValid(body: Buffer, timestamp: string, signature: string, settings: SendgridSettings): boolean {
  try {
    const key = typeof settings.publicKey === 'string' ? readSendgridKey(settings.publicKey) : settings.publicKey;
    const payload = Buffer.concat([Buffer.from(timestamp, 'utf8'), body]);
    return verify('sha256', payload, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
  } catch {
    return false; // an unreadable signature (or key) proves nothing
  }
}

/** bounce_classification (SendGrid's reading of the reply) → our label when the reply itself is unclear. */
const CLASSIFICATIONS: Readonly<Record<string, BounceKind>> = {
  'Invalid Address': 'hard',
  'Mailbox Unavailable': 'soft',
  'Technical Failure': 'soft',
  Reputation: 'policy',
  Content: 'policy',
  'Frequency or Volume Too High': 'policy',
};

/** `dropped` reasons: SendGrid did not even try, because of what it already knows about the address. */
const DROPPED_REASONS: Readonly<Record<string, FeedbackKind>> = {
  'Bounced Address': 'hard',
  'Spam Reporting Address': 'complaint',
  'Unsubscribed Address': 'unsubscribe',
  'Spam Content': 'policy',
};

interface Mapped {
  kind: FeedbackKind;
  classified: Classification | null;
  diagnostic: string | null;
}

function mapEvent(event: Record<string, unknown>): Mapped | null {
  const reason = text(event.reason);
  const status = text(event.status);
  switch (text(event.event)) {
    case 'bounce': {
      // type "bounce": the receiver refused for good; "blocked": it refused us, usually for now.
      const blocked = text(event.type) === 'blocked';
      const label = CLASSIFICATIONS[text(event.bounce_classification) ?? ''] ?? (blocked ? 'soft' : 'hard');
      const classified = orProviderKind(classifyFailure({ status, diagnostic: reason }), label);
      return { kind: classified.kind, classified, diagnostic: reason };
    }
    case 'deferred': {
      const response = text(event.response) ?? reason;
      const classified = orProviderKind(classifyFailure({ diagnostic: response }), 'soft');
      return { kind: classified.kind, classified, diagnostic: response };
    }
    case 'dropped': {
      const kind = DROPPED_REASONS[(reason ?? '').replace(/\s*\(.*\)\s*$/, '')];
      return kind ? { kind, classified: null, diagnostic: `dropped: ${reason}` } : null;
    }
    case 'spamreport':
      return { kind: 'complaint', classified: null, diagnostic: 'spam report' };
    case 'unsubscribe':
    case 'group_unsubscribe':
      return { kind: 'unsubscribe', classified: null, diagnostic: text(event.event) };
    default:
      return null; // processed, delivered, open, click, …
  }
}

function receiveSendgridUnguarded(
  body: Buffer | string,
  headers: WebhookHeaders,
  settings: SendgridSettings,
): WebhookResult {
  const signature = header(headers, SIGNATURE_HEADER);
  const timestamp = header(headers, TIMESTAMP_HEADER);
  if (!signature || !timestamp) return refuse(401, 'missing signature or timestamp header');
  const bytes = bodyBytes(body);
  if (!/^\d{1,12}$/.test(timestamp) || !signatureValid(bytes, timestamp, signature, settings))
    return refuse(401, 'invalid signature');
  if (outsideWindow(new Date(Number(timestamp) * 1000), settings.toleranceSeconds, settings))
    return refuse(403, 'stale timestamp');

  const parsed = parseJson(bytes);
  if (!parsed.ok || !Array.isArray(parsed.value)) return refuse(400, 'the body is not a JSON array of events');
  const events: FeedbackEvent[] = [];
  for (const item of parsed.value) {
    // An event without its id or address is skipped, not the batch: refusing the batch would make
    // SendGrid send it again and again, with every good event in it.
    if (!isRecord(item) || !text(item.sg_event_id) || !text(item.email)) continue;
    const mapped = mapEvent(item);
    if (!mapped) continue;
    const seconds = numeric(item.timestamp);
    events.push({
      source: 'sendgrid',
      eventId: text(item.sg_event_id) ?? '',
      kind: mapped.kind,
      email: text(item.email),
      status: mapped.classified?.status ?? null,
      smtpCode: mapped.classified?.smtpCode ?? null,
      diagnostic: diagnosticLine(mapped.diagnostic),
      at: dateOr(seconds === null ? null : seconds * 1000, new Date(Number(timestamp) * 1000)),
      edition: null,
      messageId: messageIdOf(text(item['smtp-id'])),
      verpToken: null,
    });
  }
  return { ok: true, events };
}

export function receiveSendgrid(
  body: Buffer | string,
  headers: WebhookHeaders,
  settings: SendgridSettings,
): WebhookResult {
  return guarded(() => receiveSendgridUnguarded(body, headers, settings));
}
