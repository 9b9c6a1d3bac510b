import { randomBytes } from 'node:crypto';
import type { Locale } from './locale.ts';

/**
 * The most bytes a reader's value can take in an HTML body (escaped: at most 6 bytes per character),
 * so that an edition's weight "as sent" can be known when it is rendered, whoever reads it.
 * A name has at most 100 characters after the salutation; an address at most 254 (5 bytes each
 * escaped: `&` and `'` are the only escapable characters it may hold); a link is PUBLIC_URL (counted
 * apart, see `longestSize`) with a path and a token of at most 200 characters.
 */
const LONGEST = { greeting: 40 + 100 * 6, email: 254 * 5, link: 32 + 200 } as const;

/**
 * Where the browser version (and the console's preview) sends a reader looking for Unsubscribe or
 * Preferences: a page for everyone saying that their own links are in every email they got, since
 * a page nobody in particular reads cannot carry anyone's links.
 */
export const MANAGE_SUBSCRIPTION_PATH = '/manage-subscription';

/**
 * The one registry of per-reader values ("personal fields"). Only templates can place them, with
 * `{{personal "email"}}`; where they go is fixed when a template is rendered, by markers that carry a
 * random nonce drawn for that render. Outside text (articles, editors' subject, names) is rendered
 * before the nonce exists, so it cannot produce a marker, and nothing ever scans rendered text for
 * `%%name%%`-style placeholders: such text is just text. `textWidth` is how many characters plain
 * text keeps for a value when it wraps lines (a link gets a line of its own); `longest` is the most
 * bytes the value can add to an HTML body.
 */
export const PERSONAL_FIELDS = {
  greeting: {
    preview: 'Good evening',
    about: 'the salutation with the reader’s name, e.g. "Good evening, Ada"',
    textWidth: 24,
    longest: LONGEST.greeting,
  },
  email: { preview: 'you', about: 'the reader’s address', textWidth: 28, longest: LONGEST.email },
  unsubscribe_url: {
    preview: MANAGE_SUBSCRIPTION_PATH,
    about: 'the reader’s one-click unsubscribe link',
    textWidth: 80,
    longest: LONGEST.link,
  },
  preferences_url: {
    preview: MANAGE_SUBSCRIPTION_PATH,
    about: 'the reader’s preferences page',
    textWidth: 80,
    longest: LONGEST.link,
  },
  track_token: {
    preview: 'web',
    about: 'the reader’s anonymous tracking token (TRACKING)',
    textWidth: 28,
    longest: 28,
  },
  confirm_url: {
    preview: '#confirm-from-your-email',
    about: 'the sign-up’s confirmation link',
    textWidth: 80,
    longest: LONGEST.link,
  },
} as const;

export type PersonalField = keyof typeof PERSONAL_FIELDS;
export type PersonalValues = Partial<Record<PersonalField, string>>;

const FIELD_NAMES = Object.keys(PERSONAL_FIELDS) as PersonalField[];

/** Values that stand where a reader's own would go when nobody in particular reads (browser view, previews). */
export const PREVIEW_VALUES: Record<PersonalField, string> = Object.fromEntries(
  FIELD_NAMES.map((field) => [field, PERSONAL_FIELDS[field].preview]),
) as Record<PersonalField, string>;

/** The values for nobody in particular, with the greeting in the readers' language. */
export function previewValues(locale: Locale): Record<PersonalField, string> {
  return { ...PREVIEW_VALUES, greeting: locale.t('greeting.evening') };
}

/**
 * A rendered body with the positions of its personal fields: `parts[0] + value(fields[0]) + parts[1] + …`.
 * Stored with an edition, so that sending never has to find anything in text.
 */
export interface PersonalizedText {
  parts: string[];
  fields: PersonalField[];
}

export class UnknownPersonalField extends Error {
  constructor(readonly field: string) {
    super(`"${field}" is not a personal field (known: ${FIELD_NAMES.join(', ')})`);
    this.name = 'UnknownPersonalField';
  }
}

export function isPersonalField(name: string): name is PersonalField {
  return Object.hasOwn(PERSONAL_FIELDS, name);
}

/**
 * The markers of one render. A marker is letters and digits only, so it survives HTML escaping,
 * attribute values, URLs and MJML unchanged; its nonce is 80 random bits drawn after the outside text
 * it is mixed with was fixed.
 */
export class PersonalMarks {
  private readonly nonce = randomBytes(10).toString('hex');

  mark(field: string): string {
    if (!isPersonalField(field)) throw new UnknownPersonalField(field);
    return `pz${this.nonce}${String(FIELD_NAMES.indexOf(field)).padStart(2, '0')}zp`;
  }

  /** Characters a line of plain text will have, counting each of this render's markers as its field's `textWidth`. */
  measure(text: string): number {
    const fields = new RegExp(`pz${this.nonce}(\\d{2})zp`, 'g');
    let width = 0;
    const rest = text.replace(fields, (_marker, index: string) => {
      width += PERSONAL_FIELDS[FIELD_NAMES[Number(index)] as PersonalField].textWidth;
      return '';
    });
    return width + [...rest].length;
  }

  /** Cuts a rendered text at this render's markers; any other text, `%%email%%` included, stays literal. */
  split(rendered: string): PersonalizedText {
    const parts: string[] = [];
    const fields: PersonalField[] = [];
    let last = 0;
    for (const match of rendered.matchAll(new RegExp(`pz${this.nonce}(\\d{2})zp`, 'g'))) {
      parts.push(rendered.slice(last, match.index));
      fields.push(FIELD_NAMES[Number(match[1])] as PersonalField);
      last = match.index + match[0].length;
    }
    parts.push(rendered.slice(last));
    return { parts, fields };
  }
}

/**
 * The most bytes a body can have once filled for any reader: its own bytes plus each position's
 * longest value (`linkBase`: PUBLIC_URL, which every link starts with).
 */
export function longestSize(text: PersonalizedText, linkBase: string): number {
  const fixed = text.parts.reduce((sum, part) => sum + Buffer.byteLength(part), 0);
  return text.fields.reduce(
    (sum, field) => sum + PERSONAL_FIELDS[field].longest + (field.endsWith('_url') ? Buffer.byteLength(linkBase) : 0),
    fixed,
  );
}

/** Text without personal fields (a test's or a fixture's). */
export function plainPersonalized(text: string): PersonalizedText {
  return { parts: [text], fields: [] };
}

/** Fills every position; `escape` is applied to each value (HTML bodies escape, text bodies do not). */
export function fillPersonal(
  text: PersonalizedText,
  values: Record<PersonalField, string>,
  escape: (value: string) => string = (value) => value,
): string {
  let out = text.parts[0] ?? '';
  text.fields.forEach((field, index) => {
    out += escape(values[field]) + (text.parts[index + 1] ?? '');
  });
  return out;
}

/** The fields a body uses, each once. */
export function fieldsUsed(...texts: PersonalizedText[]): PersonalField[] {
  return [...new Set(texts.flatMap((text) => text.fields))];
}
