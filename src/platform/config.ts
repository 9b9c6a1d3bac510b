import { createPrivateKey, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { parseMailbox } from '../delivery/mime-encoding.ts';
import { parseDestinationLimits, RateListError } from '../delivery/pacing/destination-limits.ts';
import { parseTransportList, type TransportSpec, transportOf } from '../delivery/transport-list.ts';
import { readSendgridKey } from '../feedback/sendgrid.ts';
import { TOPIC_ARN } from '../feedback/sns.ts';
import { checkAddress } from '../subscribers/address.ts';
import { isLocaleCode, LOCALE_CODES, type LocaleCode } from './locales/index.ts';

/**
 * Every setting the service reads, validated once at start. Each entry documents itself in the
 * README's settings table; keep both in the same commit.
 */
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => ['1', 'true', 'yes'].includes(value));

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REDIS_URL: z.string().url().optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, - and _ only')
    .default('digest'),
  DATABASE_URL: z
    .string()
    .refine(
      (value) => /^postgres(ql)?:\/\/\S+$/.test(value) && URL.canParse(value),
      'must be a postgres:// or postgresql:// URL (percent-encode special characters in the password)',
    )
    .optional(),
  DATA_DIR: z.string().default('var'),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://')
    .optional(),
  SMTP_URLS: z.string().optional(),
  SMTP_POOL_SIZE: positiveInt(5),
  SMTP_DESTINATION_LIMITS: z.string().default(''),
  SMTP_TIMEOUT_MS: positiveInt(15_000),
  DKIM_DOMAIN: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i, 'a domain name, e.g. news.example.com')
    .optional(),
  DKIM_SELECTOR: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/i, 'a DNS label such as digest2026')
    .optional(),
  DKIM_PRIVATE_KEY: z.string().optional(),
  MAIL_FROM: z.string().min(3).default('Evening Digest <digest@localhost>'),
  LIST_ID: z.string().optional(),
  NEWSLETTER_NAME: z.string().min(1).max(80).default('Evening Digest'),
  PUBLIC_URL: z.string().url().optional(),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ADMIN_USERS: z
    .string()
    .regex(
      /^(\s*[\w.-]+:[0-9a-f]{32}:[0-9a-f]{64}\s*,?)*$/,
      'name:salt:hash entries from `digest admin-password NAME`, comma separated',
    )
    .default(''),
  APP_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  DIGEST_CRON: z.string().default('30 18 * * *'),
  DIGEST_TZ: z.string().default('UTC'),
  DIGEST_LOCALE: z.string().trim().default('en'),
  DIGEST_MIN_ARTICLES: positiveInt(1),
  DIGEST_FRESH_HOURS: z.coerce.number().min(0).max(48).default(6),
  DIGEST_APPROVAL: z.enum(['none', 'required']).default('none'),
  DIGEST_APPROVAL_DEADLINE_MINUTES: positiveInt(60),
  DIGEST_APPROVAL_FALLBACK: z.enum(['hold', 'send']).default('hold'),
  DIGEST_DELIVERY_DEADLINE_MINUTES: positiveInt(60),
  ALERT_WEBHOOK_URL: z
    .string()
    .url()
    .refine((value) => /^https?:\/\//.test(value), 'an http(s) URL')
    .optional(),
  ALERT_EMAIL: z.string().optional(),
  CLOCK_START: z.coerce.date().optional(),
  DIGEST_SECTION_CAP: positiveInt(6),
  DIGEST_MAX_ARTICLES: positiveInt(30),
  FEEDS: z.string().default(''),
  FEED_POLL_CRON: z.string().default('*/10 * * * *'),
  FEED_TIMEOUT_MS: positiveInt(15_000),
  WORKER_CONCURRENCY: positiveInt(4),
  DELIVERY_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  DELIVERY_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  DELIVERY_BACKOFF_MS: positiveInt(30_000),
  DELIVERY_LOCK_MS: positiveInt(30_000),
  DELIVERY_PAUSE_MS: positiveInt(30_000),
  MAIL_RATE_PER_SECOND: z.coerce.number().int().min(0).default(0),
  LEDGER_RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  SOFT_BOUNCE_LIMIT: z.coerce.number().int().min(0).max(100).default(3),
  CONFIRM_TOKEN_TTL_HOURS: positiveInt(7 * 24),
  SUBSCRIBE_LIMIT_PER_IP: positiveInt(30),
  SUBSCRIBE_LIMIT_PER_ADDRESS: positiveInt(3),
  DEV_MAILBOX: flag(true),
  TRUST_PROXY: z.string().default('false'),
  TRACKING: flag(false),
  WELCOME_EMAIL: flag(true),
  // The feedback loop (README: Bounces and complaints).
  BOUNCE_ADDRESS: z.string().optional(),
  BOUNCE_SMTP_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  BOUNCE_SMTP_HOST: z.string().default('0.0.0.0'),
  FEEDBACK_ID_SENDER: z
    .string()
    .regex(
      /^[A-Za-z0-9._-]{1,40}$/,
      'letters, digits, ".", "-" and "_" only (it is one field of the Feedback-ID header), at most 40',
    )
    .optional(),
  COMPLAINT_RATE_ALERT: z.coerce.number().min(0).max(1).default(0.001),
  SES_SNS_TOPIC_ARNS: z.string().default(''),
  SENDGRID_WEBHOOK_PUBLIC_KEY: z.string().optional(),
  MAILGUN_SIGNING_KEY: z
    .string()
    .min(16, 'must be at least 16 characters (Mailgun shows it under Webhooks: HTTP webhook signing key)')
    .optional(),
  POSTMARK_WEBHOOK_USER: z
    .string()
    .regex(/^[^:\s]{1,100}$/, 'no colon or spaces, at most 100 characters')
    .optional(),
  POSTMARK_WEBHOOK_PASSWORD: z.string().min(16, 'must be at least 16 characters').optional(),
});

type RawConfig = z.infer<typeof schema>;

export interface DkimKey {
  domainName: string;
  keySelector: string;
  /** PEM. */
  privateKey: string;
}

/** Where reports come back to (BOUNCE_ADDRESS): VERP return paths and the mailto unsubscribe address share its domain. */
export interface BounceAddresses {
  /** The base of every VERP return path, e.g. `bounce@bounces.example.org`. */
  address: string;
  /** The base of every List-Unsubscribe mailto address, e.g. `unsubscribe@bounces.example.org`. */
  unsubscribeAddress: string;
  domain: string;
}

export interface Config extends Omit<
  RawConfig,
  | 'SMTP_URLS'
  | 'SMTP_DESTINATION_LIMITS'
  | 'ADMIN_TOKEN'
  | 'APP_SECRET'
  | 'FEEDS'
  | 'LIST_ID'
  | 'PUBLIC_URL'
  | 'DKIM_DOMAIN'
  | 'DKIM_SELECTOR'
  | 'DKIM_PRIVATE_KEY'
  | 'TRUST_PROXY'
  | 'BOUNCE_ADDRESS'
  | 'SES_SNS_TOPIC_ARNS'
  | 'DIGEST_LOCALE'
> {
  /** The language of everything readers see: emails, their dates and times, the reader pages. */
  DIGEST_LOCALE: LocaleCode;
  /** Where readers reach the API, without a trailing slash; links in email start with it. */
  PUBLIC_URL: string;
  ADMIN_TOKEN: string;
  APP_SECRET: string;
  FEEDS: string[];
  LIST_ID: string;
  /** REDIS_URL was set explicitly (so no local redis-server may be started in its place). */
  redisUrlExplicit: boolean;
  redisUrl: string;
  /** DATABASE_URL was set (else an embedded PostgreSQL under DATA_DIR/postgres serves every process of this machine). */
  databaseUrlExplicit: boolean;
  /** Outgoing mail goes to the built-in dev mailbox instead of an SMTP server. */
  useDevMailbox: boolean;
  /** The SMTP relays (SMTP_URLS, or SMTP_URL alone); empty with the dev mailbox. */
  transports: TransportSpec[];
  /** Messages per second per destination, never exceeded (SMTP_DESTINATION_LIMITS). */
  destinationLimits: Map<string, number>;
  /** Host part of PUBLIC_URL: our Message-ID domain and List-Id. */
  mailDomain: string;
  /** Signs every message sent over SMTP when DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY are set. */
  dkim: DkimKey | null;
  /** Which X-Forwarded-For hops to believe: none, the last N, or those added by these proxy addresses. */
  TRUST_PROXY: false | number | string[];
  /** Set by BOUNCE_ADDRESS; null: envelopes carry MAIL_FROM's address and nothing reads bounce mail. */
  bounce: BounceAddresses | null;
  /** The SNS topics whose SES notifications POST /feedback/ses accepts; empty: the route answers 404. */
  SES_SNS_TOPIC_ARNS: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const raw = parsed.data;
  const production = raw.NODE_ENV === 'production';
  const problems: string[] = [];
  if (production) {
    if (!raw.ADMIN_TOKEN) problems.push('ADMIN_TOKEN: required in production');
    if (!raw.APP_SECRET) problems.push('APP_SECRET: required in production');
    if (!raw.SMTP_URL && !raw.SMTP_URLS)
      problems.push('SMTP_URL: required in production, or SMTP_URLS (the dev mailbox is for development)');
  }
  const feeds = raw.FEEDS.split(/[\s,]+/).filter(Boolean);
  for (const feed of feeds) {
    if (!/^https?:\/\//.test(feed)) problems.push(`FEEDS: "${feed}" is not an http(s) URL`);
  }
  if (raw.DELIVERY_LOCK_MS < 2 * raw.SMTP_TIMEOUT_MS) {
    problems.push(
      `DELIVERY_LOCK_MS: must be at least twice SMTP_TIMEOUT_MS (${raw.SMTP_TIMEOUT_MS}), so a send always ends inside its lease`,
    );
  }
  if (raw.ALERT_EMAIL !== undefined && !checkAddress(raw.ALERT_EMAIL).ok)
    problems.push(`ALERT_EMAIL: "${raw.ALERT_EMAIL}" is not an email address`);
  if (raw.CLOCK_START && production) problems.push('CLOCK_START: only for tests and demos, never in production');
  if (env.DIGEST_CATCHUP_HOURS !== undefined && env.DIGEST_CATCHUP_HOURS !== '') {
    problems.push(
      'DIGEST_CATCHUP_HOURS: replaced by DIGEST_FRESH_HOURS (how long after its cut-off an edition still goes out by itself)',
    );
  }
  if (!isValidTimeZone(raw.DIGEST_TZ)) problems.push(`DIGEST_TZ: "${raw.DIGEST_TZ}" is not a known time zone`);
  const locale = raw.DIGEST_LOCALE.toLowerCase();
  if (!isLocaleCode(locale))
    problems.push(`DIGEST_LOCALE: "${raw.DIGEST_LOCALE}" is not a known locale (known: ${LOCALE_CODES.join(', ')})`);
  for (const name of ['DIGEST_CRON', 'FEED_POLL_CRON'] as const) {
    if (!isValidCron(raw[name]))
      problems.push(`${name}: "${raw[name]}" is not a cron expression (minute hour day month weekday)`);
  }
  let fromAddress = '';
  try {
    fromAddress = parseMailbox(raw.MAIL_FROM).address;
  } catch {
    problems.push(`MAIL_FROM: "${raw.MAIL_FROM}" is not an address or "Name <address>"`);
  }
  const dkim = dkimKey(raw, fromAddress, problems);
  const trustProxy = trustedProxies(raw.TRUST_PROXY, problems);
  const transports = smtpTransports(raw, problems);
  const destinationLimits =
    readRates(() => parseDestinationLimits(raw.SMTP_DESTINATION_LIMITS), problems) ?? new Map<string, number>();
  const bounce = bounceAddresses(raw, problems);
  const topicArns = snsTopics(raw.SES_SNS_TOPIC_ARNS, problems);
  webhookSettings(raw, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const publicUrl = (raw.PUBLIC_URL ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, '');
  const mailDomain = new URL(publicUrl).hostname;
  return {
    ...raw,
    DIGEST_LOCALE: locale as LocaleCode,
    PUBLIC_URL: publicUrl,
    ADMIN_TOKEN: raw.ADMIN_TOKEN ?? 'dev-admin-token-change-me',
    APP_SECRET: raw.APP_SECRET ?? devSecret(raw.DATA_DIR),
    FEEDS: feeds,
    LIST_ID: raw.LIST_ID ?? `${raw.NEWSLETTER_NAME} <digest.${mailDomain}>`,
    redisUrlExplicit: raw.REDIS_URL !== undefined,
    redisUrl: raw.REDIS_URL ?? 'redis://127.0.0.1:6379',
    databaseUrlExplicit: raw.DATABASE_URL !== undefined,
    useDevMailbox: transports.length === 0 && raw.DEV_MAILBOX,
    transports,
    destinationLimits,
    mailDomain,
    dkim,
    TRUST_PROXY: trustProxy,
    bounce,
    SES_SNS_TOPIC_ARNS: topicArns,
  };
}

/** SMTP_URLS, or SMTP_URL as the one transport; both at once is a mistake worth naming. */
function smtpTransports(raw: RawConfig, problems: string[]): TransportSpec[] {
  if (raw.SMTP_URL && raw.SMTP_URLS) {
    problems.push('SMTP_URLS: set SMTP_URL (one relay) or SMTP_URLS (several), not both');
    return [];
  }
  if (raw.SMTP_URL) return [transportOf(raw.SMTP_URL, raw.SMTP_POOL_SIZE)];
  return readRates(() => parseTransportList(raw.SMTP_URLS ?? '', { poolSize: raw.SMTP_POOL_SIZE }), problems) ?? [];
}

function readRates<T>(read: () => T, problems: string[]): T | null {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof RateListError)) throw error;
    problems.push(error.message);
    return null;
  }
}

/**
 * BOUNCE_ADDRESS as `bounce@bounces.example.org` or just the domain (then the local part is
 * `bounce`). The local part is the VERP base, so it may not hold a `+` (the token's separator) or be
 * `unsubscribe` (the mailto unsubscribe base on the same domain). The SMTP listener needs it: it
 * only accepts mail for that domain.
 */
function bounceAddresses(raw: RawConfig, problems: string[]): BounceAddresses | null {
  if (!raw.BOUNCE_ADDRESS) {
    if (raw.BOUNCE_SMTP_PORT !== undefined)
      problems.push('BOUNCE_SMTP_PORT: needs BOUNCE_ADDRESS (the listener accepts mail for its domain only)');
    return null;
  }
  const value = raw.BOUNCE_ADDRESS.trim().toLowerCase();
  const [local, domain] = value.includes('@')
    ? [value.slice(0, value.lastIndexOf('@')), value.slice(value.lastIndexOf('@') + 1)]
    : ['bounce', value];
  const domainOk = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(domain ?? '');
  const localOk = /^[a-z0-9._-]{1,20}$/.test(local ?? '') && local !== 'unsubscribe';
  if (!domainOk || !localOk) {
    problems.push(
      `BOUNCE_ADDRESS: "${raw.BOUNCE_ADDRESS}" is not a domain (bounces.example.org) or an address on one (bounce@bounces.example.org) whose local part is 1-20 of a-z 0-9 . _ - (no "+", not "unsubscribe")`,
    );
    return null;
  }
  return { address: `${local}@${domain}`, unsubscribeAddress: `unsubscribe@${domain}`, domain: domain ?? '' };
}

function snsTopics(setting: string, problems: string[]): string[] {
  const topics = setting.split(/[\s,]+/).filter(Boolean);
  for (const topic of topics) {
    if (!TOPIC_ARN.test(topic))
      problems.push(`SES_SNS_TOPIC_ARNS: "${topic}" is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)`);
  }
  return topics;
}

/** Relay webhook credentials that are present must be usable; the Postmark pair comes together. */
function webhookSettings(raw: RawConfig, problems: string[]): void {
  if (raw.SENDGRID_WEBHOOK_PUBLIC_KEY !== undefined) {
    try {
      readSendgridKey(raw.SENDGRID_WEBHOOK_PUBLIC_KEY);
    } catch {
      problems.push(
        'SENDGRID_WEBHOOK_PUBLIC_KEY: not the base64 elliptic-curve public key SendGrid shows under Mail Settings, Signed Event Webhook',
      );
    }
  }
  if ((raw.POSTMARK_WEBHOOK_USER === undefined) !== (raw.POSTMARK_WEBHOOK_PASSWORD === undefined)) {
    problems.push(
      'POSTMARK_WEBHOOK_USER, POSTMARK_WEBHOOK_PASSWORD: set both (the basic-auth credentials in the webhook URL), or neither',
    );
  }
}

/**
 * Believing every X-Forwarded-For hop would let a client choose its own address (the left-most hop
 * is whatever it sent), and with it dodge rate limits and forge consent records. So a number of
 * proxies in front of the service, or their addresses, is required; `true` is refused.
 */
function trustedProxies(setting: string, problems: string[]): false | number | string[] {
  const value = setting.trim().toLowerCase();
  if (['false', 'no', '0', 'off'].includes(value)) return false;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const entries = value.split(/[\s,]+/).filter(Boolean);
  const bad = entries.filter((entry) => !isAddressOrRange(entry));
  if (['true', 'yes', 'on'].includes(value) || bad.length > 0 || entries.length === 0) {
    problems.push(
      `TRUST_PROXY: "${setting}" is not a number of proxies (e.g. 1) or a list of proxy addresses (e.g. 10.0.0.0/8,127.0.0.1)${['true', 'yes', 'on'].includes(value) ? '; trusting every X-Forwarded-For hop would let clients choose their own IP' : ''}`,
    );
    return false;
  }
  return entries;
}

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  if (extra !== undefined || isIP(address) === 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (isIP(address) === 4 ? 32 : 128);
}

/**
 * The DKIM signing key: all three settings or none; an RSA key of at least 1024 bits (given as PEM,
 * with `\n` allowed for line breaks, or as a path to a PEM file); and a domain that MAIL_FROM's
 * domain belongs to, because DMARC only counts a signature aligned with the From address.
 */
function dkimKey(raw: RawConfig, fromAddress: string, problems: string[]): DkimKey | null {
  const { DKIM_DOMAIN: domainName, DKIM_SELECTOR: keySelector, DKIM_PRIVATE_KEY: keySetting } = raw;
  if (!domainName && !keySelector && !keySetting) return null;
  if (!domainName || !keySelector || !keySetting) {
    problems.push('DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY: set all three to sign mail, or none');
    return null;
  }
  const fromDomain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1).toLowerCase();
  const domain = domainName.toLowerCase();
  if (fromAddress && fromDomain !== domain && !fromDomain.endsWith(`.${domain}`)) {
    problems.push(
      `DKIM_DOMAIN: "${domainName}" is not the domain of MAIL_FROM (${fromDomain}) or a parent of it, so DMARC would not count the signature`,
    );
  }
  let privateKey = keySetting.replace(/\\n/g, '\n');
  if (!privateKey.includes('-----BEGIN')) {
    try {
      privateKey = readFileSync(resolve(privateKey), 'utf8');
    } catch {
      problems.push(`DKIM_PRIVATE_KEY: neither a PEM key nor a readable file (${keySetting.slice(0, 60)})`);
      return null;
    }
  }
  try {
    const key = createPrivateKey(privateKey);
    if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 1024) {
      problems.push('DKIM_PRIVATE_KEY: must be an RSA key of at least 1024 bits (2048 recommended)');
    }
  } catch {
    problems.push('DKIM_PRIVATE_KEY: not a valid PEM private key');
  }
  return { domainName: domain, keySelector, privateKey };
}

function isValidCron(expression: string): boolean {
  try {
    CronExpressionParser.parse(expression);
    return expression.trim().split(/\s+/).length === 5;
  } catch {
    return false;
  }
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A development secret kept under DATA_DIR so that links in captured mail survive restarts. */
function devSecret(dataDir: string): string {
  const file = resolve(dataDir, 'app-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('hex');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
