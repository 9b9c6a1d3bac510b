import { classifyFailure } from './classify.ts';
import { dateOr, diagnosticLine, type FeedbackEvent, NO_IDENTIFIERS, type OurIdentifiers, reportId } from './event.ts';
import { findEntity, type HeaderFields, type MimeEntity, readFieldGroups, readMessage, textOf } from './mime.ts';
import { identifiersIn, mergeIdentifiers, messageIdOf } from './our-identifiers.ts';
import { reportedAddress } from './reported-address.ts';
import { returnedHeaders } from './returned-headers.ts';
import { verpTokenIn } from './verp.ts';

/**
 * Delivery status notifications (RFC 3464) from the bounce mailbox: a `multipart/report;
 * report-type=delivery-status` with a human-readable part, a `message/delivery-status` part (one group
 * of per-message fields, then one group per recipient) and the returned message or its headers.
 *
 * One event per recipient whose Action is `failed` (classified by Status and Diagnostic-Code) or
 * `delayed` (always soft: the MTA is still trying). `delivered`, `relayed` and `expanded` are success.
 *
 * Only real DSNs count. A bounce written as plain text (old Exim, qmail, some appliances) and a
 * report whose status part is typed `text/plain` give nothing: guessing an address from prose is how
 * a quoted "user unknown" in an auto-reply would suppress a reader. Malformed input gives nothing too;
 * the caller logs the empty result.
 */
export interface DsnOptions {
  /** The address the DSN was delivered to (our VERP return path), when the SMTP listener knows it. */
  envelopeTo?: string;
  /** Our bounce base address: only VERP tokens on it are reported. */
  bounceAddress?: string;
  /** When the report arrived: the time of an event whose report has no date. */
  receivedAt?: Date;
}

const STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);

const isDeliveryReport = (entity: MimeEntity) =>
  entity.type === 'multipart/report' && /^(global-)?delivery-status$/i.test(entity.params['report-type'] ?? '');

/** `smtp; 550 5.1.1 …` → the type and the text. */
function diagnosticCode(value: string | null): { type: string; text: string } {
  if (!value) return { type: '', text: '' };
  const semicolon = value.indexOf(';');
  if (semicolon < 0) return { type: '', text: value.trim() };
  return { type: value.slice(0, semicolon).trim().toLowerCase(), text: value.slice(semicolon + 1).trim() };
}

function eventFor(
  recipient: HeaderFields,
  context: { reportKey: string; reportDate: Date; identifiers: OurIdentifiers },
): FeedbackEvent | null {
  const action = (recipient.get('action') ?? '').toLowerCase().split(/[\s;(]/)[0] ?? '';
  if (action !== 'failed' && action !== 'delayed') return null;
  // The Original-Recipient is the address we sent to; the Final-Recipient may be where it was forwarded.
  const email =
    reportedAddress(recipient.get('original-recipient')) ?? reportedAddress(recipient.get('final-recipient'));
  if (!email) return null;
  const statusField = recipient.get('status');
  const code = diagnosticCode(recipient.get('diagnostic-code'));
  const classified = classifyFailure({ status: statusField, diagnostic: code.text });
  // Only an SMTP reply's code is an SMTP code; "X-Postfix; …" text is the MTA's own words.
  const smtpCode = code.type === 'smtp' || code.type === '' ? classified.smtpCode : null;
  const kind = action === 'delayed' ? 'soft' : classified.kind;
  return {
    source: 'dsn',
    eventId: reportId('dsn', context.reportKey, email.toLowerCase(), action),
    kind,
    email,
    status: classified.status,
    smtpCode,
    diagnostic: diagnosticLine(code.text || `delivery ${action}${classified.status ? ` (${classified.status})` : ''}`),
    at: dateOr(recipient.get('last-attempt-date'), context.reportDate),
    ...context.identifiers,
  };
}

export function parseDsn(raw: Buffer | string, options: DsnOptions = {}): FeedbackEvent[] {
  try {
    const message = readMessage(raw);
    const report = findEntity(message, isDeliveryReport);
    const statusPart = report?.parts.find((part) => STATUS_TYPES.has(part.type));
    if (!report || !statusPart) return [];
    const ourHeaders = returnedHeaders(report);
    const identifiers = mergeIdentifiers(
      { ...NO_IDENTIFIERS, verpToken: verpTokenIn(options.envelopeTo, options.bounceAddress) },
      identifiersIn(ourHeaders, options),
    );
    const groups = readFieldGroups(textOf(statusPart));
    // The first group holds the per-message fields; a broken MTA that omits it starts with a recipient.
    const recipients = groups[0]?.get('final-recipient') ? groups : groups.slice(1);
    const context = {
      reportKey: messageIdOf(message.headers.get('message-id')) ?? reportId(raw),
      reportDate: dateOr(message.headers.get('date'), options.receivedAt ?? new Date()),
      identifiers,
    };
    return recipients.map((recipient) => eventFor(recipient, context)).filter((event) => event !== null);
  } catch {
    return []; // malformed beyond what the reader tolerates: nothing to report, the caller logs it
  }
}
