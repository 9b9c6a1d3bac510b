import { parseFeed } from '@rowanmanning/feed-parser';
import type { z } from 'zod';
import type { Logger } from '../platform/logger.ts';
import { ADMIN_SOURCE, type ArticleInput, articleInputSchema, normalizeArticle } from './article.ts';
import type { ArticleStore } from './article-store.ts';

export type IntakeResult = { ok: true; key: string; created: boolean } | { ok: false; issues: string[] };

export interface FeedIngestReport {
  items: number;
  added: number;
  updated: number;
  /** Items repeating an earlier item's id in the same document: the first one counts. */
  duplicates: number;
  rejected: Array<{ title: string; reason: string }>;
}

export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
}

/** The single door through which articles enter: from the admin API and from every feed. */
export class ArticleIntake {
  constructor(
    private readonly store: ArticleStore,
    private readonly logger: Logger,
  ) {}

  async ingest(input: unknown, source: string): Promise<IntakeResult> {
    const parsed = articleInputSchema.safeParse(input);
    if (!parsed.success) return { ok: false, issues: describeIssues(parsed.error) };
    const article = normalizeArticle(parsed.data, source);
    if (!article.title)
      return {
        ok: false,
        issues: [source === ADMIN_SOURCE ? 'title: has no text' : 'title: has no text once markup is removed'],
      };
    const created = await this.store.upsert(article, { keepPublishedAt: source !== ADMIN_SOURCE });
    return { ok: true, key: article.key, created };
  }

  /**
   * Parses an RSS 2.0 or Atom document and ingests every usable item. Items without a link are
   * rejected (there is nothing to send a reader to); items without a date are dated when first seen.
   */
  async ingestFeed(xml: string, feedUrl: string): Promise<FeedIngestReport> {
    const feed = parseFeed(xml);
    const report: FeedIngestReport = { items: feed.items.length, added: 0, updated: 0, duplicates: 0, rejected: [] };
    const seen = new Set<string>();
    for (const item of feed.items) {
      const title = item.title ?? '(untitled)';
      if (!item.url) {
        report.rejected.push({ title, reason: 'item has no link' });
        continue;
      }
      const id = item.id ?? item.url;
      if (seen.has(id)) {
        report.duplicates += 1;
        continue;
      }
      seen.add(id);
      const input: ArticleInput = {
        id,
        url: item.url,
        title: item.title ?? '',
        summary: item.description ?? item.content ?? '',
        imageUrl: item.image?.url && /^https?:\/\//.test(item.image.url) ? item.image.url : '',
        imageAlt: item.image?.title ?? '',
        section: item.categories[0]?.label ?? item.categories[0]?.term ?? '',
        ...(item.published || item.updated ? { publishedAt: item.published ?? item.updated ?? undefined } : {}),
      };
      const result = await this.ingest(input, feedUrl);
      if (!result.ok) report.rejected.push({ title, reason: result.issues.join('; ') });
      else if (result.created) report.added += 1;
      else report.updated += 1;
    }
    if (report.rejected.length > 0)
      this.logger.warn({ feed: feedUrl, rejected: report.rejected }, 'feed items rejected');
    return report;
  }
}
