/**
 * The weight of the email as readers get it (issue 13): the HTML part and the whole message,
 * composed by Messages exactly as a worker sends it and read back with mailparser, at 5, 20 and 30
 * bench articles and in the worst case (30 articles at the intake limits, with the longest name and
 * address a reader can have). Cheap: one render per row, no delivery. `npm run bench` prints these
 * rows; tests/email/weight.test.ts holds them to their targets.
 */
import { simpleParser } from 'mailparser';
import { type Article, LIMITS } from '../src/articles/article.ts';
import type { Claimed } from '../src/delivery/ledger.ts';
import type { Messages } from '../src/delivery/messages.ts';
import type { Section } from '../src/editions/assemble.ts';
import type { Edition } from '../src/editions/edition-store.ts';
import type { EditionRenderer } from '../src/editions/render.ts';
import { benchRecipient, benchSections } from './fixtures.ts';

/** Bytes (KB = 1000 bytes, as the rest of the bench). */
export const SIZE_TARGETS = {
  /** A 20-article edition: well under Gmail's clip, and light to send. */
  html20: 60_000,
  message20: 80_000,
  /** Never clipped by Gmail (~102 KB), whatever the edition holds: the email leaves articles to the browser version instead. */
  worstHtml: 100_000,
};

export interface EmailSize {
  label: string;
  articles: number;
  /** Articles the email carries; the others are "N more stories in the browser version". */
  inEmail: number;
  htmlBytes: number;
  messageBytes: number;
  /** The browser version (`/editions/:id`), filled as it is served. */
  webBytes: number;
}

const CUTOFF = new Date('2026-11-24T18:30:00Z');

/** Renders and composes each case as the worker would, and weighs what leaves. */
export async function measureEmailSizes(renderer: EditionRenderer, messages: Messages): Promise<EmailSize[]> {
  const cases: Array<[label: string, sections: Section[], recipient: Claimed]> = [
    ['5 articles', benchSections(CUTOFF, 5), benchRecipient(1)],
    ['20 articles', benchSections(CUTOFF, 20), benchRecipient(1)],
    ['30 articles', benchSections(CUTOFF, 30), benchRecipient(1)],
    [
      'worst case: 30 articles at the intake limits, longest name and address',
      worstCaseSections(CUTOFF),
      worstRecipient(),
    ],
  ];
  const sizes: EmailSize[] = [];
  for (const [index, [label, sections, recipient]] of cases.entries()) {
    const articles = sections.reduce((sum, section) => sum + section.articles.length, 0);
    const rendered = await renderer.render('2026-11-24', CUTOFF, sections);
    // Each case is its own edition id: Messages keeps a composed template per edition.
    const edition: Edition = {
      id: `size-${index}`,
      status: 'sending',
      holdReason: null,
      cutoff: CUTOFF,
      windowStart: new Date(CUTOFF.getTime() - 24 * 3600_000),
      sendingAt: CUTOFF,
      sentAt: null,
      recordsRemovedAt: null,
      articleKeys: sections.flatMap((section) => section.articles.map((article) => article.key)),
      ...rendered,
      createdAt: CUTOFF,
      createdBy: 'bench',
    };
    const message = messages.edition(edition, recipient, 'main');
    const messageBytes = message.raw.length;
    const parsed = await simpleParser(Buffer.from(message.raw));
    messages.recycle(message);
    sizes.push({
      label,
      articles,
      inEmail: articles - rendered.omitted,
      htmlBytes: Buffer.byteLength(String(parsed.html)),
      messageBytes,
      webBytes: Buffer.byteLength(rendered.web.parts.join('')),
    });
  }
  return sizes;
}

/** A reader whose values weigh the most: a 100-character name of characters HTML escapes, a 254-character address. */
export function worstRecipient(): Claimed {
  const local = "o'brien&".repeat(8); // 64 characters, the most a local part may have; `'` and `&` are escaped in HTML
  const domain = `${'l'.repeat(61)}.${'m'.repeat(61)}.${'n'.repeat(57)}.example`; // 189: the address is 254 characters
  const email = `${local}@${domain}`;
  return { id: '999999999999999', email, name: '"&'.repeat(50), format: 'html' };
}

const LONG_WORD = 'Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung';
const SENTENCES = [
  'Ministers said the “unprecedented” plan & its costs were <b>not</b> negotiable.',
  'Résumé of the night: naïve hopes, café talks and a 94th-minute goal.',
  `The committee’s word of the year was ${LONG_WORD}, again.`,
  'Critics argue the plan does too little, too late, and warn of the costs of delay.',
  'Figures released this afternoon suggest the trend is likely to continue into next year.',
];

/** Text of exactly `length` characters from the sentences above (quotes, ampersands, tags, accents, a 67-letter word). */
function textOf(length: number, seed: number): string {
  let text = '';
  for (let step = 0; text.length < length; step += 1) text += `${SENTENCES[(seed + step) % SENTENCES.length]} `;
  return text.slice(0, length);
}

/** A link of exactly `length` characters, different for each article. */
function linkOf(base: string, length: number, seed: number, suffix = ''): string {
  const start = `${base}/2026/11/24/${seed}-${'long-story-slug-'.repeat(8)}?ref=`;
  return start + 'q'.repeat(length - start.length - suffix.length) + suffix;
}

/** 30 articles (5 sections of 6, DIGEST_SECTION_CAP) with every field at its intake limit (LIMITS in src/articles/article.ts). */
export function worstCaseSections(now = CUTOFF, count = 30): Section[] {
  const sections: Section[] = [];
  for (let index = 0; index < count; index += 1) {
    const sectionIndex = Math.floor(index / 6);
    const url = linkOf('https://news.example.com', LIMITS.url, index);
    const article: Article = {
      key: `w${String(index).padStart(3, '0')}`,
      id: url,
      url,
      title: textOf(LIMITS.title, index),
      summary: textOf(LIMITS.summary, index + 2),
      imageUrl: linkOf('https://cdn.example.com', LIMITS.url, index, '.jpg'),
      imageAlt: textOf(LIMITS.alt, index + 1),
      section: `Section ${sectionIndex + 1}: ${'the longest section name'.repeat(3)}`.slice(0, LIMITS.section),
      publishedAt: new Date(now.getTime() - (index + 1) * 7 * 60_000),
      source: 'bench',
      editionId: null,
      selected: true,
      position: index,
      updatedAt: now,
    };
    if (!sections[sectionIndex]) sections[sectionIndex] = { name: article.section, articles: [] };
    sections[sectionIndex]?.articles.push(article);
  }
  return sections;
}
