import { createHmac } from 'node:crypto';
import { type Classification, classifyFailure, orProviderKind } from './classify.ts';
import { dateOr, diagnosticLine, type FeedbackKind } from './event.ts';
import { editionOf, messageIdOf } from './our-identifiers.ts';
import {
  guarded,
  isRecord,
  numeric,
  outsideWindow,
  parseJson,
  refuse,
  sameSecret,
  text,
  type Clock,
  type WebhookHeaders,
  type WebhookResult,
} from './webhook.ts';

/**
 * Mailgun webhooks: a JSON body `{ signature: { timestamp, token, signature }, "event-data": {…} }`,
 * the signature being hex HMAC-SHA256 of timestamp + token under the webhook signing key. The body
 * itself is not signed, only that Mailgun made a request at that time; the stale-timestamp check and
 * the caller's seen-eventId set are what stop a captured request from being replayed with another
 * body. eventId is `event-data.id` (Mailgun keeps it across its retries of the same event).
 */
export interface MailgunSettings extends Clock {
  signingKey: string;
  /** How far the signed timestamp may be from now (seconds); default 300. */
  toleranceSeconds?: number;
}

/**
 * `failed` reasons that are about what Mailgun already knows of the address (its suppression lists),
 * rather than about a reply from the receiver.
 */
const SUPPRESSION_REASONS: Readonly<Record<string, FeedbackKind>> = {
  'suppress-bounce': 'hard',
  'suppress-complaint': 'complaint',
  'suppress-unsubscribe': 'unsubscribe',
  espblock: 'policy',
};

interface Mapped {
  kind: FeedbackKind;
  classified: Classification | null;
  diagnostic: string;
}

function mapFailed(data: Record<string, unknown>): Mapped {
  const delivery = isRecord(data['delivery-status']) ? data['delivery-status'] : {};
  const message = text(delivery.message) ?? '';
  const description = text(delivery.description) ?? '';
  const diagnostic = [message, description]
    .filter((part, index, all) => part && all.indexOf(part) === index)
    .join(' — ');
  const reason = text(data.reason) ?? '';
  const suppressed = SUPPRESSION_REASONS[reason];
  if (suppressed) return { kind: suppressed, classified: null, diagnostic: diagnostic || reason };
  const code = numeric(delivery.code);
  const classified = classifyFailure({
    status: text(delivery['enhanced-code']),
    smtpCode: code !== null && code >= 200 && code < 600 ? Math.trunc(code) : null,
    diagnostic,
  });
  // severity "permanent": Mailgun gave up; "temporary": it will retry.
  const label = text(data.severity) === 'permanent' ? 'hard' : 'soft';
  const final = orProviderKind(classified, label);
  return { kind: final.kind, classified: final, diagnostic: diagnostic || reason };
}

function mapEvent(data: Record<string, unknown>): Mapped | null {
  switch (text(data.event)) {
    case 'failed':
      return mapFailed(data);
    case 'complained':
      return { kind: 'complaint', classified: null, diagnostic: 'complained' };
    case 'unsubscribed':
      return { kind: 'unsubscribe', classified: null, diagnostic: 'unsubscribed' };
    default:
      return null; // accepted, delivered, opened, clicked, stored, …
  }
}

function receiveMailgunUnguarded(body: Buffer | string, settings: MailgunSettings): WebhookResult {
  const parsed = parseJson(body);
  if (!parsed.ok || !isRecord(parsed.value)) return refuse(400, 'the body is not a JSON object');
  const signature = isRecord(parsed.value.signature) ? parsed.value.signature : null;
  const timestamp = signature ? numeric(signature.timestamp) : null;
  const token = signature ? text(signature.token) : null;
  const given = signature ? text(signature.signature) : null;
  if (timestamp === null || !token || !given) return refuse(401, 'missing signature, timestamp or token');
  const expected = createHmac('sha256', settings.signingKey)
    .update(`${String(signature?.timestamp)}${token}`)
    .digest('hex');
  if (!sameSecret(given.toLowerCase(), expected)) return refuse(401, 'invalid signature');
  if (outsideWindow(new Date(timestamp * 1000), settings.toleranceSeconds, settings))
    return refuse(403, 'stale timestamp');

  const data = parsed.value['event-data'];
  if (!isRecord(data)) return refuse(400, 'no event-data');
  const mapped = mapEvent(data);
  if (!mapped) return { ok: true, events: [] };
  const id = text(data.id);
  if (!id) return refuse(400, 'event-data without id');
  const seconds = numeric(data.timestamp);
  const messageHeaders = isRecord(data.message) && isRecord(data.message.headers) ? data.message.headers : {};
  const variables = isRecord(data['user-variables']) ? data['user-variables'] : {};
  return {
    ok: true,
    events: [
      {
        source: 'mailgun',
        eventId: id,
        kind: mapped.kind,
        email: text(data.recipient),
        status: mapped.classified?.status ?? null,
        smtpCode: mapped.classified?.smtpCode ?? null,
        diagnostic: diagnosticLine(mapped.diagnostic),
        at: dateOr(seconds === null ? null : seconds * 1000, new Date(timestamp * 1000)),
        // Mailgun passes X-Mailgun-Variables back as user-variables; an `edition` there is ours.
        edition: editionOf(text(variables.edition)),
        messageId: messageIdOf(text(messageHeaders['message-id'])),
        verpToken: null,
      },
    ],
  };
}

/** Headers are not used: Mailgun signs inside the body. The parameter keeps every receiver's shape. */
export function receiveMailgun(
  body: Buffer | string,
  _headers: WebhookHeaders,
  settings: MailgunSettings,
): WebhookResult {
  return guarded(() => receiveMailgunUnguarded(body, settings));
}
