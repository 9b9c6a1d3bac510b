import { describe, expect, it } from 'vitest';
import {
  assertSingleLine,
  encodeHeaderValue,
  encodeQuotedPrintableSegment,
  formatDate,
  formatMailbox,
  parseMailbox,
} from '../../src/delivery/mime-encoding.ts';

/**
 * A strict quoted-printable decoder (RFC 2045 6.7): it refuses anything a careful encoder never
 * produces, so it checks the encoding's shape as well as giving back the text.
 */
function decodeQuotedPrintable(encoded: string): string {
  const bytes: number[] = [];
  const body = encoded.replace(/=\r\n/g, '');
  for (let i = 0; i < body.length; i += 1) {
    const char = body[i] ?? '';
    if (char === '=') {
      const hex = body.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new Error(`bad escape "=${hex}" at ${i}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(char.charCodeAt(0));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** What a transport may rely on: short lines, CRLF only, printable ASCII, nothing trailing to strip. */
function expectWellFormed(encoded: string): void {
  expect(encoded.endsWith('\r\n')).toBe(true);
  const lines = encoded.slice(0, -2).split('\r\n');
  for (const line of lines) {
    expect(line.length).toBeLessThanOrEqual(76);
    expect(line).toMatch(/^[\t\x20-\x7e]*$/);
    expect(line).not.toMatch(/[ \t]$/);
  }
}

/** Line breaks in any convention come out as CRLF. */
const crlf = (text: string) => text.replace(/\r\n|\r|\n/g, '\r\n');

/** The encoding as text (quoted-printable is ASCII). */
const encode = (text: string) => encodeQuotedPrintableSegment(text).toString('latin1');

/** mulberry32: small, seeded, good enough to generate test inputs reproducibly. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('encodeQuotedPrintableSegment', () => {
  const longWord = 'x'.repeat(300);
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['plain ASCII', 'Good evening, reader.'],
    ['equals signs', 'a=b, c==d, =3D is not an escape, ends with ='],
    ['German umlauts', 'Grüße aus Köln: äöü ÄÖÜ ß'],
    ['German quotes', '„Zitat“ und ‚noch eins‘'],
    ['emoji', 'News 📰 and a family 👨‍👩‍👧 and 😀😀😀'],
    ['trailing space before LF', 'line with space \nnext'],
    ['trailing tab before CRLF', 'line with tab\t\r\nnext'],
    ['only spaces on a line', 'above\n   \nbelow'],
    ['trailing space at the very end', 'ends in a space '],
    ['CRLF input', 'one\r\ntwo\r\nthree'],
    ['LF input', 'one\ntwo\nthree\n'],
    ['CR input', 'one\rtwo\rthree'],
    ['mixed line breaks', 'a\r\nb\nc\rd\n\ne'],
    ['a very long line', longWord],
    ['a very long line of multi-byte text', 'ä'.repeat(200)],
    ['a very long line of emoji', '😀'.repeat(80)],
    ['a long line with spaces', 'word '.repeat(60)],
    ['a long line of equals signs', '='.repeat(120)],
    ['exactly 75 characters', 'y'.repeat(75)],
    ['exactly 76 characters', 'y'.repeat(76)],
  ];

  it.each(cases)('keeps %s intact and well formed', (_label, input) => {
    const encoded = encode(input);
    expectWellFormed(encoded);
    expect(decodeQuotedPrintable(encoded)).toBe(crlf(input));
  });

  it.each([
    ['text that does not end a line', 'hello', 'hello=\r\n'],
    ['text that ends a line', 'hello\n', 'hello\r\n=\r\n'],
    ['empty text', '', '=\r\n'],
  ])('ends %s with the right line break', (_label, input, expected) => {
    expect(encode(input)).toBe(expected);
  });

  it('ends a segment whose last line is complete with a hard break', () => {
    expect(encode('a\nb')).toBe('a\r\nb=\r\n');
  });

  it('escapes equals signs, non-ASCII bytes and whitespace that would end a line', () => {
    expect(encode('a=b')).toBe('a=3Db=\r\n');
    expect(encode('ä')).toBe('=C3=A4=\r\n');
    expect(encode('a \nb')).toBe('a=20\r\nb=\r\n');
    expect(encode('a\t\nb')).toBe('a=09\r\nb=\r\n');
  });

  it('uses the full 76 characters per line before breaking', () => {
    const lines = encode('z'.repeat(300)).split('\r\n');
    expect(lines[0]).toBe(`${'z'.repeat(75)}=`);
  });

  it('folds a line of plain ASCII where it folds the same line with an escape in it', () => {
    // Plain lines take a shortcut; an "=" at the end sends the same characters through the escaping path.
    for (let length = 0; length <= 160; length += 1) {
      const column = length % 75;
      if (column > 72 || (length > 0 && column === 0)) continue; // there "=3D" starts a line of its own
      const plain = 'y'.repeat(length);
      expect(encode(`${plain}=`), `length ${length}`).toBe(`${encode(plain).slice(0, -3)}=3D=\r\n`);
    }
  });

  it('never splits an escape across lines', () => {
    const encoded = encode(`${'a'.repeat(74)}ä`);
    expect(encoded).toBe(`${'a'.repeat(74)}=\r\n=C3=A4=\r\n`);
  });

  it('decodes concatenated segments of random text to the concatenated text (200 seeded cases)', () => {
    const random = prng(20261125);
    const alphabet = [
      'a',
      'Z',
      '0',
      ' ',
      '\t',
      '=',
      '.',
      '-',
      'ä',
      'ß',
      '„',
      '“',
      '€',
      '😀',
      '👍🏽',
      '\n',
      '\r\n',
      '\r',
      'http://x.test/?a=1&b=2',
    ];
    const pick = () => alphabet[Math.floor(random() * alphabet.length)] ?? '';
    const randomText = () => {
      const length = Math.floor(random() * (random() < 0.2 ? 400 : 40));
      return Array.from({ length }, pick).join('');
    };
    for (let run = 0; run < 200; run += 1) {
      const pieces = Array.from({ length: 1 + Math.floor(random() * 5) }, randomText);
      const joined = pieces.map(encode).join('');
      expectWellFormed(joined);
      // Each segment is encoded on its own, so line breaks are normalized per segment.
      expect(decodeQuotedPrintable(joined), `run ${run}: ${JSON.stringify(pieces)}`).toBe(pieces.map(crlf).join(''));
    }
  });
});

/** Decodes RFC 2047 B-encoded words as a mail reader would: whitespace between words is dropped. */
function decodeEncodedWords(value: string): string {
  const parts = value.replace(/\?=\s+=\?/g, '?==?').split(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/);
  // Odd parts are the captured payloads; each word must hold whole characters on its own.
  return parts.map((part, index) => (index % 2 === 1 ? Buffer.from(part, 'base64').toString('utf8') : part)).join('');
}

describe('encodeHeaderValue', () => {
  it.each(['Evening Digest for 25 November', '', 'Symbols: !"#$%&()*+,-./:;<=>?@[]^_`{|}~'])(
    'leaves printable ASCII %j unchanged',
    (value) => {
      expect(encodeHeaderValue(value)).toBe(value);
    },
  );

  it.each([
    'Grüße aus Köln',
    '„Abendausgabe“ – 25. November',
    'Today 📰 and 😀',
    'Ä'.repeat(100),
    'A long subject with a single umlaut at the end, long enough to need folding: ü',
    'tab\there',
  ])('turns %j into encoded words that decode back', (value) => {
    const encoded = encodeHeaderValue(value);
    expect(encoded).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=(\r\n =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=)*$/);
    for (const line of encoded.split('\r\n')) {
      // RFC 2047: an encoded word is at most 75 characters.
      expect(line.trim().length).toBeLessThanOrEqual(75);
    }
    expect(decodeEncodedWords(encoded)).toBe(value);
  });

  it('never splits a character between two encoded words', () => {
    const encoded = encodeHeaderValue('😀'.repeat(40));
    for (const word of encoded.split('\r\n ')) {
      const base64 = word.slice('=?UTF-8?B?'.length, -2);
      expect(Buffer.from(base64, 'base64').toString('utf8')).toMatch(/^(😀)+$/);
    }
  });

  it.each([
    'Subject\r\nBcc: victim@example.test',
    'line\nbreak',
    'carriage\rreturn',
    'Grüße\r\nBcc: x@y.test',
    'ends with\n',
  ])('refuses %j (header injection)', (value) => {
    expect(() => encodeHeaderValue(value)).toThrow(/line break/);
  });
});

describe('assertSingleLine', () => {
  it('accepts one line and refuses CR or LF anywhere', () => {
    expect(() => assertSingleLine('one line')).not.toThrow();
    expect(() => assertSingleLine('a\rb')).toThrow();
    expect(() => assertSingleLine('a\nb')).toThrow();
  });
});

describe('formatMailbox', () => {
  it.each([
    ['reader@example.test', undefined, 'reader@example.test'],
    ['reader@example.test', '', 'reader@example.test'],
    ['reader@example.test', 'Alice Reader', '"Alice Reader" <reader@example.test>'],
    ['reader@example.test', 'Doe, Jane', '"Doe, Jane" <reader@example.test>'],
    ['reader@example.test', 'Say "hi" \\ bye', '"Say \\"hi\\" \\\\ bye" <reader@example.test>'],
  ])('formats %s with name %j', (address, name, expected) => {
    expect(formatMailbox(address, name)).toBe(expected);
  });

  it('encodes a non-ASCII name as encoded words', () => {
    const mailbox = formatMailbox('joerg@example.test', 'Jörg Müller');
    expect(mailbox).toMatch(/^=\?UTF-8\?B\?\S+\?= <joerg@example\.test>$/);
    expect(decodeEncodedWords(mailbox.replace(/ <.*$/, ''))).toBe('Jörg Müller');
  });

  it.each([
    ['reader@example.test\r\nBcc: x@y.test', 'Name'],
    ['reader@example.test', 'Name\r\nBcc: x@y.test'],
    ['reader@example.test', 'Jörg\nBcc: x@y.test'],
  ])('refuses line breaks in %j / %j', (address, name) => {
    expect(() => formatMailbox(address, name)).toThrow(/line break/);
  });
});

describe('parseMailbox', () => {
  it.each([
    ['Evening Digest <digest@localhost>', { name: 'Evening Digest', address: 'digest@localhost' }],
    ['"Evening Digest" <digest@example.test>', { name: 'Evening Digest', address: 'digest@example.test' }],
    ['"Doe, Jane" <jane@example.test>', { name: 'Doe, Jane', address: 'jane@example.test' }],
    ['<digest@example.test>', { name: '', address: 'digest@example.test' }],
    ['  Digest   <digest@example.test>  ', { name: 'Digest', address: 'digest@example.test' }],
    ['digest@example.test', { name: '', address: 'digest@example.test' }],
    ['  digest@example.test  ', { name: '', address: 'digest@example.test' }],
  ])('parses %j', (value, expected) => {
    expect(parseMailbox(value)).toEqual(expected);
  });

  it.each([
    '',
    '   ',
    'Evening Digest',
    'digest',
    'a@b@example.test',
    'two words@example.test',
    'Digest <digest@example.test',
    'Digest digest@example.test>',
    'Digest <>',
    'Digest <not an address>',
    '<a@b.test> <c@d.test>',
  ])('refuses %j', (value) => {
    expect(() => parseMailbox(value)).toThrow(/not a mailbox/);
  });
});

describe('formatDate', () => {
  it.each([
    ['2026-11-25T18:30:00Z', 'Wed, 25 Nov 2026 18:30:00 +0000'],
    ['2026-01-05T07:04:09Z', 'Mon, 05 Jan 2026 07:04:09 +0000'],
    ['2026-10-25T17:30:00+01:00', 'Sun, 25 Oct 2026 16:30:00 +0000'],
    ['2024-02-29T23:59:59.999Z', 'Thu, 29 Feb 2024 23:59:59 +0000'],
  ])('formats %s as %s', (iso, expected) => {
    expect(formatDate(new Date(iso))).toBe(expected);
  });

  it('gives each second its own date, in any order', () => {
    const at = (iso: string) => formatDate(new Date(iso));
    expect(at('2026-11-25T18:30:00.100Z')).toBe('Wed, 25 Nov 2026 18:30:00 +0000');
    expect(at('2026-11-25T18:30:00.900Z')).toBe('Wed, 25 Nov 2026 18:30:00 +0000');
    expect(at('2026-11-25T18:30:01.000Z')).toBe('Wed, 25 Nov 2026 18:30:01 +0000');
    expect(at('2026-11-24T18:30:01.000Z')).toBe('Tue, 24 Nov 2026 18:30:01 +0000');
  });

  it('matches the RFC 5322 date-time shape', () => {
    expect(formatDate(new Date())).toMatch(
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/,
    );
  });
});

describe('parseMailbox with brackets', () => {
  it('refuses a bracketed address with two @', () =>
    expect(() => parseMailbox('Digest <a@b@example.test>')).toThrow(/not a mailbox/));
});
