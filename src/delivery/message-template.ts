import { randomBytes } from 'node:crypto';
import { escapeHtml } from '../platform/html.ts';
import type { BufferPool } from './buffer-pool.ts';
import { assertSingleLine, encodeHeaderValue, encodeQuotedPrintableSegment, formatDate } from './mime-encoding.ts';

/** Per-recipient values; each `%%name%%` in the body is replaced (HTML-escaped in the HTML part). */
export type Personalization = Record<string, string>;

export interface MessageSource {
  from: string;
  subject: string;
  /** Absent for readers who chose plain text: the message is then a single text/plain part. */
  html?: string;
  text: string;
  /** Headers the same for every recipient (List-Id, ...). Values must be single-line ASCII. */
  headers?: Record<string, string>;
}

export interface RecipientHeaders {
  to: string;
  messageId: string;
  /** Extra per-recipient headers (List-Unsubscribe, ...). */
  headers?: Record<string, string>;
}

type Segment = { literal: Buffer } | { placeholder: string };

const PLACEHOLDER = /%%([a-z_]+)%%/g;


/**
 * A message composed once: headers shared by all recipients, both bodies quoted-printable encoded,
 * split around their placeholders. `render` then only encodes the few per-recipient values and
 * joins buffers, which is what makes delivery cost close to sending a prebuilt message.
 */
export class MessageTemplate {
  private readonly boundary = `=_digest_${randomBytes(12).toString('hex')}`;
  private readonly sharedHeaders: string;
  private readonly body: Array<{ segment: Segment; html: boolean }>;

  constructor(source: MessageSource) {
    const headers: Array<[string, string]> = [
      ['From', source.from],
      ['Subject', encodeHeaderValue(source.subject)],
      ['MIME-Version', '1.0'],
      ...Object.entries(source.headers ?? {}),
    ];
    const text = split(source.text).map((segment) => ({ segment, html: false }));
    if (source.html === undefined) {
      headers.push(['Content-Type', 'text/plain; charset=utf-8'], ['Content-Transfer-Encoding', 'quoted-printable']);
      this.body = text;
    } else {
      headers.push(['Content-Type', `multipart/alternative; boundary="${this.boundary}"`]);
      const partHeader = (type: string) =>
        `--${this.boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`;
      this.body = [
        ...literal(partHeader('text/plain')),
        ...text,
        ...literal(`\r\n${partHeader('text/html')}`),
        ...split(source.html).map((segment) => ({ segment, html: true })),
        ...literal(`\r\n--${this.boundary}--\r\n`),
      ];
    }
    this.sharedHeaders = headers.map(([name, value]) => headerLine(name, value)).join('');
  }

  /** Placeholders the bodies use, so callers can check they supply every value. */
  placeholders(): string[] {
    return [...new Set(this.body.flatMap(({ segment }) => ('placeholder' in segment ? [segment.placeholder] : [])))];
  }

  /** The message for one recipient; `pool` lends the buffer (give it back after sending). */
  render(recipient: RecipientHeaders, values: Personalization, date = new Date(), pool?: BufferPool): Buffer {
    const headers =
      headerLine('To', recipient.to) +
      headerLine('Date', formatDate(date)) +
      headerLine('Message-ID', recipient.messageId) +
      Object.entries(recipient.headers ?? {})
        .map(([name, value]) => headerLine(name, value))
        .join('');
    const parts: Buffer[] = [Buffer.from(headers + this.sharedHeaders + '\r\n', 'utf8')];
    for (const { segment, html } of this.body) {
      if ('literal' in segment) {
        parts.push(segment.literal);
        continue;
      }
      const value = values[segment.placeholder];
      if (value === undefined) throw new Error(`no value for %%${segment.placeholder}%%`);
      parts.push(Buffer.from(encodeQuotedPrintableSegment(html ? escapeHtml(value) : value), 'utf8'));
    }
    return join(parts, pool);
  }
}

function join(parts: Buffer[], pool?: BufferPool): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = pool ? pool.take(length) : Buffer.allocUnsafeSlow(length);
  let offset = 0;
  for (const part of parts) offset += part.copy(out, offset);
  return out;
}

function headerLine(name: string, value: string): string {
  assertSingleLine(value.replace(/\r\n /g, ' '));
  return `${name}: ${value}\r\n`;
}

function literal(text: string): Array<{ segment: Segment; html: boolean }> {
  return [{ segment: { literal: Buffer.from(text, 'utf8') }, html: false }];
}

/** Splits a body around its placeholders and encodes the static pieces once. */
function split(body: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const match of body.matchAll(PLACEHOLDER)) {
    segments.push({ literal: Buffer.from(encodeQuotedPrintableSegment(body.slice(last, match.index)), 'utf8') });
    segments.push({ placeholder: match[1] ?? '' });
    last = (match.index ?? 0) + match[0].length;
  }
  segments.push({ literal: Buffer.from(encodeQuotedPrintableSegment(body.slice(last)), 'utf8') });
  return segments;
}
