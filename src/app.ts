import { AdminUsers } from './admin/admin-users.ts';
import { ArticleStore } from './articles/article-store.ts';
import { FeedPoller } from './articles/feed-poller.ts';
import { ArticleIntake } from './articles/intake.ts';
import { AlertNotices } from './delivery/alert-notices.ts';
import { Deliveries, DeliveryRecordsMissing } from './delivery/deliveries.ts';
import { FanOut } from './delivery/fan-out.ts';
import { Engagement } from './delivery/engagement.ts';
import { DeliveryLedger } from './delivery/ledger.ts';
import { DevMailbox } from './delivery/mail-sender.ts';
import { Messages } from './delivery/messages.ts';
import {
  alertJobOptions,
  createDeliveryQueue,
  createTransactionalQueue,
  type DeliveryJob,
  SIGNUP_JOB_OPTIONS,
  type TransactionalJob,
} from './delivery/queues.ts';
import { EditionBatchSender } from './delivery/edition-batch.ts';
import { DestinationPacer } from './delivery/pacing/pacer.ts';
import { Pacing } from './delivery/pacing/pacing.ts';
import { TransactionalMail } from './delivery/transactional-mail.ts';
import { type Transport, Transports, smtpSender } from './delivery/transports.ts';
import { Slots } from './delivery/concurrency.ts';
import { ReaderTokens } from './delivery/reader-tokens.ts';
import { SendRate } from './delivery/send-rate.ts';
import { TestSends } from './delivery/test-send.ts';
import { Alerts } from './editions/alerts.ts';
import { FeedbackLoop } from './feedback/feedback-loop.ts';
import { FeedbackStore } from './feedback/feedback-store.ts';
import { RelayWebhooks, type SnsFetch } from './feedback/relays.ts';
import { EditionDesk } from './editions/edition-desk.ts';
import { EditionStore } from './editions/edition-store.ts';
import { EditionRenderer } from './editions/render.ts';
import { CutoffSchedule } from './editions/window.ts';
import { type Clock, clockStartingAt, systemClock } from './platform/clock.ts';
import type { Config } from './platform/config.ts';
import { Database } from './platform/database.ts';
import { EmailTemplates } from './platform/email-template.ts';
import { localeFor } from './platform/locale.ts';
import type { Logger } from './platform/logger.ts';
import { connectRedis, type Redis } from './platform/redis.ts';
import { RedisKeys } from './platform/redis-keys.ts';
import { TokenSigner } from './platform/tokens.ts';
import { SubscriberStore } from './subscribers/subscriber-store.ts';
import { BounceReports } from './subscribers/bounce-reports.ts';
import { SubscriberImports } from './subscribers/imports.ts';
import { Subscriptions } from './subscribers/subscriptions.ts';
import type { Queue } from 'bullmq';

/**
 * Everything a process needs, wired once from the configuration. Processes (workers/*.ts, the CLI)
 * use the parts they run; nothing here starts listening or consuming by itself.
 */
export interface App {
  config: Config;
  logger: Logger;
  redis: Redis;
  /** PostgreSQL; nothing uses it yet but the migrations, which run before the app is made. */
  db: Database;
  /** Every Redis key the service uses. */
  keys: RedisKeys;
  subscribers: SubscriberStore;
  subscriptions: Subscriptions;
  /** The one path for bounces, complaints and unsubscribes reported after delivery (webhooks, mail, the admin API). */
  feedback: FeedbackLoop;
  /** Reports as kept: per edition and per reader, for admins. */
  feedbackStore: FeedbackStore;
  /** The relays' webhooks (POST /feedback/<relay>), as configured. */
  relays: RelayWebhooks;
  imports: SubscriberImports;
  /** Console logins stored with `digest admin-user`. */
  adminUsers: AdminUsers;
  articles: ArticleStore;
  intake: ArticleIntake;
  feeds: FeedPoller;
  editions: EditionStore;
  schedule: CutoffSchedule;
  desk: EditionDesk;
  ledger: DeliveryLedger;
  deliveries: Deliveries;
  engagement: Engagement;
  deliveryQueue: Queue<DeliveryJob>;
  transactionalQueue: Queue<TransactionalJob>;
  /** The relays (SMTP_URLS), or the dev mailbox as the one transport. */
  transports: Transports;
  devMailbox: DevMailbox | null;
  pacing: Pacing;
  editionBatches: EditionBatchSender;
  transactionalMail: TransactionalMail;
  /** Builds every outgoing message from templates composed once. */
  messages: Messages;
  testSends: TestSends;
  /** Conditions the desk was told about, per edition. */
  alerts: Alerts;
  alertNotices: AlertNotices;
  /** The time everything decides by (CLOCK_START moves it, in tests and demos). */
  clock: Clock;
  queueConnection: Redis;
  close(): Promise<void>;
}

/** What tests put in place of the outside world. */
export interface AppOverrides {
  /** How Amazon SNS is reached (signing certificates, subscription confirmations); default: HTTPS. */
  snsFetch?: SnsFetch;
}

/** `databaseUrl`: what ensureDatabase found (DATABASE_URL, or the embedded server's address). */
export function createApp(
  config: Config,
  logger: Logger,
  databaseUrl = config.DATABASE_URL,
  overrides: AppOverrides = {},
): App {
  if (!databaseUrl)
    throw new Error('createApp needs a database: set DATABASE_URL, or pass the URL ensureDatabase returned');
  const db = new Database(databaseUrl, logger);
  const redis = connectRedis(config.redisUrl);
  const queueConnection = connectRedis(config.redisUrl, { forQueue: true });
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  queueConnection.on('error', (error) => logger.warn({ err: error.message }, 'redis (queue) connection error'));

  const keys = new RedisKeys(config.REDIS_PREFIX);
  const queueSettings = {
    prefix: `${config.REDIS_PREFIX}-queue`,
    attempts: config.DELIVERY_ATTEMPTS,
    backoffMs: config.DELIVERY_BACKOFF_MS,
  };
  const deliveryQueue = createDeliveryQueue(queueConnection, queueSettings);
  const transactionalQueue = createTransactionalQueue(queueConnection, queueSettings);

  const subscribers = new SubscriberStore(db);
  const signer = new TokenSigner(config.APP_SECRET);
  const subscriptions = new Subscriptions(
    subscribers,
    signer,
    redis,
    keys,
    {
      confirmTokenTtlHours: config.CONFIRM_TOKEN_TTL_HOURS,
      limitPerAddressPerHour: config.SUBSCRIBE_LIMIT_PER_ADDRESS,
      publicUrl: config.PUBLIC_URL,
    },
    {
      async confirmation(subscriberId) {
        await transactionalQueue.add('confirm', { subscriberId });
      },
      async welcome(subscriberId) {
        if (config.WELCOME_EMAIL) await transactionalQueue.add('welcome', { subscriberId });
      },
    },
    {
      async enqueue(request) {
        await transactionalQueue.add('signup', request, SIGNUP_JOB_OPTIONS);
      },
    },
  );

  const imports = new SubscriberImports({ db, logger });
  const adminUsers = new AdminUsers(db);

  const articles = new ArticleStore(db);
  const intake = new ArticleIntake(articles, logger);
  const feeds = new FeedPoller(intake, db, logger, config.FEED_TIMEOUT_MS);

  const locale = localeFor(config.DIGEST_LOCALE);
  const templates = new EmailTemplates({ locale });
  const editions = new EditionStore(db);
  const schedule = new CutoffSchedule(config.DIGEST_CRON, config.DIGEST_TZ);
  const ledger = new DeliveryLedger(redis, keys);
  const fanOut = new FanOut(redis, keys, ledger, deliveryQueue, subscribers, config.DELIVERY_BATCH_SIZE, logger);
  const readerTokens = new ReaderTokens(config.APP_SECRET);
  const engagement = new Engagement(redis, keys, editions, readerTokens);
  const renderer = new EditionRenderer(templates, {
    newsletterName: config.NEWSLETTER_NAME,
    publicUrl: config.PUBLIC_URL,
    timeZone: config.DIGEST_TZ,
    tracking: config.TRACKING,
  });
  const devMailbox = config.useDevMailbox ? new DevMailbox(redis, keys) : null;
  const transports = new Transports({
    redis,
    keys,
    transports: transportsOf(config, devMailbox),
    settings: { firstPauseMs: config.DELIVERY_PAUSE_MS, longestPauseMs: 10 * config.DELIVERY_PAUSE_MS },
    logger,
  });
  const pacing = new Pacing(new DestinationPacer({ redis, keys, settings: { ceilings: config.destinationLimits } }));
  const deliveries = new Deliveries({
    redis,
    keys,
    ledger,
    fanOut,
    paces: pacing.pacer,
    transports,
    subscribers,
    editions,
  });
  const messages = new Messages(
    {
      from: config.MAIL_FROM,
      listId: config.LIST_ID,
      domain: config.mailDomain,
      newsletterName: config.NEWSLETTER_NAME,
      confirmHours: config.CONFIRM_TOKEN_TTL_HOURS,
      publicUrl: config.PUBLIC_URL,
      sendTime: schedule.sendTime(undefined, locale.intl),
      locale,
      ...(config.bounce
        ? {
            bounce: {
              address: config.bounce.address,
              unsubscribeAddress: config.bounce.unsubscribeAddress,
              secret: config.APP_SECRET,
            },
          }
        : {}),
      ...(config.FEEDBACK_ID_SENDER ? { feedbackIdSender: config.FEEDBACK_ID_SENDER } : {}),
    },
    subscriptions,
    readerTokens,
    templates,
  );
  const clock = config.CLOCK_START ? clockStartingAt(config.CLOCK_START) : systemClock;
  const alerts = new Alerts({
    db,
    logger,
    async notify(notice) {
      const options = alertJobOptions(config.DELIVERY_BACKOFF_MS);
      if (config.ALERT_WEBHOOK_URL)
        await transactionalQueue.add('alert-webhook', { notice, to: config.ALERT_WEBHOOK_URL }, options);
      if (config.ALERT_EMAIL) await transactionalQueue.add('alert-email', { notice, to: config.ALERT_EMAIL }, options);
    },
  });
  const desk = new EditionDesk({
    store: editions,
    articles,
    renderer,
    schedule,
    rules: { sectionCap: config.DIGEST_SECTION_CAP, maxArticles: config.DIGEST_MAX_ARTICLES },
    editorial: {
      minArticles: config.DIGEST_MIN_ARTICLES,
      freshHours: config.DIGEST_FRESH_HOURS,
      approval: config.DIGEST_APPROVAL,
      approvalDeadlineMinutes: config.DIGEST_APPROVAL_DEADLINE_MINUTES,
      approvalFallback: config.DIGEST_APPROVAL_FALLBACK,
      deliveryDeadlineMinutes: config.DIGEST_DELIVERY_DEADLINE_MINUTES,
    },
    delivery: {
      async start(edition) {
        try {
          return (await deliveries.start(edition)).alreadyRunning ? 'running-elsewhere' : 'started';
        } catch (error) {
          if (error instanceof DeliveryRecordsMissing) return 'records-missing';
          throw error;
        }
      },
      finished: (edition) => deliveries.finished(edition),
    },
    checkComposition: (edition) => messages.checkEdition(edition),
    alerts,
    clock,
    logger,
  });
  const alertNotices = new AlertNotices({ messages, sender: transports, logger });
  const feedbackStore = new FeedbackStore(db);
  const relays = new RelayWebhooks(config, overrides.snsFetch);
  const feedback = new FeedbackLoop({
    db,
    reports: new BounceReports({ store: subscribers, subscriptions, softBounceLimit: config.SOFT_BOUNCE_LIMIT }),
    alerts,
    sentCount: async (edition) => (await ledger.counts(edition)).sent,
    latestEdition: async () => (await editions.list(1))[0] ?? null,
    editionOfMessageId: (messageId) => messages.editionOfMessageId(messageId),
    verp: config.bounce ? { secret: config.APP_SECRET, bounceAddress: config.bounce.address } : null,
    complaintRateAlert: config.COMPLAINT_RATE_ALERT,
    logger: logger.child({ component: 'feedback' }),
  });

  const testSends = new TestSends({ messages, sender: transports, logger });

  const editionBatches = new EditionBatchSender({
    settings: {
      leaseSeconds: Math.ceil(config.DELIVERY_LOCK_MS / 1000),
      sendTimeoutMs: config.SMTP_TIMEOUT_MS,
      sendsPerBatch: transports.all.reduce((sum, transport) => sum + transport.poolSize, 0) * 2,
      busyInlineWaitMs: 50,
      idleInlineWaitMs: 300,
    },
    ledger,
    editions,
    subscribers,
    feedback,
    messages,
    transports,
    pacing,
    rate: new SendRate(redis, keys, config.MAIL_RATE_PER_SECOND),
    logger,
  });
  const transactionalMail = new TransactionalMail({ subscribers, feedback, messages, sender: transports, logger });

  return {
    config,
    logger,
    redis,
    db,
    keys,
    subscribers,
    subscriptions,
    feedback,
    feedbackStore,
    relays,
    imports,
    adminUsers,
    articles,
    intake,
    feeds,
    editions,
    schedule,
    desk,
    ledger,
    deliveries,
    engagement,
    deliveryQueue,
    transactionalQueue,
    transports,
    devMailbox,
    pacing,
    editionBatches,
    transactionalMail,
    messages,
    testSends,
    alerts,
    alertNotices,
    clock,
    queueConnection,
    async close() {
      await Promise.allSettled([deliveryQueue.close(), transactionalQueue.close(), transports.close()]);
      await Promise.allSettled([redis.quit(), queueConnection.quit(), db.close()]);
    },
  };
}

/** The configured relays, each with its own pool; with no SMTP_URL(S), the dev mailbox alone. */
function transportsOf(config: Config, devMailbox: DevMailbox | null): Transport[] {
  if (devMailbox)
    return [
      {
        name: 'dev-mailbox',
        sender: devMailbox,
        weight: 1,
        ratePerSecond: 0,
        poolSize: config.SMTP_POOL_SIZE,
        connections: new Slots(config.SMTP_POOL_SIZE),
      },
    ];
  return config.transports.map((spec) => ({
    name: spec.name,
    sender: smtpSender(spec, { timeoutMs: config.SMTP_TIMEOUT_MS, dkim: config.dkim }),
    weight: spec.weight,
    ratePerSecond: spec.ratePerSecond,
    poolSize: spec.poolSize,
    connections: new Slots(spec.poolSize),
  }));
}
