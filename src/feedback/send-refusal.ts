import type { RefusedPart, SendFailure } from '../delivery/mail-sender.ts';
import { type Classification, classifyFailure, orProviderKind } from './classify.ts';
import { diagnosticLine, type FeedbackEvent } from './event.ts';

/**
 * A permanent refusal our own SMTP client met while sending (a 5xx to RCPT TO or after DATA), with
 * the server's reply, e.g. `550 5.7.1 Message rejected by recipient policy`.
 */
export interface SendRefusal extends Pick<Extract<SendFailure, { kind: 'failed' }>, 'refused' | 'code' | 'reply'> {
  /** The address the message was for. */
  email: string;
  /** The edition the message belonged to; null for a confirmation or welcome email. */
  edition: string | null;
  /** What makes this refusal this one (the edition's run and the reader; the email's job): applied twice, it counts once. */
  eventId: string;
  at: Date;
}

/**
 * What the refused part says where the reply itself says nothing specific, as a relay's own label
 * does (`orProviderKind`): a refused recipient is a gone address, as it always was here; a message
 * refused after DATA for no named reason is about what we sent (content, size, our reputation),
 * never about the reader.
 */
const WHEN_UNEXPLAINED: Record<RefusedPart, Classification['kind']> = { recipient: 'hard', message: 'policy' };

/**
 * A refusal at send time as a report for the feedback loop, classified by the same rules as a DSN
 * or a relay's webhook (classify.ts): a 5.7.x (Microsoft's 5.7.515 when our authentication fails, a
 * content block) is a `policy` block that suppresses nobody, a 5.1.1 is a `hard` bounce, a full
 * mailbox a `soft` one, whether it came back at RCPT TO, after DATA or days later by mail.
 */
export function refusalReport(refusal: SendRefusal): FeedbackEvent {
  const classification = orProviderKind(
    classifyFailure({ smtpCode: refusal.code, diagnostic: refusal.reply }),
    WHEN_UNEXPLAINED[refusal.refused],
  );
  return {
    source: 'smtp',
    eventId: refusal.eventId,
    kind: classification.kind,
    email: refusal.email,
    status: classification.status,
    smtpCode: classification.smtpCode,
    diagnostic: diagnosticLine(refusal.reply),
    at: refusal.at,
    edition: refusal.edition,
    messageId: null,
    verpToken: null,
  };
}
