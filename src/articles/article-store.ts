import type { Redis } from 'ioredis';
import { type Keyspace, readHashes } from '../platform/redis.ts';
import type { Article, normalizeArticle } from './article.ts';

type NormalizedArticle = ReturnType<typeof normalizeArticle>;

export interface UpsertOptions {
  /** Feeds re-publish items: keep the first publish time we saw so an item cannot move into a later window. */
  keepPublishedAt: boolean;
}

/** Articles in Redis: one hash each, plus a sorted set by publish time for window queries. */
export class ArticleStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  private articleKey(key: string): string {
    return this.keys.key('article', key);
  }

  private get byPublished(): string {
    return this.keys.key('articles', 'published');
  }

  /** Creates or updates; returns true when the article is new. Curation left unsaid is kept as it was. */
  async upsert(article: NormalizedArticle, options: UpsertOptions): Promise<boolean> {
    const hashKey = this.articleKey(article.key);
    const content: Record<string, string> = {
      key: article.key,
      id: article.id,
      url: article.url,
      title: article.title,
      summary: article.summary,
      imageUrl: article.imageUrl,
      imageAlt: article.imageAlt,
      section: article.section,
      source: article.source,
      updatedAt: String(article.updatedAt.getTime()),
    };
    const published = String(article.publishedAt.getTime());
    const tx = this.redis.multi().exists(hashKey).hset(hashKey, content);
    if (options.keepPublishedAt) {
      tx.hsetnx(hashKey, 'publishedAt', published).zadd(this.byPublished, 'NX', published, article.key);
    } else {
      tx.hset(hashKey, 'publishedAt', published).zadd(this.byPublished, published, article.key);
    }
    tx.hsetnx(hashKey, 'selected', '').hsetnx(hashKey, 'position', '');
    if (article.selected !== undefined) tx.hset(hashKey, 'selected', encodeSelected(article.selected));
    if (article.position !== undefined) tx.hset(hashKey, 'position', article.position === null ? '' : String(article.position));
    const replies = (await tx.exec()) ?? [];
    return replies[0]?.[1] === 0;
  }

  async get(key: string): Promise<Article | null> {
    const hash = await this.redis.hgetall(this.articleKey(key));
    return hash.key ? toArticle(hash) : null;
  }

  async getMany(keys: string[]): Promise<Article[]> {
    const hashes = await readHashes(this.redis, keys.map((key) => this.articleKey(key)));
    return hashes.filter((hash) => hash.key).map(toArticle);
  }


  /** Articles published in [from, to): one edition's window. */
  async publishedBetween(from: Date, to: Date): Promise<Article[]> {
    const keys = await this.redis.zrangebyscore(this.byPublished, from.getTime(), `(${to.getTime()}`);
    return this.getMany(keys);
  }

  async setCuration(key: string, selected: boolean | null, position: number | null): Promise<boolean> {
    const hashKey = this.articleKey(key);
    if (!(await this.redis.exists(hashKey))) return false;
    await this.redis.hset(hashKey, { selected: encodeSelected(selected), position: position === null ? '' : String(position) });
    return true;
  }
}

function encodeSelected(selected: boolean | null): string {
  return selected === null ? '' : selected ? '1' : '0';
}

function toArticle(hash: Record<string, string>): Article {
  return {
    key: hash.key ?? '',
    id: hash.id ?? '',
    url: hash.url ?? '',
    title: hash.title ?? '',
    summary: hash.summary ?? '',
    imageUrl: hash.imageUrl ?? '',
    imageAlt: hash.imageAlt ?? '',
    section: hash.section ?? 'News',
    publishedAt: new Date(Number(hash.publishedAt)),
    source: hash.source ?? '',
    selected: hash.selected === '1' ? true : hash.selected === '0' ? false : null,
    position: hash.position ? Number(hash.position) : null,
    updatedAt: new Date(Number(hash.updatedAt)),
  };
}
