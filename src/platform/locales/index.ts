import ar from './ar.ts';
import de from './de.ts';
import en, { type LocaleFile } from './en.ts';
import es from './es.ts';

/**
 * Every language readers can get (DIGEST_LOCALE). A new language is one file of strings next to
 * these (copy en.ts) and its line here; tests/unit/locales.test.ts checks it has every key of
 * English, with the same placeholders and every plural form the language uses.
 */
export const LOCALE_FILES = { en, de, es, ar } satisfies Record<string, LocaleFile>;

export type LocaleCode = keyof typeof LOCALE_FILES;
export const LOCALE_CODES = Object.keys(LOCALE_FILES) as LocaleCode[];

export function isLocaleCode(code: string): code is LocaleCode {
  return Object.hasOwn(LOCALE_FILES, code);
}
