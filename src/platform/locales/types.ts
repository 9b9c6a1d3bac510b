/** CLDR plural categories (Intl.PluralRules); `other` is the one every language has. */
export type PluralCategory = 'zero' | 'one' | 'two' | 'few' | 'many' | 'other';

/** A string that depends on a number: one form per plural category the language uses. */
export type PluralText = { other: string } & Partial<Record<Exclude<PluralCategory, 'other'>, string>>;

/** A translation: plain, or chosen by `{count}`. Placeholders are `{name}`; nothing else is special. */
export type Text = string | PluralText;

export interface LocaleMeta {
  /** The language's own name, for people choosing DIGEST_LOCALE. */
  name: string;
  /** BCP 47 tag for Intl (dates, times, numbers, plural rules), e.g. `en-GB`. */
  intl: string;
  dir: 'ltr' | 'rtl';
}
