import { createHash } from 'node:crypto';
import { convert } from 'html-to-text';
import { z } from 'zod';

export interface Article {
  /** Storage key derived from the stable id: safe in Redis keys and URLs whatever the feed's guid is. */
  key: string;
  /** Stable id: the feed's guid, else the canonical URL. */
  id: string;
  url: string;
  title: string;
  /** Plain text: HTML from feeds is reduced to text at intake, so no markup ever reaches an email. */
  summary: string;
  imageUrl: string;
  imageAlt: string;
  section: string;
  publishedAt: Date;
  source: string;
  /** Editors' curation: true = chosen (ordered by position), false = left out, null = not curated yet. */
  selected: boolean | null;
  position: number | null;
  updatedAt: Date;
  /** The edition whose window took it when that edition was sent; null while it waits for one. */
  editionId: string | null;
}

/** Articles from the admin API (and the demo) carry this source; feeds carry their URL. */
export const ADMIN_SOURCE = 'admin';

export const LIMITS = { title: 300, summary: 600, section: 60, alt: 300, url: 2048 } as const;

/**
 * An http(s) link in its one WHATWG serialization (non-ASCII percent-encoded, the host in punycode),
 * so the same form is used in email, redirects and the archive, and a `Location` header never
 * carries a character HTTP cannot.
 */
const httpUrl = z
  .string()
  .trim()
  .max(LIMITS.url)
  .url()
  .refine((value) => /^https?:\/\//i.test(value), 'only http(s) links are allowed')
  .transform((value) => new URL(value).href)
  .refine((value) => value.length <= LIMITS.url, `longer than ${LIMITS.url} characters once percent-encoded`);

/** What the admin API (and feed intake, after mapping) may say about an article. */
export const articleInputSchema = z
  .object({
    id: z.string().trim().min(1).max(LIMITS.url).optional(),
    url: httpUrl,
    title: z.string().min(1).max(20_000),
    summary: z.string().max(100_000).default(''),
    imageUrl: httpUrl.or(z.literal('')).default(''),
    imageAlt: z.string().max(2_000).default(''),
    section: z.string().max(200).default(''),
    publishedAt: z.coerce.date().optional(),
    selected: z.boolean().nullable().optional(),
    position: z.number().int().min(0).max(10_000).nullable().optional(),
  })
  .strict();

export type ArticleInput = z.input<typeof articleInputSchema>;
export type ValidArticleInput = z.output<typeof articleInputSchema>;

export function articleKey(stableId: string): string {
  return createHash('sha256').update(stableId).digest('hex').slice(0, 24);
}

const TEXT_OPTIONS = {
  wordwrap: false as const,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
  ],
};

/** Any HTML (or none) to one clean line of text of at most `max` characters: what feeds give us. */
export function toPlainText(input: string, max: number): string {
  return oneLine(input.includes('<') || input.includes('&') ? convert(input, TEXT_OPTIONS) : input, max);
}

/** Text as an editor typed it, on one line of at most `max` characters: `x<y` stays `x<y` (it is escaped on output). */
export function typedText(input: string, max: number): string {
  return oneLine(input, max);
}

function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- control characters have no place in a newsletter
  const clean = text.replace(/[\u0000-\u001f\u007f\u2028\u2029\s]+/g, ' ').trim();
  const chars = [...clean]; // by code point, so an emoji is never cut in half
  return chars.length <= max
    ? clean
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

/**
 * Normalizes validated input into the stored shape. Feed fields are HTML and become plain text;
 * what editors type through the admin API is text and is kept as typed. Either way text is one line
 * within limits, and is escaped wherever it is shown.
 */
export function normalizeArticle(
  input: ValidArticleInput,
  source: string,
  now = new Date(),
): Omit<Article, 'selected' | 'position' | 'editionId'> & {
  selected: boolean | null | undefined;
  position: number | null | undefined;
} {
  const id = input.id ?? input.url;
  const text = source === ADMIN_SOURCE ? typedText : toPlainText;
  return {
    key: articleKey(id),
    id,
    url: input.url,
    title: text(input.title, LIMITS.title),
    summary: text(input.summary, LIMITS.summary),
    imageUrl: input.imageUrl,
    imageAlt: text(input.imageAlt, LIMITS.alt),
    section: text(input.section, LIMITS.section) || 'News',
    publishedAt: input.publishedAt ?? now,
    source,
    selected: input.selected,
    position: input.position,
    updatedAt: now,
  };
}
