import { describe, expect, it } from 'vitest';
import { escapeInvisible, hasInvisibleFormatting } from '../../src/platform/invisible-characters.ts';

describe('escapeInvisible', () => {
  it.each([
    ['a terminal title sequence', 'x\u001b]0;PWNED\u0007y', String.raw`x\x1b]0;PWNED\x07y`],
    ['a clear-screen sequence', '\u001b[2J\u001b[H', String.raw`\x1b[2J\x1b[H`],
    ['an 8-bit CSI (C1)', 'a\u009b31mb', String.raw`a\x9b31mb`],
    ['NUL and DEL', 'a\u0000b\u007f', String.raw`a\x00b\x7f`],
    ['tabs and line breaks', 'a\tb\r\nc', String.raw`a\tb\r\nc`],
    ['line and paragraph separators', 'a\u2028b\u2029', String.raw`a\u2028b\u2029`],
    ['a right-to-left override', 'Eve \u202Eknab', String.raw`Eve \u202eknab`],
    ['a zero-width space and a BOM', 'a\u200Bb\uFEFF', String.raw`a\u200bb\ufeff`],
    ['a tag character', 'a\u{E0041}', String.raw`a\u{e0041}`],
  ])('writes %s as escapes', (_label, input, shown) => {
    expect(escapeInvisible(input)).toBe(shown);
  });

  it('leaves printable text, ZWNJ and ZWJ as they are', () => {
    const text = 'Zoë O’Brien, مهر\u200Cسا \u{1F469}\u200D\u{1F4BB} a\\x1b "quoted" <b>';
    expect(escapeInvisible(text)).toBe(text);
  });
});

describe('hasInvisibleFormatting', () => {
  it('finds format characters but for ZWNJ and ZWJ', () => {
    expect(
      ['\u202E', '\u2066', '\u200B', '\u200E', '\u2060', '\uFEFF', '\u00AD', '\u{E0041}'].map(hasInvisibleFormatting),
    ).toEqual(Array(8).fill(true));
    expect(['\u200C', '\u200D', 'plain', '\u001b'].map(hasInvisibleFormatting)).toEqual([false, false, false, false]);
  });
});
