import { escapeHtml, SafeHtml } from './html.ts';
import type { MessageKey } from './locales/en.ts';
import { LOCALE_FILES, type LocaleCode } from './locales/index.ts';
import type { LocaleMeta, PluralCategory, Text } from './locales/types.ts';

/** A placeholder's value: text (escaped in HTML), a number (formatted for the language), or markup we made. */
export type Param = string | number | SafeHtml;
export type Params = Record<string, Param>;

/**
 * The reader-facing language (DIGEST_LOCALE): words, plural forms, dates and numbers. Translations
 * are ours; what fills their `{placeholders}` may be outside text, so it is substituted in one pass
 * (a value is never searched for placeholders again) and, for HTML, escaped unless it is markup we
 * built (SafeHtml).
 */
export class Locale {
  private readonly plurals: Intl.PluralRules;
  private readonly numbers: Intl.NumberFormat;

  constructor(
    readonly code: LocaleCode,
    private readonly file: { meta: LocaleMeta; strings: Record<MessageKey, Text> } = LOCALE_FILES[code],
  ) {
    this.plurals = new Intl.PluralRules(file.meta.intl);
    this.numbers = new Intl.NumberFormat(file.meta.intl);
  }

  /** For the `lang` attribute. */
  get lang(): string {
    return this.code;
  }

  get dir(): 'ltr' | 'rtl' {
    return this.file.meta.dir;
  }

  /** The Intl tag for dates, times and numbers. */
  get intl(): string {
    return this.file.meta.intl;
  }

  /** The edge text starts from and the one it ends at (`text-align` values email clients understand). */
  get start(): 'left' | 'right' {
    return this.dir === 'rtl' ? 'right' : 'left';
  }

  get end(): 'left' | 'right' {
    return this.dir === 'rtl' ? 'left' : 'right';
  }

  /** Plain text (for text bodies, subjects, headers). */
  t(key: MessageKey, params: Params = {}): string {
    return this.fill(key, params, (value) => (value instanceof SafeHtml ? value.value : this.show(value)));
  }

  /** HTML: the translation and every value escaped, except markup we built. */
  html(key: MessageKey, params: Params = {}): SafeHtml {
    const escapedParams = (value: Param) => (value instanceof SafeHtml ? value.value : escapeHtml(this.show(value)));
    const translated = this.pick(key, params);
    let out = '';
    let last = 0;
    for (const match of translated.matchAll(/\{(\w+)\}/g)) {
      const value = params[match[1] ?? ''];
      out +=
        escapeHtml(translated.slice(last, match.index)) +
        (value === undefined ? escapeHtml(match[0]) : escapedParams(value));
      last = match.index + match[0].length;
    }
    return new SafeHtml(out + escapeHtml(translated.slice(last)));
  }

  /** A date (or time) in the language's way and the given zone. */
  date(value: Date, timeZone: string, options: Intl.DateTimeFormatOptions): string {
    return new Intl.DateTimeFormat(this.intl, { timeZone, ...options }).format(value);
  }

  private show(value: string | number): string {
    return typeof value === 'number' ? this.numbers.format(value) : value;
  }

  private fill(key: MessageKey, params: Params, render: (value: Param) => string): string {
    // One pass over the translation: a value that contains `{count}` is shown as it is.
    return this.pick(key, params).replace(/\{(\w+)\}/g, (match, name: string) => {
      const value = params[name];
      return value === undefined ? match : render(value);
    });
  }

  /** The translation, in its plural form for `params.count` when it has forms. */
  private pick(key: MessageKey, params: Params): string {
    const text = this.file.strings[key];
    if (typeof text === 'string') return text;
    const count = typeof params.count === 'number' ? params.count : Number.NaN;
    const category = this.plurals.select(count) as PluralCategory;
    return text[category] ?? text.other;
  }
}

const cache = new Map<LocaleCode, Locale>();

export function localeFor(code: LocaleCode): Locale {
  let locale = cache.get(code);
  if (!locale) {
    locale = new Locale(code);
    cache.set(code, locale);
  }
  return locale;
}
