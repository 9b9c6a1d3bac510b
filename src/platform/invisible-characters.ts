/**
 * Characters that act on the text around them without being seen: controls, and Unicode format
 * characters (category Cf) such as the bidirectional override that makes `\u202EolleH` show as
 * "Hello". Names refuse them (src/subscribers/address.ts); text from outside is shown with them
 * escaped, so that neither a page nor a terminal can be made to show something that is not there.
 *
 * Kept: ZWNJ (U+200C) and ZWJ (U+200D). Persian, Urdu and the Indic scripts need them inside
 * ordinary words (`می\u200Cخواهم`, `क्\u200Dष`), and emoji sequences are made with ZWJ
 * (`👩\u200D💻`); they join or part the letters beside them, but cannot reorder text or hide any.
 */
const FORMAT_CHARACTER = String.raw`(?![\u200c\u200d])\p{Cf}`;

const INVISIBLE_FORMATTING = new RegExp(FORMAT_CHARACTER, 'u');
/** C0 controls (ESC among them), DEL, C1 controls, line and paragraph separators, format characters. */
const UNSEEN = new RegExp(String.raw`[\u0000-\u001f\u007f-\u009f\u2028\u2029]|${FORMAT_CHARACTER}`, 'gu');

/** The escapes everyone knows for the whitespace controls; every other character is written by its code. */
const SHORT_ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Whether text holds a format character (bidi controls, zero-width space, word joiner, BOM, tags …) other than ZWNJ and ZWJ. */
export function hasInvisibleFormatting(text: string): boolean {
  return INVISIBLE_FORMATTING.test(text);
}

/**
 * Outside text as a terminal or a page can show it: every control (so ESC, and with it every
 * terminal escape sequence), line or paragraph separator and format character is written as its
 * escape (`\x1b]0;PWNED\x07`, `\u202e`); everything else is left as it was. The CLI prints it as it
 * is and the console escapes it for HTML as well (which alone would leave those characters there).
 * A backslash stays a backslash: the text is for reading, not for decoding back.
 */
export function escapeInvisible(text: string): string {
  return text.replace(UNSEEN, (char) => SHORT_ESCAPES[char] ?? codeEscape(char.codePointAt(0) ?? 0));
}

function codeEscape(code: number): string {
  const hex = code.toString(16);
  if (code <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  return code <= 0xffff ? `\\u${hex.padStart(4, '0')}` : `\\u{${hex}}`;
}
