import { describe, expect, it } from 'vitest';
import { SafeHtml } from '../../src/platform/html.ts';
import { Locale, localeFor } from '../../src/platform/locale.ts';
import en from '../../src/platform/locales/en.ts';
import { LOCALE_CODES, LOCALE_FILES } from '../../src/platform/locales/index.ts';
import type { Text } from '../../src/platform/locales/types.ts';

const forms = (text: Text): string[] => (typeof text === 'string' ? [text] : Object.values(text));
const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '').sort();
const union = (text: Text): string[] => [...new Set(forms(text).flatMap(placeholders))].sort();
const englishKeys = Object.keys(en.strings).sort();

describe('locale files', () => {
  it('are the four the docs promise, English first', () => {
    expect(LOCALE_CODES).toEqual(['en', 'de', 'es', 'ar']);
    expect(englishKeys.length).toBeGreaterThan(80);
  });

  describe.each(LOCALE_CODES.filter((code) => code !== 'en'))('%s', (code) => {
    const file = LOCALE_FILES[code];
    const strings = file.strings as Record<string, Text>;

    it('has every key of en and no other', () => {
      expect(Object.keys(strings).sort()).toEqual(englishKeys);
    });

    it('uses the same placeholders as en in every string and every plural form', () => {
      for (const key of englishKeys) {
        const english = (en.strings as Record<string, Text>)[key]!;
        const translated = strings[key]!;
        expect(typeof translated, key).toBe(typeof english);
        // Together the forms use exactly English's placeholders; a form may leave {count} out ("one story").
        expect(union(translated), key).toEqual(union(english));
        for (const form of forms(translated))
          expect(
            placeholders(form).every((name) => union(english).includes(name)),
            `${key}: ${form}`,
          ).toBe(true);
        for (const form of forms(translated)) expect(form.trim().length, key).toBeGreaterThan(0);
      }
    });

    it('has every plural form the language uses', () => {
      const categories = new Intl.PluralRules(file.meta.intl).resolvedOptions().pluralCategories;
      const plural = englishKeys.filter((key) => typeof (en.strings as Record<string, Text>)[key] !== 'string');
      expect(plural.length).toBeGreaterThan(0);
      for (const key of plural) expect(Object.keys(strings[key] as object).sort(), key).toEqual([...categories].sort());
    });

    it('is a translation, not a copy of English', () => {
      const same = englishKeys.filter(
        (key) => JSON.stringify(strings[key]) === JSON.stringify((en.strings as Record<string, Text>)[key]),
      );
      // A few words are the same in both languages ("Links", "{salutation}, {name}").
      expect(same.length, same.join(', ')).toBeLessThan(5);
    });

    it('names a language Intl knows, and a direction', () => {
      expect(Intl.DateTimeFormat.supportedLocalesOf([file.meta.intl])).toEqual([file.meta.intl]);
      expect(['ltr', 'rtl']).toContain(file.meta.dir);
    });
  });

  it('gives every English plural string the forms English uses', () => {
    for (const key of englishKeys) {
      const text = (en.strings as Record<string, Text>)[key]!;
      if (typeof text !== 'string') expect(Object.keys(text).sort(), key).toEqual(['one', 'other']);
    }
  });
});

describe('Locale', () => {
  it('chooses the plural form by count: never "1 stories"', () => {
    const english = localeFor('en');
    expect(english.t('digest.moreStories', { count: 1 })).toBe('One more story in the browser version');
    expect(english.t('digest.moreStories', { count: 12 })).toBe('12 more stories in the browser version');
    expect(english.t('digest.intro', { count: 1, greeting: 'Hi' })).toBe(
      'Hi, here is tonight’s selection: one story chosen by our editors.',
    );
    const arabic = localeFor('ar');
    expect(arabic.t('digest.moreStories', { count: 2 })).toBe('قصتان أخريان في نسخة المتصفح');
    expect(arabic.t('digest.moreStories', { count: 3 })).toBe('3 قصص أخرى في نسخة المتصفح');
    expect(arabic.t('digest.moreStories', { count: 11 })).toBe('11 قصة أخرى في نسخة المتصفح');
    expect(localeFor('de').t('digest.moreStories', { count: 1 })).toBe('Eine weitere Geschichte in der Browserversion');
  });

  it('fills placeholders in one pass: a value is shown, never read for placeholders', () => {
    const english = localeFor('en');
    expect(english.t('page.subscribed.now', { email: '{newsletter}', newsletter: 'Evening Digest' })).toBe(
      '{newsletter} will receive Evening Digest every evening.',
    );
    expect(english.t('page.subscribed.now', { email: 'a@example.test' })).toBe(
      'a@example.test will receive {newsletter} every evening.',
    );
  });

  it('escapes the translation and every value for HTML, except markup we built', () => {
    const english = localeFor('en');
    const shown = english.html('page.subscribed.now', {
      email: '<b>x</b>&"',
      newsletter: new SafeHtml('<strong>ED</strong>'),
    }).value;
    expect(shown).toBe('&lt;b&gt;x&lt;/b&gt;&amp;&quot; will receive <strong>ED</strong> every evening.');
    expect(english.html('digest.intro', { count: 3, greeting: 'A & B' }).value).toBe(
      'A &amp; B, here is tonight’s selection: 3 stories chosen by our editors.',
    );
  });

  it('knows each language’s direction and formats dates in it, in the given zone', () => {
    expect([localeFor('ar').dir, localeFor('ar').start, localeFor('ar').end]).toEqual(['rtl', 'right', 'left']);
    expect([localeFor('en').dir, localeFor('en').start]).toEqual(['ltr', 'left']);
    const cutoff = new Date('2026-11-24T23:30:00Z');
    expect(localeFor('de').date(cutoff, 'Europe/Berlin', { dateStyle: 'full' })).toBe('Mittwoch, 25. November 2026');
    expect(localeFor('es').date(cutoff, 'UTC', { dateStyle: 'full' })).toBe('martes, 24 de noviembre de 2026');
    expect(localeFor('ar').date(cutoff, 'UTC', { dateStyle: 'full' })).toContain('نوفمبر');
    expect(new Locale('en').lang).toBe('en');
  });
});
