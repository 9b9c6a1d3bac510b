/**
 * Characters that act on the text around them without being seen: Unicode format characters
 * (category Cf), such as the bidirectional override that makes `\u202EolleH` show as "Hello".
 * Names refuse them (src/subscribers/address.ts).
 *
 * Kept: ZWNJ (U+200C) and ZWJ (U+200D). Persian, Urdu and the Indic scripts need them inside
 * ordinary words (`می\u200Cخواهم`, `क्\u200Dष`), and emoji sequences are made with ZWJ
 * (`👩\u200D💻`); they join or part the letters beside them, but cannot reorder text or hide any.
 */
const INVISIBLE_FORMATTING = /(?![\u200c\u200d])\p{Cf}/u;

/** Whether text holds a format character (bidi controls, zero-width space, word joiner, BOM, tags …) other than ZWNJ and ZWJ. */
export function hasInvisibleFormatting(text: string): boolean {
  return INVISIBLE_FORMATTING.test(text);
}
