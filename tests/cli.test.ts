import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFeedServer } from './support/feed-server.ts';
import { type Harness, publishedForToday, startHarness } from './support/harness.ts';

const run = promisify(execFile);
/** Who the CLI's actions are recorded as: the OS user running it. */
const OPERATOR = `cli:${userInfo().username}`;
const BIN = join(import.meta.dirname, '..', 'bin', 'digest.js');

/** The `digest` command as an operator runs it: a separate process against the same Redis and SMTP server. */
describe('digest CLI', () => {
  let h: Harness;
  let env: NodeJS.ProcessEnv;
  const digest = async (args: string[], input?: string, more: NodeJS.ProcessEnv = {}) => {
    try {
      const child = run(process.execPath, [BIN, ...args], { env: { ...env, ...more }, timeout: 60_000 });
      if (input !== undefined) {
        child.child.stdin?.end(input);
      }
      const { stdout, stderr } = await child;
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  beforeAll(async () => {
    const prefix = `t${randomBytes(5).toString('hex')}`;
    h = await startHarness({ workers: false, env: { REDIS_PREFIX: prefix } });
    env = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      REDIS_URL: inject('redisUrl'),
      DATABASE_URL: h.app.config.DATABASE_URL,
      REDIS_PREFIX: prefix,
      SMTP_URL: h.sink.url,
      ADMIN_TOKEN: 'test-admin-token-0123456789',
      APP_SECRET: 'test-secret-test-secret-test-secret-0123',
      PUBLIC_URL: 'https://digest.example.test',
      DELIVERY_BACKOFF_MS: '100',
    };
    for (const email of ['one@example.test', 'two@example.test']) {
      const { id } = await h.app.subscribers.create(email, { email });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    }
    await h.app.intake.ingest(
      {
        url: 'https://news.example.org/cli',
        title: 'Sent from the command line',
        publishedAt: await publishedForToday(h),
      },
      'admin',
    );
  });
  afterAll(async () => h?.close());

  /** `digest import` of a file holding `content`, with `options` after the file. */
  const importFile = async (content: string | Buffer, options: string[] = []) => {
    const dir = mkdtempSync(join(tmpdir(), 'digest-import-'));
    try {
      const file = join(dir, 'list.csv');
      writeFileSync(file, content);
      return await digest(['import', file, ...options]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const nameOf = async (email: string) =>
    (await h.app.subscribers.get((await h.app.subscribers.findIdByEmail(email))!))?.name;

  it('prints usage and exits 64 for an unknown command or missing options', async () => {
    const unknown = await digest(['nope']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('Unknown command "nope"');
    const resend = await digest(['resend', '--edition', '2020-01-01']);
    expect(resend.code).toBe(64);
    expect(resend.stderr).toContain('exactly one of --failed, --email ADDRESS, --all');
    expect((await digest(['--help'])).stdout).toContain('Usage: digest <command>');
  });

  it('refuses to start with a bad setting and names it', async () => {
    const result = await run(process.execPath, [BIN, 'status', '--edition', 'x'], {
      env: { ...env, DIGEST_TZ: 'Mars/Olympus' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 78 });
    expect((result as { stderr: string }).stderr).toContain('DIGEST_TZ');
  });

  it('send-now --wait delivers today’s edition once, recorded as sent by the OS user ($USER unset); a second send-now sends nothing new', async () => {
    expect(env.USER, 'the CLI runs without $USER, as from cron or in a container').toBeUndefined();
    const first = await digest(['send-now', '--wait']);
    expect(first.code).toBe(0);
    const id = /Assembled edition (\d{4}-\d{2}-\d{2}) \(sending, 1 articles\)/.exec(first.stderr)?.[1];
    expect(id, first.stderr).toBeDefined();
    const actors = (await h.app.editions.events(id ?? ''))
      .map((event) => event.by)
      .filter((by) => by.startsWith('cli:'));
    expect([...new Set(actors)], 'who cut and sent it').toEqual([OPERATOR]);
    const editions = (m: { raw: string }) => m.raw.includes('X-Edition:');
    expect(h.sink.messages.filter(editions)).toHaveLength(2);
    const second = await digest(['send-now', '--wait']);
    expect(second.stderr).toContain('Already had edition');
    expect(h.sink.messages.filter(editions)).toHaveLength(2);
  });

  it('status shows the counts; resend --email sends one more copy and is recorded', async () => {
    const [id] = await h.app.editions.list();
    const status = await digest(['status', '--edition', id!]);
    expect(JSON.parse(status.stdout)).toMatchObject({ counts: { sent: 2, queued: 0 }, finished: true });
    const resend = await digest(['resend', '--edition', id!, '--email', 'one@example.test', '--wait']);
    expect(resend.code).toBe(0);
    expect(resend.stdout).toContain('Resend r1 queued for 1 recipient(s).');
    expect(h.sink.to('one@example.test').filter((m) => m.raw.includes('X-Edition:'))).toHaveLength(2);
    expect(h.sink.to('two@example.test').filter((m) => m.raw.includes('X-Edition:'))).toHaveLength(1);
    const progress = await h.app.deliveries.progress(id!);
    expect(progress?.resends).toEqual([
      expect.objectContaining({ run: 'r1', scope: 'email', email: 'one@example.test', recipients: 1 }),
    ]);
    expect(progress?.resends[0]?.by).toBe(OPERATOR);
    const missing = await digest(['status', '--edition', '1999-01-01']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No edition 1999-01-01');
  });

  it('admin-password prints an ADMIN_USERS entry that logs in', async () => {
    const result = await digest(['admin-password', 'maria'], 'correct horse battery\n');
    expect(result.code).toBe(0);
    const entry = result.stdout.trim();
    expect(entry).toMatch(/^maria:[0-9a-f]{32}:[0-9a-f]{64}$/);
    const { AdminSessions } = await import('../src/admin/sessions.ts');
    const sessions = new AdminSessions(h.app.redis, h.app.keys, 'unused-admin-token-123456', entry);
    expect(await sessions.check('maria', 'correct horse battery')).toBe('maria');
    expect(await sessions.check('maria', 'wrong')).toBeNull();
    expect((await digest(['admin-password', 'maria'], 'short\n')).code).toBe(64);
  });

  it('admin-user stores a console login in PostgreSQL that logs in with that password only', async () => {
    const result = await digest(['admin-user', 'omar'], 'a long enough password\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('omar can log in to the console now.');
    const { AdminSessions } = await import('../src/admin/sessions.ts');
    const sessions = new AdminSessions(h.app.redis, h.app.keys, 'unused-admin-token-123456', '', h.app.adminUsers);
    expect(await sessions.check('omar', 'a long enough password')).toBe('omar');
    expect(await sessions.check('omar', 'unused-admin-token-123456')).toBeNull();
    const stored = await h.app.db.query<{ hash: string }>('SELECT hash FROM admin_users WHERE name = $1', ['omar']);
    expect(stored.rows[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored.rows)).not.toContain('a long enough password');
    expect((await digest(['admin-user', 'bad name'], 'a long enough password\n')).code).toBe(64);
  });

  it('import reads a list, merges it and reports rejected rows; unsubscribed rows stay unsubscribed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'digest-import-'));
    try {
      const file = join(dir, 'list.csv');
      writeFileSync(
        file,
        [
          'Email Address,First Name,Status',
          'new1@example.test,Nia,subscribed',
          'left@example.test,Lee,unsubscribed',
          'broken,Bo,subscribed',
          'NEW1@example.test,Nia again,subscribed',
          '',
        ].join('\n'),
      );
      const result = await digest(['import', file]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(
        'Done: 2 new (1 confirmed, 1 unsubscribed); already here: 0 pending now confirmed, 0 now left, 0 skipped; 1 duplicates merged, 1 rejected of 4 rows.',
      );
      expect(result.stdout).toContain('line 4: email must have one @: broken,Bo,subscribed');
      const state = async (email: string) =>
        (await h.app.subscribers.get((await h.app.subscribers.findIdByEmail(email))!))?.state;
      expect(await state('new1@example.test')).toBe('confirmed');
      expect(await state('left@example.test')).toBe('unsubscribed');
      expect((await digest(['import', join(dir, 'missing.csv')])).code).toBe(64);
      expect((await digest(['import', file, '--status', 'maybe'])).code).toBe(64);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('import refuses a name with a bidi override or a zero-width space, and keeps ZWNJ and ZWJ', async () => {
    const result = await importFile(
      [
        'email,name',
        'rlo@example.test,Eve \u202Eknab',
        'zwsp@example.test,Ad\u200Bmin',
        'mehrsa@example.test,مهر\u200Cسا \u{1F469}\u200D\u{1F4BB}',
        '',
      ].join('\n'),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('line 2: name contains invisible formatting characters');
    expect(result.stdout).toContain('line 3: name contains invisible formatting characters');
    expect(await h.app.subscribers.findIdByEmail('rlo@example.test')).toBeNull();
    expect(await h.app.subscribers.findIdByEmail('zwsp@example.test')).toBeNull();
    expect(await nameOf('mehrsa@example.test')).toBe('مهر\u200Cسا \u{1F469}\u200D\u{1F4BB}');
  });

  it('import prints rejected rows and a failed header with their control and format characters escaped', async () => {
    const hostile = [
      'email,name',
      'esc@example.test,\u001b]0;PWNED\u0007x',
      'csi@example.test,Bo\u009b2Jb',
      'rlo@example.test,Eve \u202Eknab',
      '',
    ].join('\n');
    const result = await importFile(hostile);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      String.raw`line 2: name contains control characters: esc@example.test,\x1b]0;PWNED\x07x`,
    );
    expect(result.stdout).toContain(String.raw`line 3: name contains control characters: csi@example.test,Bo\x9b2Jb`);
    expect(result.stdout).toContain(
      String.raw`line 4: name contains invisible formatting characters: rlo@example.test,Eve \u202eknab`,
    );
    const failed = await importFile('\u001b[2Jid,\u202Ename\n1,Ann\n');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(String.raw`Failed: no email column in the header (found: \x1b[2Jid, \u202ename)`);
    for (const output of [result.stdout, failed.stdout])
      // eslint-disable-next-line no-control-regex -- no control character but the line ends may reach the terminal
      expect(output).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });

  it('import reads a file with the separator of its first line only, keeps the others as data and rejects a row with another column count', async () => {
    const comma = await importFile(
      [
        'email,name',
        'c5@example.test,Bob;=1+1',
        'c6@example.test,\t=1+1',
        'c7@example.test,Ann,Extra',
        'c8@example.test;Zed',
        '',
      ].join('\n'),
    );
    expect(comma.code, comma.stderr).toBe(0);
    expect(comma.stdout).toMatch(/ 2 rejected of 4 rows\.$/m);
    expect(comma.stdout).toContain(
      'line 4: 3 columns where the first line has 2 (separated by ","): c7@example.test,Ann,Extra',
    );
    expect(comma.stdout).toContain(
      'line 5: 1 column where the first line has 2 (separated by ","): c8@example.test;Zed',
    );
    expect(await nameOf('c5@example.test')).toBe('Bob;=1+1');
    // The tab is data; the name rules trim the space around a name.
    expect(await nameOf('c6@example.test')).toBe('=1+1');
    expect(await h.app.subscribers.findIdByEmail('c7@example.test')).toBeNull();
    expect(await h.app.subscribers.findIdByEmail('c8@example.test')).toBeNull();

    const tabs = await importFile(
      ['Email Address\tFirst Name', 't1@example.test\tJo;Ann, Lee', 't2@example.test,Kim', ''].join('\r\n'),
    );
    expect(tabs.code, tabs.stderr).toBe(0);
    expect(tabs.stdout).toContain(
      'line 3: 1 column where the first line has 2 (separated by tab): t2@example.test,Kim',
    );
    expect(await nameOf('t1@example.test')).toBe('Jo;Ann, Lee');
    expect(await h.app.subscribers.findIdByEmail('t2@example.test')).toBeNull();
  });

  it('import reports how many new subscribers are confirmed, and what changed for those already here', async () => {
    const { id: waiting } = await h.app.subscribers.create('waiting@example.test', { email: 'waiting@example.test' });
    const confirmed = await importFile(
      [
        'email,name',
        'fresh1@example.test,Fay',
        'fresh2@example.test,Gus',
        'waiting@example.test,Wes',
        'one@example.test,One',
        '',
      ].join('\n'),
    );
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toContain(
      'Done: 2 new (2 confirmed); already here: 1 pending now confirmed, 0 now left, 1 skipped; 0 duplicates merged, 0 rejected of 4 rows.',
    );
    expect(confirmed.stdout).toContain('  skipped, already confirmed: 1');
    const state = async (email: string) =>
      (await h.app.subscribers.get((await h.app.subscribers.findIdByEmail(email))!))?.state;
    expect([
      await state('fresh1@example.test'),
      await state('fresh2@example.test'),
      (await h.app.subscribers.get(waiting))?.state,
    ]).toEqual(['confirmed', 'confirmed', 'confirmed']);

    const left = await importFile(['email', 'gone1@example.test', 'fresh1@example.test', ''].join('\n'), [
      '--status',
      'unsubscribed',
    ]);
    expect(left.stdout).toContain(
      'Done: 1 new (1 unsubscribed); already here: 0 pending now confirmed, 1 now left, 0 skipped; 0 duplicates merged, 0 rejected of 2 rows.',
    );
    expect([await state('gone1@example.test'), await state('fresh1@example.test')]).toEqual([
      'unsubscribed',
      'unsubscribed',
    ]);
  });

  it('answers in JSON on stdout, its logs on stderr, for every command that promises JSON (as `digest status | jq` would read it)', async () => {
    const feeds = await startFeedServer();
    try {
      // Logging at its loudest, so that a log line on stdout would break the JSON. With no freshness, a
      // day's edition past its cut-off is never the current one, at any hour the test runs: the
      // current one is ahead of its cut-off, open to every action.
      const loud = { LOG_LEVEL: 'debug', FEEDS: feeds.url('sample-feed.rss'), DIGEST_FRESH_HOURS: '0' };
      const answer = async (args: string[], more: NodeJS.ProcessEnv = {}) => {
        const result = await digest(args, undefined, { ...loud, ...more });
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr, `${args[0]} logged (on stderr)`).toMatch(/^\{"level":\d+,.*"process":"cli"/m);
        return result.stdout;
      };
      const report = async (args: string[], more: NodeJS.ProcessEnv = {}) =>
        JSON.parse(await answer(args, more)) as { id: string; status: string };

      // Today's edition out of the way (sent by the test before, or now), the next one is open to every action.
      const today = await report(['send-now']);
      expect(['sending', 'sent']).toContain(today.status);
      const next = await report(['status']);
      expect(next).toMatchObject({ status: 'open' });
      expect(next.id).not.toBe(today.id);
      expect(await report(['status', '--edition', today.id])).toMatchObject({ id: today.id });
      expect(await report(['approve', '--edition', next.id], { DIGEST_APPROVAL: 'required' })).toMatchObject({
        id: next.id,
        status: 'approved',
      });
      expect(await report(['skip', '--edition', next.id, '--reason', 'checking the output'])).toMatchObject({
        id: next.id,
        status: 'skipped',
      });
      // Reopened as it was before the skip: approved.
      expect(await report(['reopen', '--edition', next.id])).toMatchObject({ id: next.id, status: 'approved' });
      await h.app.intake.ingest(
        {
          url: 'https://news.example.org/cli-next',
          title: 'For the next edition',
          publishedAt: new Date(Date.now() - 1_000).toISOString(),
        },
        'admin',
      );
      const sent = await report(['send', '--edition', next.id]);
      expect(sent.id).toBe(next.id);
      expect(['sending', 'sent']).toContain(sent.status);
      const polled = (await answer(['poll-feeds']))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { url: string });
      expect(polled).toEqual([expect.objectContaining({ url: feeds.url('sample-feed.rss') })]);
    } finally {
      await feeds.close();
    }
  }, 120_000);

  it('warns at start that a Redis without persistence loses the deliveries under way, not the subscribers or editions (PostgreSQL keeps them)', async () => {
    // The tests' Redis runs without persistence (appendonly no, no snapshots), as a careless production one would.
    const result = await digest(['status'], undefined, { LOG_LEVEL: 'warn' });
    expect(result.code, result.stderr).toBe(0);
    const warnings = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg)
      .filter((msg) => msg.startsWith('Redis has no persistence'));
    expect(warnings).toEqual([expect.stringContaining('a restart loses the delivery queues and ledger')]);
    expect(warnings[0]).toContain('subscribers and editions are in PostgreSQL');
    expect(warnings[0]).not.toMatch(/subscribers[^.;]*(are|is) lost/);
  });
});
