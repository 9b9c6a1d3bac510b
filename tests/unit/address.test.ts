import { describe, expect, it } from 'vitest';
import { checkAddress, checkName } from '../../src/subscribers/address.ts';

describe('checkAddress', () => {
  it.each([
    ['reader@example.test', 'reader@example.test'],
    ['first.last@example.test', 'first.last@example.test'],
    ['reader+digest@example.test', 'reader+digest@example.test'],
    ["o'brien_x-y=z@example.test", "o'brien_x-y=z@example.test"],
    ['r@mail.eu.example.co.uk', 'r@mail.eu.example.co.uk'],
    ['a@b.co', 'a@b.co'],
    ['user@my-domain.example', 'user@my-domain.example'],
    ['user@123.example.com', 'user@123.example.com'],
    ['user@bücher.de', 'user@xn--bcher-kva.de'],
    ['user@BÜCHER.de', 'user@xn--bcher-kva.de'],
    ['  padded@example.test\t', 'padded@example.test'],
    ['Dave.Smith@Example.TEST', 'Dave.Smith@example.test'],
    [`${'l'.repeat(64)}@example.test`, `${'l'.repeat(64)}@example.test`],
  ])('accepts %j as %j', (input, address) => {
    expect(checkAddress(input)).toEqual({ ok: true, address, lookupKey: address.toLowerCase() });
  });

  it('keeps the local part as typed and lower-cases only the lookup key', () => {
    expect(checkAddress('  Dave.Smith+News@Example.TEST ')).toEqual({
      ok: true,
      address: 'Dave.Smith+News@example.test',
      lookupKey: 'dave.smith+news@example.test',
    });
  });

  it('gives the same lookup key to spellings of one mailbox', () => {
    const keys = ['ALICE@EXAMPLE.TEST', 'alice@example.test', ' Alice@Example.Test '].map((input) => {
      const result = checkAddress(input);
      return result.ok ? result.lookupKey : result.reason;
    });
    expect(new Set(keys)).toEqual(new Set(['alice@example.test']));
  });

  const domain = `${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(63)}.com`;
  it.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['without @', 'reader.example.test'],
    ['with two @', 'reader@home@example.test'],
    ['with only a domain', '@example.test'],
    ['with only a local part', 'reader@'],
    ['with a space inside', 'read er@example.test'],
    ['with a space in the domain', 'reader@exa mple.test'],
    ['with CRLF header injection', 'a@b.com\r\nBcc: x@y.com'],
    ['with LF injection', 'a@b.com\nBcc: x@y.com'],
    ['with a NUL byte', 'a\u0000b@example.test'],
    ['with DEL', 'a\u007fb@example.test'],
    ['with <script>', '<script>alert(1)</script>@example.test'],
    ['with angle brackets', 'Reader <reader@example.test>'],
    ['with a comma list', 'a@example.test,b@example.test'],
    ['with a semicolon', 'a@example.test;b@example.test'],
    ['with quotes', '"reader"@example.test'],
    ['with a backslash', 'a\\b@example.test'],
    ['with parentheses', 'reader(comment)@example.test'],
    ['with a leading dot', '.reader@example.test'],
    ['with a trailing dot', 'reader.@example.test'],
    ['with a double dot', 're..ader@example.test'],
    ['with non-ASCII in the local part', 'jörg@example.test'],
    ['with a local part of 65 characters', `${'l'.repeat(65)}@example.test`],
    ['longer than 254 characters', `${'l'.repeat(64)}@${domain}`],
    ['with a domain without a dot', 'reader@localhost'],
    ['with a numeric TLD', 'reader@example.123'],
    ['with an IP address', 'reader@192.168.0.1'],
    ['with an IP literal', 'reader@[192.168.0.1]'],
    ['with a label starting with a hyphen', 'reader@-example.test'],
    ['with a label ending with a hyphen', 'reader@example-.test'],
    ['with an underscore in the domain', 'reader@my_host.example.test'],
    ['with a double dot in the domain', 'reader@example..test'],
    ['with a trailing dot in the domain', 'reader@example.test.'],
    ['with a label of 64 characters', `reader@${'x'.repeat(64)}.test`],
  ])('refuses an address %s', (_label, input) => {
    const result = checkAddress(input);
    expect(result.ok).toBe(false);
    expect(result).toHaveProperty('reason', expect.any(String));
  });

  it('accepts exactly 254 characters and refuses 255', () => {
    const longest = `${'l'.repeat(58)}@${domain}`;
    expect(longest).toHaveLength(254);
    expect(checkAddress(longest)).toMatchObject({ ok: true, address: longest });
    expect(checkAddress(`l${longest}`)).toEqual({
      ok: false,
      reason: 'email is longer than 254 characters',
      problem: 'tooLong',
    });
  });

  it.each([undefined, null, 42, {}, ['a@b.test']])('refuses the non-string %j', (input) => {
    expect(checkAddress(input)).toEqual({ ok: false, reason: 'email is required', problem: 'required' });
  });

  it.each([
    ['', 'email is required', 'required'],
    ['a b@example.test', 'email contains characters that are not allowed', 'characters'],
    ['a@b@example.test', 'email must have one @', 'oneAt'],
    ['a..b@example.test', 'the part before @ is not valid', 'localPart'],
    ['a@localhost', 'the domain is not valid', 'domain'],
  ])('explains why %j is refused', (input, reason, problem) => {
    // The reason for logs and the API; the problem for pages that say it in the readers' language.
    expect(checkAddress(input)).toEqual({ ok: false, reason, problem });
  });
});

describe('checkName', () => {
  it.each([
    ['Alice', 'Alice'],
    ['  Jörg Müller  ', 'Jörg Müller'],
    ['Zoë O’Brien-Smith 😀', 'Zoë O’Brien-Smith 😀'],
    ['', ''],
    ['   ', ''],
    ['n'.repeat(100), 'n'.repeat(100)],
    [` ${'n'.repeat(100)} `, 'n'.repeat(100)],
    // ZWNJ in Persian and Hindi words, ZWJ in emoji sequences: they join or part letters and are kept.
    ['مهر\u200Cسا', 'مهر\u200Cسا'],
    ['क्\u200Dष', 'क्\u200Dष'],
    ['Zoë \u{1F469}\u200D\u{1F4BB}', 'Zoë \u{1F469}\u200D\u{1F4BB}'],
  ])('accepts %j as %j', (input, name) => {
    expect(checkName(input)).toEqual({ ok: true, name });
  });

  it.each([undefined, null])('treats %j as no name', (input) => {
    expect(checkName(input)).toEqual({ ok: true, name: '' });
  });

  it.each([
    ['longer than 100 characters', 'n'.repeat(101)],
    ['with CRLF', 'Alice\r\nBcc: x@example.test'],
    ['with LF', 'Alice\nBob'],
    ['with CR', 'Alice\rBob'],
    ['with a tab inside', 'Alice\tBob'],
    ['with a NUL byte', 'Al\u0000ice'],
    ['with an escape character', 'Al\u001bice'],
    ['with DEL', 'Al\u007fice'],
    ['with a line separator', 'Alice\u2028Bob'],
    ['with a paragraph separator', 'Alice\u2029Bob'],
    ['with a C1 control (CSI)', 'Alice\u009b2J'],
    ['with a right-to-left override', 'Alice\u202EboB'],
    ['with a left-to-right embedding', '\u202AAlice\u202C Bob'],
    ['with a directional isolate', 'Alice \u2067Bob\u2069'],
    ['with a left-to-right mark', 'Alice\u200E'],
    ['with an Arabic letter mark', 'Alice\u061C'],
    ['with a zero-width space', 'Ali\u200Bce'],
    ['with a word joiner', 'Ali\u2060ce'],
    ['with a byte-order mark inside', 'Ali\uFEFFce'],
    ['with a soft hyphen', 'Ali\u00ADce'],
    ['with a tag character', 'Alice\u{E0041}'],
  ])('refuses a name %s', (_label, input) => {
    const result = checkName(input);
    expect(result.ok).toBe(false);
    expect(result).toHaveProperty('reason', expect.any(String));
  });

  it.each([42, {}, ['Alice'], true])('refuses the non-string %j', (input) => {
    expect(checkName(input)).toEqual({ ok: false, reason: 'name must be text', problem: 'notText' });
  });
});

describe('length after punycode', () => {
  it('refuses an address over 254 characters once its domain is converted', () => {
    const input = `${'a'.repeat(64)}@${Array(8).fill('ä'.repeat(20)).join('.')}.de`;
    expect(checkAddress(input).ok).toBe(false);
  });
});
