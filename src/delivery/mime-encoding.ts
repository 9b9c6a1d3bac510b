/**
 * The small pieces of MIME (RFC 2045/2047/5322) that composing a message once per edition needs.
 * Quoted-printable segments are encoded independently and end in a soft line break, so that
 * pre-encoded static text and per-recipient values can be joined byte for byte.
 */

const MAX_LINE = 76;
/** Where a soft line break goes: a line holds at most this much before its `=`. */
const SOFT_LIMIT = MAX_LINE - 1;
const LF = 0x0a;
const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

function isLiteral(byte: number): boolean {
  return (byte >= 33 && byte <= 126 && byte !== 61) || byte === 32 || byte === 9;
}

/** Where segments are encoded before their bytes are copied out; grows to the longest one seen. */
let scratch = Buffer.allocUnsafeSlow(4096);

/**
 * Quoted-printable for one segment, as bytes (it is ASCII); the result always ends with a line
 * break (soft unless the text ends a line). Written byte by byte into a reused buffer: a value is
 * encoded for every recipient, and building it as a string made a string per byte for the collector.
 */
export function encodeQuotedPrintableSegment(text: string): Buffer {
  const input = Buffer.from(text.includes('\r') ? text.replace(/\r\n|\r/g, '\n') : text, 'utf8');
  // Each byte takes at most 3, plus a soft break before it; then the final soft break.
  if (scratch.length < input.length * 6 + 3) scratch = Buffer.allocUnsafeSlow(input.length * 6 + 3);
  const out = scratch;
  let length = 0;
  let column = 0;
  for (let index = 0; index < input.length; index += 1) {
    const byte = input[index] ?? 0;
    if (byte === LF) {
      out[length++] = 0x0d;
      out[length++] = LF;
      column = 0;
      continue;
    }
    // Whitespace at the end of a hard line would be stripped in transit: encode it.
    const literal = isLiteral(byte) && !((byte === 32 || byte === 9) && input[index + 1] === LF);
    if (column + (literal ? 1 : 3) > SOFT_LIMIT) {
      out[length++] = 0x3d;
      out[length++] = 0x0d;
      out[length++] = LF;
      column = 0;
    }
    if (literal) {
      out[length++] = byte;
      column += 1;
    } else {
      out[length++] = 0x3d;
      out[length++] = HEX[byte >> 4] ?? 0;
      out[length++] = HEX[byte & 15] ?? 0;
      column += 3;
    }
  }
  out[length++] = 0x3d;
  out[length++] = 0x0d;
  out[length++] = LF;
  return Buffer.from(out.subarray(0, length));
}

/** RFC 2047 encoded words for a header value (only when it is not plain ASCII), folded to keep lines short. */
export function encodeHeaderValue(value: string): string {
  assertSingleLine(value);

  if (/^[\x20-\x7e]*$/.test(value)) return value;
  const words: string[] = [];
  let chunk = '';
  for (const char of value) {
    if (Buffer.byteLength(chunk + char) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word, 'utf8').toString('base64')}?=`).join('\r\n ');
}

/** `Name <address>` with the name encoded as needed. */
export function formatMailbox(address: string, name = ''): string {
  assertSingleLine(address);
  if (!name) return address;

  const display = /^[\x20-\x7e]*$/.test(name) ? `"${name.replace(/["\\]/g, '\\$&')}"` : encodeHeaderValue(name);
  return `${display} <${address}>`;
}

/** Parses `Name <address>` or a bare address (the MAIL_FROM setting). */
export function parseMailbox(value: string): { name: string; address: string } {
  const match = /^\s*(?:"?([^"<]*?)"?\s*)?<([^<>\s@]+@[^<>\s@]+)>\s*$/.exec(value);
  if (match) return { name: (match[1] ?? '').trim(), address: match[2] ?? '' };
  const bare = value.trim();
  if (/^[^<>\s@]+@[^<>\s@]+$/.test(bare)) return { name: '', address: bare };
  throw new Error(`not a mailbox: ${JSON.stringify(value)}`);
}

/** Header injection guard: nothing that reaches a header may start a new line. */
export function assertSingleLine(value: string): void {
  if (/[\r\n]/.test(value)) throw new Error('header value contains a line break');
}

let lastDate = { second: Number.NaN, text: '' };

/** RFC 5322 date, e.g. `Wed, 25 Nov 2026 18:30:00 +0000` (worked out once a second: every message has one). */
export function formatDate(date: Date): string {
  const second = Math.floor(date.getTime() / 1000);
  if (second !== lastDate.second) lastDate = { second, text: date.toUTCString().replace(/GMT$/, '+0000') };
  return lastDate.text;
}
