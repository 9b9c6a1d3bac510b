import { randomBytes } from 'node:crypto';
import { escapeHtml } from '../platform/html.ts';
import {
  fieldsUsed,
  type PersonalField,
  type PersonalizedText,
  type PersonalValues,
} from '../platform/personal-fields.ts';
import type { BufferPool } from './buffer-pool.ts';
import { assertSingleLine, encodeHeaderValue, encodeQuotedPrintableSegment, formatDate } from './mime-encoding.ts';

export interface MessageSource {
  from: string;
  subject: string;
  /** Absent for readers who chose plain text: the message is then a single text/plain part. */
  html?: PersonalizedText;
  text: PersonalizedText;
  /** Headers the same for every recipient (List-Id, ...). Values must be single-line ASCII. */
  headers?: Record<string, string>;
}

export interface RecipientHeaders {
  to: string;
  messageId: string;
  /** Extra per-recipient headers (List-Unsubscribe, ...). */
  headers?: Record<string, string>;
}

type Segment = { literal: Buffer } | { field: PersonalField };
/** A piece of the body: bytes as they are, or a personal field, whose value `render` encodes into `slot`. */
type BodyPart = { literal: Buffer } | { field: PersonalField; html: boolean; slot: number };

/** A personal field the message has a position for, but the caller gave no value. */
export class MissingPersonalValue extends Error {
  constructor(readonly field: PersonalField) {
    super(`no value for the personal field ${field}`);
    this.name = 'MissingPersonalValue';
  }
}

/**
 * A message composed once: headers shared by all recipients, both bodies quoted-printable encoded,
 * cut at the positions of their personal fields (fixed when the templates were rendered). `render`
 * then only encodes the few per-recipient values and joins buffers, which is what makes delivery
 * cost close to sending a prebuilt message.
 */
export class MessageTemplate {
  private readonly boundary = `=_digest_${randomBytes(12).toString('hex')}`;
  /** The headers the same for every recipient, with the blank line that ends the header. */
  private readonly sharedHeaders: Buffer;
  private readonly body: BodyPart[];
  /** The personal fields the bodies use, each once. */
  readonly fields: PersonalField[];

  constructor(source: MessageSource) {
    const headers: Array<[string, string]> = [
      ['From', source.from],
      ['Subject', encodeHeaderValue(source.subject)],
      ['MIME-Version', '1.0'],
      ...Object.entries(source.headers ?? {}),
    ];
    this.fields = fieldsUsed(source.text, ...(source.html ? [source.html] : []));
    const text = segments(source.text).map((segment) => ({ segment, html: false }));
    if (source.html === undefined) {
      headers.push(['Content-Type', 'text/plain; charset=utf-8'], ['Content-Transfer-Encoding', 'quoted-printable']);
      this.body = numbered(text);
    } else {
      headers.push(['Content-Type', `multipart/alternative; boundary="${this.boundary}"`]);
      const partHeader = (type: string) =>
        `--${this.boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`;
      this.body = numbered([
        ...literal(partHeader('text/plain')),
        ...text,
        ...literal(`\r\n${partHeader('text/html')}`),
        ...segments(source.html).map((segment) => ({ segment, html: true })),
        ...literal(`\r\n--${this.boundary}--\r\n`),
      ]);
    }
    this.sharedHeaders = Buffer.from(`${headers.map(([name, value]) => headerLine(name, value)).join('')}\r\n`, 'utf8');
  }

  /** The message for one recipient; `pool` lends the buffer (give it back after sending). */
  render(recipient: RecipientHeaders, values: PersonalValues, date = new Date(), pool?: BufferPool): Buffer {
    const headers =
      headerLine('To', recipient.to) +
      headerLine('Date', formatDate(date)) +
      headerLine('Message-ID', recipient.messageId) +
      Object.entries(recipient.headers ?? {})
        .map(([name, value]) => headerLine(name, value))
        .join('');
    const parts: Buffer[] = [Buffer.from(headers, 'utf8'), this.sharedHeaders];
    // A field placed many times (a tracking token in every article link) is encoded once per body.
    const encoded: Array<Buffer | undefined> = [];
    for (const part of this.body) {
      if ('literal' in part) {
        parts.push(part.literal);
        continue;
      }
      let bytes = encoded[part.slot];
      if (bytes === undefined) {
        const value = values[part.field];
        if (value === undefined) throw new MissingPersonalValue(part.field);
        bytes = encodeQuotedPrintableSegment(part.html ? escapeHtml(value) : value);
        encoded[part.slot] = bytes;
      }
      parts.push(bytes);
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

/** The body's pieces, each (field, body) pair numbered: its value is encoded once per message, however often it is placed. */
function numbered(pieces: Array<{ segment: Segment; html: boolean }>): BodyPart[] {
  const slots = new Map<string, number>();
  return pieces.map(({ segment, html }) => {
    if ('literal' in segment) return segment;
    const key = `${html ? 'html' : 'text'}:${segment.field}`;
    const slot = slots.get(key) ?? slots.size;
    slots.set(key, slot);
    return { field: segment.field, html, slot };
  });
}

/** The body's static pieces encoded once, with its personal fields between them. */
function segments(body: PersonalizedText): Segment[] {
  return body.parts.flatMap((part, index): Segment[] => {
    const literal: Segment = { literal: encodeQuotedPrintableSegment(part) };
    const field = body.fields[index];
    return field === undefined ? [literal] : [literal, { field }];
  });
}
