import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of this process (served by the API at /metrics; workers log theirs). */
export const metrics = new Registry();

export const mjmlCompiles = new Counter({
  name: 'digest_mjml_compiles_total',
  help: 'MJML compilations, by template (one per edition and per template, never per recipient)',
  labelNames: ['template'] as const,
  registers: [metrics],
});

export const emailsSent = new Counter({
  name: 'digest_emails_sent_total',
  help: 'Messages accepted by the SMTP server, by kind',
  labelNames: ['kind'] as const,
  registers: [metrics],
});

export const emailsNotSent = new Counter({
  name: 'digest_emails_not_sent_total',
  help: 'Messages not accepted, by outcome (deferred, failed) and SMTP reply code',
  labelNames: ['outcome', 'code'] as const,
  registers: [metrics],
});

export const subscriptionEvents = new Counter({
  name: 'digest_subscription_events_total',
  help: 'Sign-ups, confirmations and unsubscribes',
  labelNames: ['event'] as const,
  registers: [metrics],
});

export const bounceReports = new Counter({
  name: 'digest_bounce_reports_total',
  help: 'Bounces, complaints and unsubscribes reported after delivery and applied by this process, by type (hard, soft, complaint, policy, unsubscribe) and what they did',
  labelNames: ['type', 'outcome'] as const,
  registers: [metrics],
});

export const feedbackWebhooks = new Counter({
  name: 'digest_feedback_webhook_requests_total',
  help: 'Requests to the relay webhooks (POST /feedback/<relay>), by relay and HTTP status (202 taken, 4xx refused)',
  labelNames: ['relay', 'status'] as const,
  registers: [metrics],
});

export const inboundMail = new Counter({
  name: 'digest_feedback_inbound_mail_total',
  help: 'Messages the bounce listener accepted, by what they were (dsn, arf, mailto, none) and whether a VERP token named the reader',
  labelNames: ['kind', 'verified'] as const,
  registers: [metrics],
});

let readFeedbackCounts:
  (() => Promise<Array<{ source: string; kind: string; outcome: string; count: number }>>) | undefined;

export const feedbackReports = new Gauge({
  name: 'digest_feedback_reports',
  help: 'Bounce, complaint and unsubscribe reports since the start, by source, kind and outcome, replays (duplicate) included (read from PostgreSQL, so every process counts)',
  labelNames: ['source', 'kind', 'outcome'] as const,
  registers: [metrics],
  async collect() {
    const counts = await readFeedbackCounts?.().catch(() => undefined);
    for (const { source, kind, outcome, count } of counts ?? []) this.set({ source, kind, outcome }, count);
  },
});

/** The API process tells the feedback gauge how to read the totals at scrape time. */
export function setFeedbackCountSource(
  read: () => Promise<Array<{ source: string; kind: string; outcome: string; count: number }>>,
): void {
  readFeedbackCounts = read;
}

export const editionDuration = new Histogram({
  name: 'digest_edition_assembly_seconds',
  help: 'Time to assemble and render an edition',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
  registers: [metrics],
});

let readQueueDepth: (() => Promise<void>) | undefined;

export const queueJobs = new Gauge({
  name: 'digest_queue_jobs',
  help: 'Jobs in the delivery and transactional queues, by state',
  labelNames: ['queue', 'state'] as const,
  registers: [metrics],
  async collect() {
    // A scrape still answers while Redis is unreachable; the depths then keep their last values.
    await readQueueDepth?.().catch(() => undefined);
  },
});

let readAlertCounts: (() => Promise<Array<{ kind: string; raised: number; resolved: number }>>) | undefined;

export const alertsTotal = new Gauge({
  name: 'digest_alerts',
  help: 'Alerts the desk was sent since the start, by kind, and how many of them were resolved (read from PostgreSQL, so every process counts)',
  labelNames: ['kind', 'state'] as const,
  registers: [metrics],
  async collect() {
    const counts = await readAlertCounts?.().catch(() => undefined);
    for (const { kind, raised, resolved } of counts ?? []) {
      this.set({ kind, state: 'raised' }, raised);
      this.set({ kind, state: 'resolved' }, resolved);
    }
  },
});

/** The API process tells the alert gauge how to read the counts at scrape time. */
export function setAlertCountSource(
  read: () => Promise<Array<{ kind: string; raised: number; resolved: number }>>,
): void {
  readAlertCounts = read;
}

/** The API process tells the gauge how to read its queues at scrape time. */
export function setQueueDepthSource(read: () => Promise<void>): void {
  readQueueDepth = read;
}

export function collectProcessMetrics(): void {
  collectDefaultMetrics({ register: metrics });
}
