import type { Queryable } from '../platform/database.ts';
import type { Logger } from '../platform/logger.ts';
import { loadQueries } from '../platform/sql.ts';
import type { ArticleIntake, FeedIngestReport } from './intake.ts';

const SQL = loadQueries(new URL('./feeds.sql', import.meta.url), ['save', 'statuses']);

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
    private readonly db: Queryable,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

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
    await this.db.query(SQL.save, [
      url,
      status.lastPollAt,
      status.lastError,
      status.lastReport ? JSON.stringify(status.lastReport) : null,
    ]);
    return status;
  }

  async statuses(urls: string[]): Promise<FeedStatus[]> {
    const { rows } = await this.db.query<{
      url: string;
      last_poll_at: Date | null;
      last_error: string | null;
      last_report: FeedIngestReport | null;
    }>(SQL.statuses, [urls]);
    const stored = new Map(rows.map((row) => [row.url, row]));
    return urls.map((url) => {
      const row = stored.get(url);
      return {
        url,
        lastPollAt: row?.last_poll_at?.toISOString() ?? null,
        lastError: row?.last_error ?? null,
        lastReport: row?.last_report ?? null,
      };
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
