import { dateOr, diagnosticLine, type FeedbackEvent, NO_IDENTIFIERS, reportId } from './event.ts';
import { findEntity, type MimeEntity, readHeaderBlock, readMessage, textOf } from './mime.ts';
import { identifiersIn, mergeIdentifiers, messageIdOf } from './our-identifiers.ts';
import { reportedAddress } from './reported-address.ts';
import { returnedHeaders } from './returned-headers.ts';
import { verpTokenIn } from './verp.ts';

/**
 * Complaint reports from feedback loops in the Abuse Reporting Format (RFC 5965): a `multipart/report;
 * report-type=feedback-report` with a human-readable part, a `message/feedback-report` part
 * (Feedback-Type, User-Agent, Version, Original-Mail-From, Original-Rcpt-To, Arrival-Date, …) and the
 * original message or its headers.
 *
 * Feedback types abuse, fraud, virus and other are the reader saying "this is spam": a `complaint`.
 * `not-spam` (the reader took it back out of the spam folder) and `auth-failure` (RFC 6591: a report
 * about our DKIM/SPF, not about a reader) give nothing, and so do types we do not know.
 *
 * The recipient: Original-Rcpt-To when the reporter gives it, else the To header of the returned
 * message (our own header). Microsoft's JMRP and AOL redact both; then `email` is null and the caller
 * finds the reader by the VERP token (from Original-Mail-From or the returned Return-Path, both our
 * envelope sender) or our Message-ID.
 */
export interface ArfOptions {
  /** Our bounce base address: only VERP tokens on it are reported. */
  bounceAddress?: string;
  /** When the report arrived: the time of an event whose report has no date. */
  receivedAt?: Date;
}

const COMPLAINT_TYPES = new Set(['abuse', 'fraud', 'virus', 'other']);

const isFeedbackReport = (entity: MimeEntity) =>
  entity.type === 'multipart/report' && (entity.params['report-type'] ?? '').toLowerCase() === 'feedback-report';

export function parseArf(raw: Buffer | string, options: ArfOptions = {}): FeedbackEvent[] {
  try {
    const message = readMessage(raw);
    const report = findEntity(message, isFeedbackReport);
    const feedbackPart = report?.parts.find((part) => part.type === 'message/feedback-report');
    if (!report || !feedbackPart) return [];
    const fields = readHeaderBlock(textOf(feedbackPart));
    const feedbackType = (fields.get('feedback-type') ?? '').toLowerCase();
    if (!COMPLAINT_TYPES.has(feedbackType)) return [];

    const ourHeaders = returnedHeaders(report);
    const identifiers = mergeIdentifiers(identifiersIn(ourHeaders, options), {
      ...NO_IDENTIFIERS,
      verpToken: verpTokenIn(fields.get('original-mail-from'), options.bounceAddress),
    });
    const reported = fields
      .all('original-rcpt-to')
      .map(reportedAddress)
      .filter((address) => address !== null);
    const fromOurHeader = reportedAddress(ourHeaders?.get('to'));
    const recipients: Array<string | null> = reported.length > 0 ? [...new Set(reported)] : [fromOurHeader];

    // The report is written when the reader complains; Arrival-Date is when our message arrived.
    const arrived = fields.get('arrival-date') ?? fields.get('received-date');
    const at = dateOr(message.headers.get('date'), dateOr(arrived, options.receivedAt ?? new Date()));
    const reportKey = messageIdOf(message.headers.get('message-id')) ?? reportId(raw);
    const userAgent = fields.get('user-agent');
    const diagnostic = diagnosticLine(`${feedbackType} report${userAgent ? ` from ${userAgent}` : ''}`);
    return recipients.map((email) => ({
      source: 'arf' as const,
      eventId: reportId('arf', reportKey, email?.toLowerCase() ?? ''),
      kind: 'complaint' as const,
      email,
      status: null,
      smtpCode: null,
      diagnostic,
      at,
      ...identifiers,
    }));
  } catch {
    return []; // malformed beyond what the reader tolerates: nothing to report, the caller logs it
  }
}
