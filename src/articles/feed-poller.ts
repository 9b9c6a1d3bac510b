import type { Redis } from 'ioredis';
import type { Logger } from '../platform/logger.ts';
import type { Keyspace } from '../platform/redis.ts';
import type { ArticleIntake, FeedIngestReport } from './intake.ts';

export interface FeedStatus {
  url: string;
  lastPollAt: string | null;
  lastError: string | null;
  lastReport: FeedIngestReport | null;
}

const MAX_FEED_BYTES = 5 * 1024 * 1024;

/** Fetches the configured feeds and keeps each one's last poll, counts and error for the admins. */
export class FeedPoller {
  constructor(
    private readonly intake: ArticleIntake,
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  private get statusKey(): string {
    return this.keys.key('feeds', 'status');
  }

  async pollAll(urls: string[]): Promise<FeedStatus[]> {
    return Promise.all(urls.map((url) => this.poll(url)));
  }

  async poll(url: string): Promise<FeedStatus> {
    const status: FeedStatus = { url, lastPollAt: new Date().toISOString(), lastError: null, lastReport: null };
    try {
      status.lastReport = await this.intake.ingestFeed(await this.fetchFeed(url), url);
      this.logger.info({ feed: url, ...status.lastReport, rejected: status.lastReport.rejected.length }, 'feed polled');
    } catch (error) {
      status.lastError = error instanceof Error ? error.message : String(error);
      this.logger.warn({ feed: url, err: status.lastError }, 'feed poll failed');
    }
    await this.redis.hset(this.statusKey, url, JSON.stringify(status));
    return status;
  }

  async statuses(urls: string[]): Promise<FeedStatus[]> {
    const stored = urls.length ? await this.redis.hmget(this.statusKey, ...urls) : [];
    return urls.map((url, index) => {
      const raw = stored[index];
      return raw ? (JSON.parse(raw) as FeedStatus) : { url, lastPollAt: null, lastError: null, lastReport: null };
    });
  }

  private async fetchFeed(url: string): Promise<string> {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(this.timeoutMs),
      headers: { accept: 'application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5' },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status} from feed`);
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_FEED_BYTES) throw new Error(`feed is larger than ${MAX_FEED_BYTES} bytes`);
    const body = await response.text();
    if (body.length > MAX_FEED_BYTES) throw new Error(`feed is larger than ${MAX_FEED_BYTES} bytes`);
    return body;
  }
}
