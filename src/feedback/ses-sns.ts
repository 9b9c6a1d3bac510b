import { type Classification, classifyFailure, orProviderKind } from './classify.ts';
import {
  dateOr,
  diagnosticLine,
  type BounceKind,
  type FeedbackEvent,
  type FeedbackKind,
  type OurIdentifiers,
} from './event.ts';
import { HeaderFields } from './mime.ts';
import { identifiersIn, messageIdOf } from './our-identifiers.ts';
import { reportedAddress } from './reported-address.ts';
import { snsUrl, verifySnsMessage, type SnsSettings } from './sns.ts';
import { verpTokenIn } from './verp.ts';
import { isRecord, parseJson, text, type WebhookHeaders } from './webhook.ts';

/**
 * Amazon SES bounce and complaint notifications delivered through an SNS topic to an HTTPS
 * subscription, raw message delivery off (the SES JSON is the `Message` string of a signed SNS
 * envelope). With raw delivery on there is no signature to check, so such requests are refused.
 *
 * A valid SubscriptionConfirmation answers with `subscribeUrl`: the caller confirms by a GET to it
 * (checked here to be https on SNS's host for the topic's region, for that topic).
 */
export type SesWebhookResult =
  { ok: true; events: FeedbackEvent[]; subscribeUrl?: string } | { ok: false; status: 400 | 401 | 403; reason: string };

export interface SesSettings extends SnsSettings {
  /** Our bounce base address: a VERP token in the message's envelope sender (mail.source) is reported. */
  bounceAddress?: string;
}

/**
 * SES `bounceType/bounceSubType` → kind. `label` entries are decided by the recipient's status and
 * diagnostic where those are specific, the label being what SES's type says when they are not: a
 * Permanent/General that is really a 5.7.x policy block (SES files many of those as permanent) is no
 * dead address. The suppression-list subtypes are addresses SES refuses to mail because of an
 * earlier hard bounce (here or, for Suppressed, at other senders): hard.
 */
export const SES_BOUNCE_TYPES: Readonly<Record<string, { kind: BounceKind; label?: true }>> = {
  'Permanent/General': { kind: 'hard', label: true },
  'Permanent/NoEmail': { kind: 'hard' },
  'Permanent/Suppressed': { kind: 'hard' },
  'Permanent/OnAccountSuppressionList': { kind: 'hard' },
  'Transient/General': { kind: 'soft', label: true },
  'Transient/MailboxFull': { kind: 'soft' },
  'Transient/MessageTooLarge': { kind: 'policy' }, // our edition's size, not the reader's address
  'Transient/ContentRejected': { kind: 'policy' },
  'Transient/AttachmentRejected': { kind: 'policy' },
  'Undetermined/Undetermined': { kind: 'soft', label: true },
};

/** complaintFeedbackType values that are not the reader calling us spam. */
const NOT_COMPLAINTS = new Set(['not-spam', 'auth-failure']);

function ourIdentifiers(mail: Record<string, unknown>, settings: SesSettings): OurIdentifiers {
  // mail.headers is there when "include original headers" is on; commonHeaders always.
  const headers = Array.isArray(mail.headers)
    ? new HeaderFields(
        mail.headers
          .filter(isRecord)
          .filter((entry) => typeof entry.name === 'string' && typeof entry.value === 'string')
          .map((entry) => ({ name: String(entry.name).toLowerCase(), value: String(entry.value).trim() })),
      )
    : null;
  const fromHeaders = identifiersIn(headers, settings);
  const common = isRecord(mail.commonHeaders) ? mail.commonHeaders : {};
  return {
    edition: fromHeaders.edition,
    messageId: fromHeaders.messageId ?? messageIdOf(text(common.messageId)),
    // SES's mail.source is the envelope sender: our VERP address when we use one.
    verpToken: verpTokenIn(text(mail.source), settings.bounceAddress) ?? fromHeaders.verpToken,
  };
}

interface Recipient {
  email: string;
  kind: FeedbackKind;
  classified: Classification | null;
  diagnostic: string;
}

function bounceRecipients(bounce: Record<string, unknown>): Recipient[] {
  const type = `${text(bounce.bounceType) ?? 'Undetermined'}/${text(bounce.bounceSubType) ?? 'Undetermined'}`;
  const mapping = SES_BOUNCE_TYPES[type] ?? { kind: 'soft', label: true };
  const recipients = Array.isArray(bounce.bouncedRecipients) ? bounce.bouncedRecipients.filter(isRecord) : [];
  return recipients.flatMap((recipient) => {
    const email = reportedAddress(text(recipient.emailAddress)) ?? text(recipient.emailAddress);
    if (!email) return [];
    const diagnostic = text(recipient.diagnosticCode) ?? '';
    const classification = classifyFailure({ status: text(recipient.status), diagnostic });
    const classified = mapping.label ? orProviderKind(classification, mapping.kind) : classification;
    return [
      {
        email,
        kind: mapping.label ? classified.kind : mapping.kind,
        classified,
        diagnostic: diagnostic.replace(/^smtp;\s*/i, '') || `${type} bounce`,
      },
    ];
  });
}

function complaintRecipients(complaint: Record<string, unknown>): Recipient[] {
  const feedbackType = text(complaint.complaintFeedbackType)?.toLowerCase() ?? null;
  if (feedbackType && NOT_COMPLAINTS.has(feedbackType)) return [];
  const userAgent = text(complaint.userAgent);
  const diagnostic = `complaint${feedbackType ? ` (${feedbackType})` : ''}${userAgent ? ` from ${userAgent}` : ''}`;
  const recipients = Array.isArray(complaint.complainedRecipients)
    ? complaint.complainedRecipients.filter(isRecord)
    : [];
  return recipients.flatMap((recipient) => {
    const email = reportedAddress(text(recipient.emailAddress)) ?? text(recipient.emailAddress);
    return email ? [{ email, kind: 'complaint' as const, classified: null, diagnostic }] : [];
  });
}

/** The SES notification in an authenticated SNS Notification; null when it is not SES JSON. */
function sesEvents(
  snsMessageId: string,
  snsTime: Date,
  message: string,
  settings: SesSettings,
): FeedbackEvent[] | null {
  const parsed = parseJson(message);
  if (!parsed.ok || !isRecord(parsed.value)) return null;
  const notification = parsed.value;
  // notificationType for SES feedback notifications, eventType for configuration-set event publishing.
  const type = text(notification.notificationType) ?? text(notification.eventType);
  const mail = isRecord(notification.mail) ? notification.mail : {};
  const detail = type === 'Bounce' ? notification.bounce : type === 'Complaint' ? notification.complaint : null;
  if (!isRecord(detail)) return type === 'Bounce' || type === 'Complaint' ? null : []; // deliveries, opens, …
  const recipients = type === 'Bounce' ? bounceRecipients(detail) : complaintRecipients(detail);
  const identifiers = ourIdentifiers(mail, settings);
  const at = dateOr(detail.timestamp, snsTime);
  return recipients.map((recipient) => ({
    source: 'ses' as const,
    eventId: `${snsMessageId}:${recipient.email.toLowerCase()}`,
    kind: recipient.kind,
    email: recipient.email,
    status: recipient.classified?.status ?? null,
    smtpCode: recipient.classified?.smtpCode ?? null,
    diagnostic: diagnosticLine(recipient.diagnostic),
    at,
    ...identifiers,
  }));
}

export async function receiveSesNotification(
  body: Buffer | string,
  headers: WebhookHeaders,
  settings: SesSettings,
): Promise<SesWebhookResult> {
  try {
    const checked = await verifySnsMessage(body, headers, settings);
    if (!checked.ok) return checked;
    const { message } = checked;
    if (message.type === 'UnsubscribeConfirmation') return { ok: true, events: [] };
    if (message.type === 'SubscriptionConfirmation') {
      const region = /^arn:[^:]+:sns:([^:]+):/.exec(message.topicArn)?.[1] ?? '';
      const url = message.subscribeUrl ? snsUrl(message.subscribeUrl, region) : null;
      if (
        !url ||
        url.searchParams.get('Action') !== 'ConfirmSubscription' ||
        url.searchParams.get('TopicArn') !== message.topicArn
      ) {
        return { ok: false, status: 400, reason: 'SubscribeURL is not an SNS confirmation link for this topic' };
      }
      return { ok: true, events: [], subscribeUrl: url.href };
    }
    const events = sesEvents(message.messageId, message.timestamp, message.message, settings);
    return events
      ? { ok: true, events }
      : { ok: false, status: 400, reason: 'the notification is not an SES bounce or complaint' };
  } catch {
    return { ok: false, status: 400, reason: 'unreadable notification' }; // never throw at the caller
  }
}
