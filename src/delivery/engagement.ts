import type { Redis } from 'ioredis';
import type { EditionStore } from '../editions/edition-store.ts';
import type { Keyspace } from '../platform/redis.ts';
import type { ReaderTokens } from './reader-tokens.ts';

export interface EngagementSummary {
  /** Readers who opened the edition (loaded its images) or clicked a link; estimated, within about 1%. */
  openedBy: number;
  /** Readers who clicked at least one link; estimated, within about 1%. */
  clickedBy: number;
  /** Every tracked link with its clicks (all clicks, not readers). */
  links: Array<{ url: string; clicks: number }>;
}

/**
 * Opens and clicks of an edition (TRACKING), counted without keeping who did what: readers are
 * counted in HyperLogLogs, from which no reader can be read back, and clicks per link in a hash.
 * Links in old mail keep working when TRACKING is turned off; they are just no longer in new mail.
 */
export class Engagement {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly editions: EditionStore,
    private readonly tokens: ReaderTokens,
  ) {}

  async open(edition: string, token: string): Promise<void> {
    const reader = this.readerOf(token);
    if (reader && (await this.editions.links(edition))?.length) await this.redis.pfadd(this.key(edition, 'opened'), reader);
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
        .pfadd(this.key(edition, 'opened'), reader)
        .pfadd(this.key(edition, 'clicked'), reader)
        .hincrby(this.key(edition, 'link-clicks'), String(index), 1)
        .exec();
    }
    return url;
  }

  async summary(edition: string): Promise<EngagementSummary | null> {
    const links = await this.editions.links(edition);
    if (!links?.length) return null;
    const [openedBy, clickedBy, clicks] = await Promise.all([
      this.redis.pfcount(this.key(edition, 'opened')),
      this.redis.pfcount(this.key(edition, 'clicked')),
      this.redis.hgetall(this.key(edition, 'link-clicks')),
    ]);
    return { openedBy, clickedBy, links: links.map((url, index) => ({ url, clicks: Number(clicks[index] ?? 0) })) };
  }

  private readerOf(token: string): string | null {
    return this.tokens.reader(token);
  }

  private key(edition: string, what: string): string {
    return this.keys.key('edition', edition, what);
  }
}
