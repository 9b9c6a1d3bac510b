import type { Redis } from 'ioredis';
import type { RedisKeys } from '../platform/redis-keys.ts';

export interface Envelope {
  from: string;
  to: string;
}

export interface SendResult {
  /** The server's reply, e.g. `250 2.0.0 Ok: queued as 4Xyz`. */
  reply: string;
}

/** Hands a fully built message to the outside world; `messageId`, when given, is the one in its header. */
export interface MailSender {
  send(envelope: Envelope, raw: Buffer, messageId?: string): Promise<SendResult>;
  close(): Promise<void>;
}

/**
 * The headers DKIM signs: nodemailer's own list (RFC 4871's, with List-Unsubscribe-Post) and
 * Feedback-ID, which Gmail's feedback loop only believes when a signature of the sending domain
 * covers it. Our X-Edition is signed too, so that it can be trusted when a report gives it back.
 */
export const DKIM_SIGNED_HEADERS = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'Resent-Date',
  'Resent-From',
  'Resent-Sender',
  'Resent-To',
  'Resent-Cc',
  'Resent-Message-ID',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
  'Feedback-ID',
  'X-Edition',
].join(':');

const MAILBOX_SIZE = 500;

/**
 * Development stand-in for SMTP: every message is kept in Redis (newest first, the last 500), so
 * that the API process can show what any worker process "sent" at /dev/mailbox.
 */
export class DevMailbox implements MailSender {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<RedisKeys, 'devMailbox'>,
  ) {}

  private get key(): string {
    return this.keys.devMailbox();
  }

  async send(envelope: Envelope, raw: Buffer): Promise<SendResult> {
    const record = JSON.stringify({ envelope, at: new Date().toISOString(), raw: raw.toString('utf8') });
    await this.redis
      .multi()
      .lpush(this.key, record)
      .ltrim(this.key, 0, MAILBOX_SIZE - 1)
      .exec();
    return { reply: '250 kept in the dev mailbox' };
  }

  async list(limit = 50, offset = 0): Promise<Array<{ envelope: Envelope; at: string; raw: string }>> {
    const records = await this.redis.lrange(this.key, offset, offset + limit - 1);
    return records.map((record) => JSON.parse(record) as { envelope: Envelope; at: string; raw: string });
  }

  async close(): Promise<void> {}
}

/**
 * What the server refused for good: the recipient (5xx to RCPT TO) or this message (5xx after DATA).
 * What that says about the reader is for the feedback loop's classifier (src/feedback/send-refusal.ts).
 */
export type RefusedPart = 'recipient' | 'message';

export type SendFailure =
  | { kind: 'deferred'; code: number | null; reply: string }
  | { kind: 'failed'; code: number; reply: string; refused: RefusedPart };

interface SmtpError {
  responseCode?: number;
  command?: string;
  response?: string;
  message?: string;
  code?: string;
}

/**
 * A 5xx answer to RCPT TO or DATA is final: the delivery fails and is not retried (an editor's resend
 * may try it again). Everything else (4xx, 5xx to MAIL FROM or the greeting, dropped or refused
 * connections, timeouts, authentication trouble) is temporary and retried with backoff.
 */
export function classifySendError(error: unknown): SendFailure {
  const smtp = (error ?? {}) as SmtpError;
  const code = typeof smtp.responseCode === 'number' ? smtp.responseCode : null;
  const reply = (smtp.response ?? smtp.message ?? String(error)).slice(0, 500);
  if (code !== null && code >= 500 && (smtp.command === 'RCPT TO' || smtp.command === 'DATA')) {
    return { kind: 'failed', code, reply, refused: smtp.command === 'RCPT TO' ? 'recipient' : 'message' };
  }
  return { kind: 'deferred', code, reply: smtp.code ? `${smtp.code}: ${reply}` : reply };
}
