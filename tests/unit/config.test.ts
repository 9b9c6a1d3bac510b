import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'digest-config-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const PRODUCTION = {
  NODE_ENV: 'production',
  ADMIN_TOKEN: 'admin-token-0123456789',
  APP_SECRET: 'app-secret-0123456789-0123456789-0123456789',
  SMTP_URL: 'smtps://user:pass@smtp.example.test:465',
  PUBLIC_URL: 'https://digest.example.test',
};

/** The problems a ConfigError lists; fails the test if loading succeeds or throws something else. */
function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig({ DATA_DIR: dataDir, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has working defaults for development', () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      REDIS_PREFIX: 'digest',
      PORT: 3000,
      HOST: '0.0.0.0',
      PUBLIC_URL: 'http://localhost:3000',
      mailDomain: 'localhost',
      MAIL_FROM: 'Evening Digest <digest@localhost>',
      LIST_ID: 'Evening Digest <digest.localhost>',
      DIGEST_CRON: '30 18 * * *',
      DIGEST_TZ: 'UTC',
      DIGEST_LOCALE: 'en',
      DIGEST_SECTION_CAP: 6,
      DIGEST_MAX_ARTICLES: 30,
      FEEDS: [],
      redisUrl: 'redis://127.0.0.1:6379',
      redisUrlExplicit: false,
      useDevMailbox: true,
      DEV_MAILBOX: true,
      TRUST_PROXY: false,
    });
    expect(config.ADMIN_TOKEN.length).toBeGreaterThanOrEqual(16);
  });

  it('keeps a development secret under DATA_DIR and reuses it', () => {
    const first = loadConfig({ DATA_DIR: dataDir });
    const file = join(dataDir, 'app-secret');
    expect(existsSync(file)).toBe(true);
    expect(first.APP_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.APP_SECRET);
    expect(loadConfig({ DATA_DIR: dataDir }).APP_SECRET).toBe(first.APP_SECRET);
  });

  it('uses APP_SECRET when given, without writing a file', () => {
    const config = loadConfig({ DATA_DIR: dataDir, APP_SECRET: PRODUCTION.APP_SECRET });
    expect(config.APP_SECRET).toBe(PRODUCTION.APP_SECRET);
    expect(existsSync(join(dataDir, 'app-secret'))).toBe(false);
  });

  it('derives PUBLIC_URL from PORT', () => {
    expect(loadConfig({ DATA_DIR: dataDir, PORT: '8080' }).PUBLIC_URL).toBe('http://localhost:8080');
  });

  it.each([
    ['https://digest.example.test/', 'https://digest.example.test'],
    ['https://digest.example.test///', 'https://digest.example.test'],
    ['https://example.test/digest/', 'https://example.test/digest'],
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
  ])('trims trailing slashes from PUBLIC_URL %s', (publicUrl, expected) => {
    expect(loadConfig({ DATA_DIR: dataDir, PUBLIC_URL: publicUrl }).PUBLIC_URL).toBe(expected);
  });

  it('takes the mail domain and List-Id from PUBLIC_URL and NEWSLETTER_NAME', () => {
    const config = loadConfig({
      DATA_DIR: dataDir,
      PUBLIC_URL: 'https://news.example.test/digest/',
      NEWSLETTER_NAME: 'Abendblatt',
    });
    expect(config.mailDomain).toBe('news.example.test');
    expect(config.LIST_ID).toBe('Abendblatt <digest.news.example.test>');
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig({ DATA_DIR: dataDir, PORT: '', SMTP_URL: '', REDIS_URL: '', FEEDS: '' });
    expect(config).toMatchObject({ PORT: 3000, useDevMailbox: true, redisUrlExplicit: false, FEEDS: [] });
  });

  it('reads numbers, flags and lists', () => {
    const config = loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      DIGEST_SECTION_CAP: '3',
      TRUST_PROXY: '2',
      DEV_MAILBOX: '0',
      FEEDS: 'https://a.example.test/rss, http://b.example.test/atom\nhttps://c.example.test/feed',
      REDIS_URL: 'redis://cache.example.test:6380/2',
      SMTP_URL: 'smtp://mail.example.test:25',
    });
    expect(config).toMatchObject({
      PORT: 0,
      DIGEST_SECTION_CAP: 3,
      TRUST_PROXY: 2,
      DEV_MAILBOX: false,
      FEEDS: ['https://a.example.test/rss', 'http://b.example.test/atom', 'https://c.example.test/feed'],
      redisUrl: 'redis://cache.example.test:6380/2',
      redisUrlExplicit: true,
      useDevMailbox: false,
    });
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig({ DATA_DIR: dataDir, ...PRODUCTION });
    expect(config).toMatchObject({ NODE_ENV: 'production', ADMIN_TOKEN: PRODUCTION.ADMIN_TOKEN, useDevMailbox: false });
  });

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['REDIS_PREFIX', { REDIS_PREFIX: 'digest:prod' }],
    ['REDIS_PREFIX', { REDIS_PREFIX: 'has space' }],
    ['REDIS_PREFIX', { REDIS_PREFIX: 'p'.repeat(41) }],
    ['ADMIN_TOKEN', { ADMIN_TOKEN: 'short' }],
    ['APP_SECRET', { APP_SECRET: 'too-short-for-a-secret' }],
    ['DIGEST_TZ', { DIGEST_TZ: 'Mars/Olympus_Mons' }],
    ['DIGEST_LOCALE', { DIGEST_LOCALE: 'fr' }],
    ['DIGEST_LOCALE', { DIGEST_LOCALE: 'en-US' }],
    ['LEDGER_RETENTION_DAYS', { LEDGER_RETENTION_DAYS: '-1' }],
    ['SOFT_BOUNCE_LIMIT', { SOFT_BOUNCE_LIMIT: '-2' }],
    ['LEDGER_RETENTION_DAYS', { LEDGER_RETENTION_DAYS: 'a month' }],
    ['FEEDS', { FEEDS: 'https://ok.example.test/rss ftp://files.example.test/feed' }],
    ['FEEDS', { FEEDS: 'feed.example.test/rss' }],
    ['SMTP_URL', { SMTP_URL: 'http://mail.example.test' }],
    ['SMTP_URL', { SMTP_URL: 'mail.example.test:25' }],
    ['SMTP_URLS', { SMTP_URLS: 'smtp://a.example.test, http://b.example.test' }],
    ['SMTP_URLS', { SMTP_URLS: 'smtp://a.example.test weight=0' }],
    ['SMTP_URLS', { SMTP_URLS: 'smtp://a.example.test rate=50' }],
    ['SMTP_URLS', { SMTP_URLS: 'smtp://a.example.test, smtp://a.example.test' }],
    ['SMTP_URLS', { SMTP_URLS: 'smtp://a.example.test', SMTP_URL: 'smtp://b.example.test' }],
    ['SMTP_DESTINATION_LIMITS', { SMTP_DESTINATION_LIMITS: 'gmail.com=50' }],
    ['SMTP_DESTINATION_LIMITS', { SMTP_DESTINATION_LIMITS: 'hotmail.com=20/s,outlook.com=10/s' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['DEV_MAILBOX', { DEV_MAILBOX: 'maybe' }],
    ['DELIVERY_BATCH_SIZE', { DELIVERY_BATCH_SIZE: '0' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'not a url' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'true' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/33' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'proxy.example.test' }],
  ])('names %s when it is bad', (name, env) => {
    const found = problems(env);
    expect(found).toHaveLength(1);
    expect(found[0]?.startsWith(`${name}: `), found[0]).toBe(true);
  });

  it('reads TRUST_PROXY as a number of proxies or their addresses, and refuses to trust every hop', () => {
    expect(loadConfig({ DATA_DIR: dataDir, TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ DATA_DIR: dataDir, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).TRUST_PROXY).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
    ]);
    expect(loadConfig({ DATA_DIR: dataDir, TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(problems({ TRUST_PROXY: 'true' })[0]).toContain('would let clients choose their own IP');
  });

  it('reads SMTP_URLS with weights, rates and pools, naming each transport by host and port unless named', () => {
    const config = loadConfig({
      DATA_DIR: dataDir,
      SMTP_POOL_SIZE: '3',
      SMTP_URLS:
        'smtp://relay-a.example.test:587 weight=3 rate=50/s pool=8,\n smtps://user:p%2Cw@relay-b.example.test:465 name=backup rate=600/min',
      SMTP_DESTINATION_LIMITS: 'gmail.com=50/s, hotmail.com=20/s',
    });
    expect(config.useDevMailbox).toBe(false);
    expect(config.transports).toEqual([
      {
        name: 'relay-a.example.test:587',
        url: 'smtp://relay-a.example.test:587',
        weight: 3,
        ratePerSecond: 50,
        poolSize: 8,
      },
      { name: 'backup', url: 'smtps://user:p%2Cw@relay-b.example.test:465', weight: 1, ratePerSecond: 10, poolSize: 3 },
    ]);
    expect(config.destinationLimits).toEqual(
      new Map([
        ['gmail.com', 50],
        ['outlook.com', 20],
      ]),
    );
    expect(loadConfig({ DATA_DIR: dataDir, SMTP_URL: 'smtp://user:secret@mail.example.test:25' }).transports).toEqual([
      {
        name: 'mail.example.test:25',
        url: 'smtp://user:secret@mail.example.test:25',
        weight: 1,
        ratePerSecond: 0,
        poolSize: 5,
      },
    ]);
  });

  it('puts every problem in the error message', () => {
    const load = () => loadConfig({ DATA_DIR: dataDir, PORT: 'x', REDIS_PREFIX: 'a:b' });
    expect(load).toThrow(/^Invalid configuration:\n/);
    expect(load).toThrow(/\n {2}- PORT: /);
    expect(load).toThrow(/\n {2}- REDIS_PREFIX: letters, digits, - and _ only/);
  });

  it('quotes the bad feed and time zone', () => {
    expect(problems({ FEEDS: 'gopher://old.example.test', DIGEST_TZ: 'Nowhere/Land' })).toEqual([
      'FEEDS: "gopher://old.example.test" is not an http(s) URL',
      'DIGEST_TZ: "Nowhere/Land" is not a known time zone',
    ]);
  });

  it('takes the known locales, in any case, and names them when DIGEST_LOCALE is not one', () => {
    for (const code of ['en', 'de', 'es', 'ar'])
      expect(loadConfig({ DATA_DIR: dataDir, DIGEST_LOCALE: code }).DIGEST_LOCALE).toBe(code);
    expect(loadConfig({ DATA_DIR: dataDir, DIGEST_LOCALE: ' AR ' }).DIGEST_LOCALE).toBe('ar');
    expect(problems({ DIGEST_LOCALE: 'klingon' })).toEqual([
      'DIGEST_LOCALE: "klingon" is not a known locale (known: en, de, es, ar)',
    ]);
  });

  it('lists every setting production requires', () => {
    const found = problems({ NODE_ENV: 'production' });
    expect(found.map((problem) => problem.split(':')[0])).toEqual(['ADMIN_TOKEN', 'APP_SECRET', 'SMTP_URL']);
  });

  it.each(['ADMIN_TOKEN', 'APP_SECRET', 'SMTP_URL'] as const)('requires %s in production', (name) => {
    const env = Object.fromEntries(Object.entries(PRODUCTION).filter(([key]) => key !== name));
    const found = problems(env);
    expect(found).toHaveLength(1);
    expect(found[0]?.startsWith(`${name}: required in production`)).toBe(true);
  });

  it('does not require them outside production', () => {
    expect(() => loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test' })).not.toThrow();
  });
});

describe('loadConfig: DKIM', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const signing = {
    MAIL_FROM: 'Evening Digest <digest@news.example.test>',
    DKIM_DOMAIN: 'example.test',
    DKIM_SELECTOR: 'sel1',
    DKIM_PRIVATE_KEY: rsa,
  };

  it('is off unless configured', () => {
    expect(loadConfig({ DATA_DIR: dataDir }).dkim).toBeNull();
  });

  it('takes the key as PEM, as one line with \\n, or as a file, for a From domain under DKIM_DOMAIN', () => {
    expect(loadConfig({ DATA_DIR: dataDir, ...signing }).dkim).toEqual({
      domainName: 'example.test',
      keySelector: 'sel1',
      privateKey: rsa,
    });
    expect(
      loadConfig({ DATA_DIR: dataDir, ...signing, DKIM_PRIVATE_KEY: rsa.replace(/\n/g, '\\n') }).dkim?.privateKey,
    ).toBe(rsa);
    const file = join(dataDir, 'dkim.pem');
    writeFileSync(file, rsa);
    expect(loadConfig({ DATA_DIR: dataDir, ...signing, DKIM_PRIVATE_KEY: file }).dkim?.privateKey).toBe(rsa);
  });

  it.each([
    ['without the selector', { DKIM_SELECTOR: '' }, 'DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY: set all three'],
    [
      'for a domain MAIL_FROM is not in (no DMARC alignment)',
      { DKIM_DOMAIN: 'other.test' },
      'DKIM_DOMAIN: "other.test" is not the domain of MAIL_FROM',
    ],
    [
      'for a look-alike domain',
      { DKIM_DOMAIN: 'ample.test' },
      'DKIM_DOMAIN: "ample.test" is not the domain of MAIL_FROM',
    ],
    [
      'with a key that is not PEM',
      { DKIM_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----' },
      'DKIM_PRIVATE_KEY: not a valid PEM private key',
    ],
    [
      'with a missing key file',
      { DKIM_PRIVATE_KEY: '/nonexistent/dkim.pem' },
      'DKIM_PRIVATE_KEY: neither a PEM key nor a readable file',
    ],
    [
      'with a key that is not RSA',
      {
        DKIM_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      },
      'DKIM_PRIVATE_KEY: must be an RSA key',
    ],
    ['with a selector that is not a DNS label', { DKIM_SELECTOR: 'sel 1' }, 'DKIM_SELECTOR: '],
  ])('refuses to start %s', (_, change, message) => {
    const found = problems({ ...signing, ...change });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });
});

describe('loadConfig: DATABASE_URL', () => {
  it('is optional: unset means the embedded PostgreSQL', () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.databaseUrlExplicit).toBe(false);
    expect(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: '' }).databaseUrlExplicit).toBe(false);
  });

  it.each([
    'postgres://digest:secret@db.example.test:5432/digest',
    'postgresql://db.example.test/digest?sslmode=require',
  ])('accepts %s', (url) => {
    expect(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: url })).toMatchObject({
      DATABASE_URL: url,
      databaseUrlExplicit: true,
    });
  });

  it.each([
    'mysql://db.example.test/digest',
    'db.example.test:5432',
    'postgres://user:p@ss word@db.example.test/digest',
    'postgres://db.example.test:port/digest',
  ])('names DATABASE_URL for %s', (url) => {
    const found = problems({ DATABASE_URL: url });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
  });
});

describe('loadConfig: the feedback loop', () => {
  const sendgridKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .publicKey.export({ type: 'spki', format: 'der' })
    .toString('base64');

  it('is off unless configured: no VERP, no relay webhooks, complaint alerts above 0.1 %', () => {
    expect(loadConfig({ DATA_DIR: dataDir })).toMatchObject({
      bounce: null,
      SES_SNS_TOPIC_ARNS: [],
      COMPLAINT_RATE_ALERT: 0.001,
      BOUNCE_SMTP_HOST: '0.0.0.0',
    });
  });

  it.each([
    ['bounces.example.test', 'bounce@bounces.example.test'],
    ['Bounce@Bounces.Example.Test', 'bounce@bounces.example.test'],
    ['rp@bounces.example.test', 'rp@bounces.example.test'],
  ])('reads BOUNCE_ADDRESS %s as the VERP base %s, with the unsubscribe address on its domain', (setting, address) => {
    expect(loadConfig({ DATA_DIR: dataDir, BOUNCE_ADDRESS: setting, BOUNCE_SMTP_PORT: '2525' })).toMatchObject({
      bounce: { address, unsubscribeAddress: 'unsubscribe@bounces.example.test', domain: 'bounces.example.test' },
      BOUNCE_SMTP_PORT: 2525,
    });
  });

  it('takes the relay webhook settings', () => {
    const config = loadConfig({
      DATA_DIR: dataDir,
      SES_SNS_TOPIC_ARNS:
        'arn:aws:sns:eu-west-1:123456789012:digest-bounces, arn:aws:sns:us-east-1:123456789012:digest-complaints',
      SENDGRID_WEBHOOK_PUBLIC_KEY: sendgridKey,
      MAILGUN_SIGNING_KEY: 'key-0123456789abcdef',
      POSTMARK_WEBHOOK_USER: 'postmark',
      POSTMARK_WEBHOOK_PASSWORD: 'postmark-password-0123',
      FEEDBACK_ID_SENDER: 'digest',
      COMPLAINT_RATE_ALERT: '0.003',
    });
    expect(config.SES_SNS_TOPIC_ARNS).toEqual([
      'arn:aws:sns:eu-west-1:123456789012:digest-bounces',
      'arn:aws:sns:us-east-1:123456789012:digest-complaints',
    ]);
    expect(config).toMatchObject({
      FEEDBACK_ID_SENDER: 'digest',
      COMPLAINT_RATE_ALERT: 0.003,
      POSTMARK_WEBHOOK_USER: 'postmark',
    });
  });

  it.each([
    [
      'a BOUNCE_ADDRESS with a + in it',
      { BOUNCE_ADDRESS: 'bounce+x@bounces.example.test' },
      'BOUNCE_ADDRESS: "bounce+x@bounces.example.test" is not a domain',
    ],
    [
      'the unsubscribe base as BOUNCE_ADDRESS',
      { BOUNCE_ADDRESS: 'unsubscribe@bounces.example.test' },
      'BOUNCE_ADDRESS: ',
    ],
    ['a BOUNCE_ADDRESS that is no domain', { BOUNCE_ADDRESS: 'localhost' }, 'BOUNCE_ADDRESS: '],
    ['a listener without BOUNCE_ADDRESS', { BOUNCE_SMTP_PORT: '25' }, 'BOUNCE_SMTP_PORT: needs BOUNCE_ADDRESS'],
    [
      'a listener port out of range',
      { BOUNCE_ADDRESS: 'bounces.example.test', BOUNCE_SMTP_PORT: '70000' },
      'BOUNCE_SMTP_PORT: ',
    ],
    [
      'a topic that is no SNS ARN',
      { SES_SNS_TOPIC_ARNS: 'digest-bounces' },
      'SES_SNS_TOPIC_ARNS: "digest-bounces" is not an SNS topic ARN',
    ],
    [
      'a SendGrid key that is no EC key',
      { SENDGRID_WEBHOOK_PUBLIC_KEY: 'bm90IGEga2V5' },
      'SENDGRID_WEBHOOK_PUBLIC_KEY: not the base64',
    ],
    ['a short Mailgun key', { MAILGUN_SIGNING_KEY: 'short' }, 'MAILGUN_SIGNING_KEY: must be at least 16'],
    [
      'a Postmark user without password',
      { POSTMARK_WEBHOOK_USER: 'postmark' },
      'POSTMARK_WEBHOOK_USER, POSTMARK_WEBHOOK_PASSWORD: set both',
    ],
    ['a Feedback-ID sender with a colon', { FEEDBACK_ID_SENDER: 'a:b' }, 'FEEDBACK_ID_SENDER: '],
    ['a complaint rate above 1', { COMPLAINT_RATE_ALERT: '5' }, 'COMPLAINT_RATE_ALERT: '],
  ])('refuses %s, naming the setting', (_, env, message) => {
    const found = problems(env);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });
});
