import type { Redis } from 'ioredis';
import type { EditionStore } from '../editions/edition-store.ts';
import type { RedisKeys } from '../platform/redis-keys.ts';
import type { ReaderTokens } from './reader-tokens.ts';

export interface EngagementSummary {
  /** Readers who opened the edition (loaded its images) or clicked a link; estimated, within about 1%. */
  openedBy: number;
  /** Readers who clicked at least one link; estimated, within about 1%. */
  clickedBy: number;
  /**
   * Every tracked link: `clickedBy` readers who clicked it (each once, however often they came back;
   * estimated, within about 1%) and `clicks`, every click (a reader's replays included).
   */
  links: Array<{ url: string; clickedBy: number; clicks: number }>;
}

/**
 * Opens and clicks of an edition (TRACKING), counted without keeping who did what: readers are
 * counted in HyperLogLogs (the edition's and one per link), from which no reader can be read back,
 * and clicks per link in a hash.
 * Links in old mail keep working when TRACKING is turned off; they are just no longer in new mail.
 */
export class Engagement {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<RedisKeys, 'opened' | 'clicked' | 'linkClicks' | 'linkClickedBy'>,
    private readonly editions: EditionStore,
    private readonly tokens: ReaderTokens,
  ) {}

  async open(edition: string, token: string): Promise<void> {
    const reader = this.readerOf(token);
    if (reader && (await this.editions.links(edition))?.length)
      await this.redis.pfadd(this.keys.opened(edition), reader);
  }

  /** The article address behind link `index` of the edition, with the click counted; null for an unknown edition or link. */
  async click(edition: string, index: number, token: string): Promise<string | null> {
    const url = (await this.editions.links(edition))?.[index];
    if (!url) return null;
    const reader = this.readerOf(token);
    if (reader) {
      // A click shows the edition was opened, also when the reader's mail program blocks images.
      await this.redis
        .multi()
        .pfadd(this.keys.opened(edition), reader)
        .pfadd(this.keys.clicked(edition), reader)
        .pfadd(this.keys.linkClickedBy(edition, index), reader)
        .hincrby(this.keys.linkClicks(edition), String(index), 1)
        .exec();
    }
    return url;
  }

  async summary(edition: string): Promise<EngagementSummary | null> {
    const links = await this.editions.links(edition);
    if (!links?.length) return null;
    const [openedBy, clickedBy, clicks, linkClickedBy] = await Promise.all([
      this.redis.pfcount(this.keys.opened(edition)),
      this.redis.pfcount(this.keys.clicked(edition)),
      this.redis.hgetall(this.keys.linkClicks(edition)),
      // One PFCOUNT per link, sent together on the connection (an edition has at most DIGEST_MAX_ARTICLES links).
      Promise.all(links.map((_url, index) => this.redis.pfcount(this.keys.linkClickedBy(edition, index)))),
    ]);
    return {
      openedBy,
      clickedBy,
      links: links.map((url, index) => ({
        url,
        clickedBy: linkClickedBy[index] ?? 0,
        clicks: Number(clicks[index] ?? 0),
      })),
    };
  }

  private readerOf(token: string): string | null {
    return this.tokens.reader(token);
  }
}
