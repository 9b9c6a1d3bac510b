/**
 * Just enough MIME (RFC 2045/2046) to read reports: header blocks, content types, multipart bodies and
 * transfer encodings. Hand-written on purpose: mailparser flattens an attached `message/rfc822` into the
 * text and drops its headers, and the returned message's Message-ID, X-Edition and Return-Path are the
 * point of reading a report. Reports are hostile input: nothing here throws, and nesting is bounded.
 */
export interface HeaderField {
  /** Lower-case. */
  name: string;
  /** Unfolded, trimmed, decoded as UTF-8 (RFC 6532 allows it; ASCII stays as it is). */
  value: string;
}

export class HeaderFields {
  constructor(readonly fields: readonly HeaderField[]) {}

  /** The first field of that name, or null. */
  get(name: string): string | null {
    const lower = name.toLowerCase();
    return this.fields.find((field) => field.name === lower)?.value ?? null;
  }

  all(name: string): string[] {
    const lower = name.toLowerCase();
    return this.fields.filter((field) => field.name === lower).map((field) => field.value);
  }
}

export interface MimeEntity {
  headers: HeaderFields;
  /** Lower-case `type/subtype`; `text/plain` when absent (RFC 2045 default). */
  type: string;
  /** Content-Type parameters, names lower-case. */
  params: Record<string, string>;
  /** The body after transfer decoding (for a multipart, the raw body). */
  body: Buffer;
  parts: MimeEntity[];
}

const MAX_DEPTH = 8;
const MAX_PARTS = 64;

function utf8(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/** Header fields of a block of header lines (given as a latin1 string so bytes survive). */
export function readHeaderBlock(block: string): HeaderFields {
  const fields: HeaderField[] = [];
  for (const line of block.split(/\r?\n/)) {
    const last = fields[fields.length - 1];
    if (/^[ \t]/.test(line)) {
      if (last) last.value += ` ${utf8(line.trim())}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!-9;-~]+$/.test(name)) continue; // not a header line (e.g. an mbox "From " line)
    fields.push({ name: name.toLowerCase(), value: utf8(line.slice(colon + 1).trim()) });
  }
  return new HeaderFields(fields.map((field) => ({ name: field.name, value: field.value.trim() })));
}

/** Field groups separated by blank lines, as in message/delivery-status (RFC 3464 section 2.1). */
export function readFieldGroups(text: string): HeaderFields[] {
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((block) => readHeaderBlock(block.replace(/^(\s*\r?\n)+/, '')))
    .filter((group) => group.fields.length > 0);
}

export function parseContentType(value: string | null): { type: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  if (!value) return { type: 'text/plain', params };
  const semicolon = value.indexOf(';');
  const type = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  const rest = semicolon < 0 ? '' : value.slice(semicolon);
  for (const match of rest.matchAll(/;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g)) {
    const raw = match[2] ?? '';
    params[(match[1] ?? '').toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return { type: /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) ? type : 'text/plain', params };
}

function decodeTransfer(body: string, encoding: string | null): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return Buffer.from(
        body
          .replace(/[ \t]+(?=\r?\n)/g, '')
          .replace(/=\r?\n/g, '')
          .replace(/=([0-9A-Fa-f]{2})/g, (_all, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        'latin1',
      );
    default:
      return Buffer.from(body, 'latin1');
  }
}

/** The parts of a multipart body: what lies between `--boundary` lines, up to `--boundary--`. */
function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let start: number | null = null;
  let index = body.startsWith(delimiter) ? 0 : body.indexOf(`\n${delimiter}`);
  while (index >= 0 && parts.length < MAX_PARTS) {
    const at = body[index] === '\n' ? index + 1 : index;
    const after = at + delimiter.length;
    const closing = body.startsWith('--', after);
    const lineEnd = body.indexOf('\n', after);
    // A delimiter line is the delimiter, optional whitespace, then the line end (RFC 2046 5.1.1).
    if (closing || /^[ \t]*\r?$/.test(body.slice(after, lineEnd < 0 ? body.length : lineEnd))) {
      if (start !== null) parts.push(body.slice(start, index > 0 && body[index - 1] === '\r' ? index - 1 : index));
      if (closing) return parts;
      start = lineEnd < 0 ? body.length : lineEnd + 1;
    }
    index = body.indexOf(`\n${delimiter}`, after);
  }
  if (start !== null && parts.length < MAX_PARTS) parts.push(body.slice(start)); // no closing delimiter: tolerated
  return parts;
}

function readEntity(raw: string, depth: number): MimeEntity {
  const split = /\r?\n\r?\n/.exec(raw);
  const startsBlank = /^\r?\n/.test(raw);
  const headerText = startsBlank ? '' : split ? raw.slice(0, split.index) : raw;
  const bodyText = startsBlank ? raw.replace(/^\r?\n/, '') : split ? raw.slice(split.index + split[0].length) : '';
  const headers = readHeaderBlock(headerText);
  const { type, params } = parseContentType(headers.get('content-type'));
  const boundary = params.boundary;
  if (type.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const parts = splitMultipart(bodyText, boundary).map((part) => readEntity(part, depth + 1));
    return { headers, type, params, body: Buffer.from(bodyText, 'latin1'), parts };
  }
  return { headers, type, params, body: decodeTransfer(bodyText, headers.get('content-transfer-encoding')), parts: [] };
}

/** Reads a whole message (or an attached one). Never throws; unreadable parts come out as text/plain. */
export function readMessage(raw: Buffer | string): MimeEntity {
  const text = typeof raw === 'string' ? Buffer.from(raw, 'utf8').toString('latin1') : raw.toString('latin1');
  return readEntity(text, 0);
}

/** The first entity, depth first and this one included, that matches. */
export function findEntity(entity: MimeEntity, matches: (entity: MimeEntity) => boolean): MimeEntity | null {
  if (matches(entity)) return entity;
  for (const part of entity.parts) {
    const found = findEntity(part, matches);
    if (found) return found;
  }
  return null;
}

/** A text body in its declared charset (UTF-8 when unknown). */
export function textOf(entity: MimeEntity): string {
  const charset = entity.params.charset?.toLowerCase() ?? 'utf-8';
  try {
    return new TextDecoder(charset === 'us-ascii' ? 'utf-8' : charset).decode(entity.body);
  } catch {
    return entity.body.toString('utf8');
  }
}
