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
    out.push(encodeLine(Buffer.from(line, 'utf8'), hardBreak));
  });
  return out.join('');
}

function encodeLine(bytes: Buffer, hardBreak: boolean): string {
  let result = '';
  let current = '';
  bytes.forEach((byte, index) => {
    const last = index === bytes.length - 1;
    // Whitespace at the end of a hard line would be stripped in transit: encode it.
    const token = isLiteral(byte) && !(last && hardBreak && (byte === 32 || byte === 9)) ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (current.length + token.length > MAX_LINE - 1) {
      result += `${current}=\r\n`;
      current = '';
    }
    current += token;
  });
  return `${result}${current}${hardBreak ? '\r\n' : '=\r\n'}`;
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

/** RFC 5322 date, e.g. `Wed, 25 Nov 2026 18:30:00 +0000`. */
export function formatDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}
