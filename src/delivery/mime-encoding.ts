/**
 * The small pieces of MIME (RFC 2045/2047/5322) that composing a message once per edition needs.
 * Quoted-printable segments are encoded independently and end in a soft line break, so that
 * pre-encoded static text and per-recipient values can be joined byte for byte.
 */

const MAX_LINE = 76;

function isLiteral(byte: number): boolean {
  return (byte >= 33 && byte <= 126 && byte !== 61) || byte === 32 || byte === 9;
}

/** Quoted-printable for one segment; the result always ends with a line break (soft unless the text ends a line). */
export function encodeQuotedPrintableSegment(text: string): string {
  const lines = text.replace(/\r\n|\r/g, '\n').split('\n');
  const out: string[] = [];
  lines.forEach((line, index) => {
    const hardBreak = index < lines.length - 1;
    out.push(encodeLine(line, hardBreak));
  });
  return out.join('');
}

/** Printable ASCII but `=`, and no whitespace at the end: such a line is its own encoding. */
const PLAIN_LINE = /^[\x20-\x3c\x3e-\x7e\t]*$/;

function encodeLine(line: string, hardBreak: boolean): string {
  if (PLAIN_LINE.test(line) && !(hardBreak && /[ \t]$/.test(line))) return foldPlain(line, hardBreak);
  return encodeBytes(Buffer.from(line, 'utf8'), hardBreak);
}

/** A plain line cut into soft-broken pieces exactly where encodeBytes would cut it. */
function foldPlain(line: string, hardBreak: boolean): string {
  let result = '';
  let start = 0;
  for (; line.length - start > MAX_LINE - 1; start += MAX_LINE - 1) result += `${line.slice(start, start + MAX_LINE - 1)}=\r\n`;
  return `${result}${line.slice(start)}${hardBreak ? '\r\n' : '=\r\n'}`;
}

const escaped = (byte: number) => `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
/** Each byte as it is written in quoted-printable, looked up rather than worked out per byte. */
const TOKENS = Array.from({ length: 256 }, (_, byte) => (isLiteral(byte) ? String.fromCharCode(byte) : escaped(byte)));

function encodeBytes(bytes: Buffer, hardBreak: boolean): string {
  let result = '';
  let column = 0;
  const lastIndex = bytes.length - 1;
  for (let index = 0; index <= lastIndex; index += 1) {
    const byte = bytes[index] ?? 0;
    // Whitespace at the end of a hard line would be stripped in transit: encode it.
    const token = index === lastIndex && hardBreak && (byte === 32 || byte === 9) ? escaped(byte) : (TOKENS[byte] ?? escaped(byte));
    if (column + token.length > MAX_LINE - 1) {
      result += '=\r\n';
      column = 0;
    }
    result += token;
    column += token.length;
  }
  return `${result}${hardBreak ? '\r\n' : '=\r\n'}`;
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
