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
}

export const LIMITS = { title: 300, summary: 600, section: 60, alt: 300, url: 2048 } as const;

const httpUrl = z
  .string()
  .trim()
  .max(LIMITS.url)
  .url()
  .refine((value) => /^https?:\/\//i.test(value), 'only http(s) links are allowed');

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

/** Any HTML (or none) to one clean line of text of at most `max` characters. */
export function toPlainText(input: string, max: number): string {
  const text = input.includes('<') || input.includes('&') ? convert(input, TEXT_OPTIONS) : input;
  // eslint-disable-next-line no-control-regex -- control characters have no place in a newsletter
  const clean = text.replace(/[\u0000-\u001f\u007f\u2028\u2029\s]+/g, ' ').trim();
  const chars = [...clean]; // by code point, so an emoji is never cut in half
  return chars.length <= max ? clean : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

/** Normalizes validated input into the stored shape; text fields become plain text within limits. */
export function normalizeArticle(input: ValidArticleInput, source: string, now = new Date()): Omit<Article, 'selected' | 'position'> & {
  selected: boolean | null | undefined;
  position: number | null | undefined;
} {
  const id = input.id ?? input.url;
  return {
    key: articleKey(id),
    id,
    url: input.url,
    title: toPlainText(input.title, LIMITS.title),
    summary: toPlainText(input.summary, LIMITS.summary),
    imageUrl: input.imageUrl,
    imageAlt: toPlainText(input.imageAlt, LIMITS.alt),
    section: toPlainText(input.section, LIMITS.section) || 'News',
    publishedAt: input.publishedAt ?? now,
    source,
    selected: input.selected,
    position: input.position,
    updatedAt: now,
  };
}
