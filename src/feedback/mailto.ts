import { dateOr, type FeedbackEvent, reportId } from './event.ts';
import { readMessage } from './mime.ts';
import { messageIdOf } from './our-identifiers.ts';
import { reportedAddress } from './reported-address.ts';
import { readUnsubscribeAddress, verpTokenIn } from './verp.ts';

/**
 * Mail to the RFC 2369 `List-Unsubscribe: <mailto:unsubscribe+<token>@…>` address: the reader (or
 * their mailbox provider's unsubscribe button) sent a message there, and that is the whole request.
 * The token in the envelope recipient is the proof: it names the reader and was only ever in their
 * copy of the edition, so a forged or foreign address gives nothing.
 *
 * Auto-replies (RFC 3834 `Auto-Submitted: auto-replied`, e.g. a vacation notice sent to the wrong
 * address) and delivery reports are not someone asking to leave, and give nothing.
 */
export interface UnsubscribeMailOptions {
  /** The SMTP envelope recipient (RCPT TO): our unsubscribe address with its token. */
  envelopeTo: string;
  secret: string;
  /** Our unsubscribe base address, e.g. `unsubscribe@lists.example.org`. */
  unsubscribeAddress: string;
  receivedAt?: Date;
}

export function parseUnsubscribeMail(raw: Buffer | string, options: UnsubscribeMailOptions): FeedbackEvent[] {
  try {
    const claims = readUnsubscribeAddress(options.envelopeTo, options.secret, options.unsubscribeAddress);
    if (!claims) return [];
    const message = readMessage(raw);
    const autoSubmitted = (message.headers.get('auto-submitted') ?? 'no').toLowerCase();
    if (autoSubmitted.startsWith('auto-replied') || message.type === 'multipart/report') return [];
    const token = verpTokenIn(options.envelopeTo) ?? '';
    return [
      {
        source: 'mailto',
        eventId: reportId('mailto', messageIdOf(message.headers.get('message-id')) ?? reportId(raw), token),
        kind: 'unsubscribe',
        // Who sent the request, as it says; the reader it is about is the token's recipient id.
        email: reportedAddress(message.headers.get('from')),
        status: null,
        smtpCode: null,
        diagnostic: 'unsubscribe request by mail',
        at: dateOr(message.headers.get('date'), options.receivedAt ?? new Date()),
        edition: claims.edition || null,
        messageId: messageIdOf(message.headers.get('in-reply-to')),
        verpToken: token,
      },
    ];
  } catch {
    return [];
  }
}
