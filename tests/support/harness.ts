import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { type App, type AppOverrides, createApp } from '../../src/app.ts';
import { startDeliveryWorkers, type RunningWorkers } from '../../src/delivery/workers.ts';
import { buildServer } from '../../src/http/server.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createTestDatabase } from './database.ts';
import { SmtpSink } from './smtp-sink.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface Harness {
  app: App;
  server: FastifyInstance;
  sink: SmtpSink;
  workers: RunningWorkers | null;
  /** Authorization header for admin routes. */
  admin: { authorization: string };
  /** Every log line (JSON) of the app when started with `captureLogs`, at level info. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * The service in this process against the run's throwaway Redis (each harness in its own key
 * prefix) and PostgreSQL (each harness its own database), and a real SMTP sink. `workers: false`
 * leaves delivery to the test.
 */
export async function startHarness(
  options: { env?: Record<string, string>; workers?: boolean; captureLogs?: boolean; overrides?: AppOverrides } = {},
): Promise<Harness> {
  const [sink, databaseUrl] = await Promise.all([new SmtpSink().start(), createTestDatabase()]);
  const logs: string[] = [];
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    REDIS_URL: inject('redisUrl'),
    DATABASE_URL: databaseUrl,
    REDIS_PREFIX: `t${randomBytes(5).toString('hex')}`,
    SMTP_URL: sink.url,
    ADMIN_TOKEN,
    APP_SECRET: 'test-secret-test-secret-test-secret-0123',
    PUBLIC_URL: 'https://digest.example.test',
    MAIL_FROM: 'Evening Digest <digest@example.test>',
    DELIVERY_BACKOFF_MS: '100',
    DELIVERY_ATTEMPTS: '4',
    DELIVERY_LOCK_MS: '5000',
    SMTP_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const logger = options.captureLogs
    ? createLogger('test', 'info', { write: (line: string) => void logs.push(line) })
    : createLogger('test', config.LOG_LEVEL);
  const app = createApp(config, logger, config.DATABASE_URL, options.overrides);
  const server = await buildServer(app);
  await server.ready();
  const workers = options.workers === false ? null : startDeliveryWorkers(app);
  return {
    app,
    server,
    sink,
    workers,
    admin: { authorization: `Bearer ${ADMIN_TOKEN}` },
    logs,
    async close() {
      await workers?.close();
      await server.close();
      await app.close();
      await sink.stop();
    },
  };
}

/**
 * A day for tests that need both the console preview and "send now" on one edition, or a cut-off
 * later today: every process's clock starts at midday (CLOCK_START), the cut-off is at 18:30 that
 * day, and `publishedAt` is before midday, inside that edition. With the real clock, there is no
 * cut-off "later today" just before midnight, and from midnight until DIGEST_FRESH_HOURS after the
 * evening's cut-off the Today page still shows the previous day's unsent edition while "send now"
 * sends the new day's.
 */
export const MIDDAY = {
  env: { CLOCK_START: '2026-06-01T12:00:00Z', DIGEST_CRON: '30 18 * * *' },
  publishedAt: new Date('2026-06-01T11:50:00Z'),
};

/**
 * A publication time `agoMs` before the end of the window of the edition a test acts on, if it went
 * now: `send-now`'s (today's, by the calendar date) or the console preview's (the first edition that
 * still waits). Before the day's cut-off (18:30 UTC) that end is now; once the cut-off has passed it
 * is the cut-off, as an article published since belongs to tomorrow's edition. Tests that send or
 * preview with the real clock use it, or they would fail every evening after 18:30 UTC.
 */
export async function publishedForToday(
  h: Harness,
  agoMs = 5_000,
  edition: 'send-now' | 'preview' = 'send-now',
): Promise<string> {
  const now = Date.now();
  const end =
    edition === 'send-now'
      ? (await h.app.desk.todaysWindow()).window.end.getTime()
      : Math.min(now, (await h.app.desk.current()).cutoff.getTime());
  return new Date(end - agoMs).toISOString();
}

export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Until no confirmation, welcome or test email is waiting or being sent. */
export async function transactionalIdle(h: Harness): Promise<void> {
  await waitFor(async () => {
    const counts = await h.app.transactionalQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(counts).every((count) => count === 0);
  }, 'transactional queue idle');
}

/** The first link in a text that starts with `prefix`. */
export function linkIn(text: string, prefix: string): string {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`${escaped}[^\\s"<>]*`).exec(text);
  if (!match) throw new Error(`no link starting with ${prefix} in:\n${text.slice(0, 500)}`);
  return match[0];
}

/**
 * Follows a confirmation link as a person does: the GET shows a page with a button (and confirms
 * nothing: mail scanners open links), the button posts the same address.
 */
export async function confirmByLink(h: Harness, link: string): Promise<{ statusCode: number; body: string }> {
  const path = link.replace(/^https?:\/\/[^/]+/, '');
  const page = await h.server.inject({ method: 'GET', url: path });
  if (page.statusCode !== 200 || !page.body.includes(`action="${path.replace(/&/g, '&amp;')}"`)) return page;
  return h.server.inject({ method: 'POST', url: path });
}
