import { createHash } from 'node:crypto';

/**
 * The one shape every feedback source is turned into: relays' webhooks, DSNs and ARF reports from the
 * bounce mailbox, mail to the unsubscribe address, and refusals met while sending. The caller applies
 * each event once, keyed by (source, eventId): the same report can arrive again (webhook retries, a
 * DSN delivered twice), and each source gives the same eventId every time it sends the same report.
 */
export type FeedbackKind = 'hard' | 'soft' | 'complaint' | 'policy' | 'unsubscribe';

/** What a failed delivery says about the address: the three kinds a bounce can be. */
export type BounceKind = Extract<FeedbackKind, 'hard' | 'soft' | 'policy'>;

/**
 * Where a report came from; `admin` is POST /admin/bounces, the service's own JSON; `smtp` is the
 * receiving server's refusal while we sent (src/feedback/send-refusal.ts).
 */
export type FeedbackSource = 'ses' | 'sendgrid' | 'mailgun' | 'postmark' | 'dsn' | 'arf' | 'mailto' | 'admin' | 'smtp';

export interface FeedbackEvent {
  source: FeedbackSource;
  /** Stable id of this report from the provider (or a hash of the report), so a replay is recognised. */
  eventId: string;
  kind: FeedbackKind;
  /** The recipient address the report is about (as reported). */
  email: string | null;
  /** Enhanced status code, e.g. "5.1.1", when known. */
  status: string | null;
  /** SMTP reply code, e.g. 550, when known. */
  smtpCode: number | null;
  /** Diagnostic text, one line, at most 300 characters. */
  diagnostic: string;
  at: Date;
  /**
   * Our own message identifiers when the report carries them: the edition id (our header X-Edition),
   * the Message-ID we sent (without angle brackets), and the VERP token (unverified: the caller checks
   * it with `readVerpToken` before trusting the recipient it names).
   */
  edition: string | null;
  messageId: string | null;
  verpToken: string | null;
}

/** Our identifiers found in a report; every parser fills them the same way. */
export interface OurIdentifiers {
  edition: string | null;
  messageId: string | null;
  verpToken: string | null;
}

export const NO_IDENTIFIERS: OurIdentifiers = { edition: null, messageId: null, verpToken: null };

export const DIAGNOSTIC_MAX = 300;

/**
 * Reduces a remote server's reply to one readable line of at most 300 characters: replies are
 * multi-line, folded and repeat their code on every line (Gmail: "550-5.1.1 … 550-5.1.1 … 550 5.1.1"),
 * and the text ends up in logs, the console and the subscriber's history.
 */
export function diagnosticLine(text: string | null | undefined): string {
  if (!text) return '';
  let line = text
    // eslint-disable-next-line no-control-regex -- control characters must never reach logs or pages
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const lead = /^(\d{3})[ -](\d)\.(\d{1,3})\.(\d{1,3}) /.exec(line);
  if (lead) {
    // Keep the first "550-5.1.1 ", drop the continuation lines' repeats of it.
    const [first, code, klass, subject, detail] = lead;
    const repeat = new RegExp(` ${code}[ -]${klass}\\.${subject}\\.${detail}(?= |$)`, 'g');
    line = first + line.slice(first.length).replace(repeat, '').trim();
  }
  return line.length <= DIAGNOSTIC_MAX ? line : `${line.slice(0, DIAGNOSTIC_MAX - 1).trimEnd()}…`;
}

/** A date from a report, or the fallback when it is missing or unreadable (a report is never dropped for its date). */
export function dateOr(value: unknown, fallback: Date): Date {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? fallback : value;
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
  if (typeof value !== 'string' || value.trim() === '') return fallback;
  // RFC 5322 dates may end in a comment, e.g. "+0000 (UTC)", which Date.parse does not always accept.
  const parsed = Date.parse(value.replace(/\([^()]*\)\s*$/, '').trim());
  return Number.isNaN(parsed) ? fallback : new Date(parsed);
}

/**
 * An eventId for a report that has no id of its own (a DSN, an ARF report): a hash of what makes it
 * this report, e.g. the report's own Message-ID and the recipient, so the same report read twice
 * gets the same id.
 */
export function reportId(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('hex').slice(0, 32);
}
