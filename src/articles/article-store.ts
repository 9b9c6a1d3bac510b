import type { Queryable, Row } from '../platform/database.ts';
import { loadQueries } from '../platform/sql.ts';
import type { Article, normalizeArticle } from './article.ts';

type NormalizedArticle = ReturnType<typeof normalizeArticle>;

export interface UpsertOptions {
  /** Feeds re-publish items: keep the first publish time we saw so an item cannot move into a later window. */
  keepPublishedAt: boolean;
}

const SQL = loadQueries(new URL('./queries.sql', import.meta.url), [
  'upsert',
  'get',
  'get-many',
  'published-between',
  'set-curation',
  'waiting-between',
]);

/** Articles in PostgreSQL: one row each, found by key or by publish time (an edition's window). */
export class ArticleStore {
  constructor(private readonly db: Queryable) {}

  /** Creates or updates; returns true when the article is new. Curation left unsaid is kept as it was. */
  async upsert(article: NormalizedArticle, options: UpsertOptions): Promise<boolean> {
    const [row] = (
      await this.db.query<{ created: boolean }>(SQL.upsert, [
        article.key,
        article.id,
        article.url,
        article.title,
        article.summary,
        article.imageUrl,
        article.imageAlt,
        article.section,
        article.source,
        article.updatedAt,
        article.publishedAt,
        article.selected ?? null,
        article.position ?? null,
        article.selected !== undefined,
        article.position !== undefined,
        options.keepPublishedAt,
      ])
    ).rows;
    return row?.created === true;
  }

  async get(key: string): Promise<Article | null> {
    const [row] = (await this.db.query(SQL.get, [key])).rows;
    return row ? toArticle(row) : null;
  }

  async getMany(keys: string[]): Promise<Article[]> {
    if (keys.length === 0) return [];
    const byKey = new Map(
      (await this.db.query(SQL['get-many'], [keys])).rows.map((row) => [String(row.key), toArticle(row)]),
    );
    return keys.flatMap((key) => byKey.get(key) ?? []);
  }

  /** Articles published in [from, to): one edition's window. */
  async publishedBetween(from: Date, to: Date): Promise<Article[]> {
    return (await this.db.query(SQL['published-between'], [from, to])).rows.map(toArticle);
  }

  /** Articles published in [from, to) that no edition has taken yet (an edition's candidates). */
  async waitingBetween(from: Date, to: Date): Promise<Article[]> {
    return (await this.db.query(SQL['waiting-between'], [from, to])).rows.map(toArticle);
  }

  async setCuration(key: string, selected: boolean | null, position: number | null): Promise<boolean> {
    return ((await this.db.query(SQL['set-curation'], [key, selected, position])).rowCount ?? 0) > 0;
  }
}

function toArticle(row: Row): Article {
  return {
    key: String(row.key),
    id: String(row.id),
    url: String(row.url),
    title: String(row.title),
    summary: String(row.summary),
    imageUrl: String(row.image_url),
    imageAlt: String(row.image_alt),
    section: String(row.section),
    publishedAt: row.published_at as Date,
    source: String(row.source),
    selected: row.selected as boolean | null,
    position: row.position === null ? null : Number(row.position),
    updatedAt: row.updated_at as Date,
    editionId: (row.edition_id as string | null) ?? null,
  };
}
