import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Progress } from '../../src/delivery/deliveries.ts';
import { ADMIN_TOKEN, type Harness, startHarness, waitFor } from '../support/harness.ts';

const EDITION = '2020-02-25';
const ALICE = 'alice@example.test'; // always accepted
const ANN = 'ann@blocked.test'; // RCPT: 550 5.7.1, the recipient's policy
const BEN = 'ben@blocked.test'; // RCPT: Microsoft's 550 5.7.515, our authentication; same destination as Ann
const DORA = 'dora@strict.test'; // DATA: 550 5.7.1, the content refused
const GUS = 'gus@example.test'; // RCPT: 550 5.1.1, no such user
const READERS = [ALICE, ANN, BEN, DORA, GUS];
const POLICY_RCPT = '5.7.1 Message rejected by recipient policy';
const AUTHENTICATION =
  '5.7.515 Access denied, sending domain example.test does not meet the required authentication level.';
const CONTENT = '5.7.1 Message content rejected by policy';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'digest.js');

interface EditionView {
  feedback: { readers: Record<string, number>; byCode: Array<{ kind: string; code: string; readers: number }> };
  alerts: Array<{ kind: string; about: string | null; text: string }>;
}

/**
 * A receiving server that refuses our mail for policy while we send (5.7.x at RCPT TO or after DATA)
 * says something about us, not about the reader: the reader stays subscribed, the refusal is counted
 * in the edition's feedback and told to the desk once per destination, and only an editor's resend
 * of the failed deliveries tries it again. A refused address (5.1.1) is still suppressed.
 */
describe('policy refusals at send time', () => {
  let h: Harness;
  const ids = new Map<string, string>();
  const rcptAttempts = new Map<string, number>();
  let progress: Progress;

  const copies = (address: string) =>
    h.sink.to(address).filter((message) => message.raw.includes(`X-Edition: ${EDITION}`)).length;
  const stateOf = async (address: string) => (await h.app.subscribers.get(ids.get(address)!))?.state;
  const editionView = async (): Promise<EditionView> => {
    const response = await h.server.inject({ method: 'GET', url: `/admin/editions/${EDITION}`, headers: h.admin });
    expect(response.statusCode).toBe(200);
    return response.json() as EditionView;
  };
  const policyAlerts = async () => (await editionView()).alerts.filter((alert) => alert.kind === 'policy-block');
  const digest = (args: string[]) =>
    run(process.execPath, [BIN, ...args], {
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        REDIS_URL: inject('redisUrl'),
        DATABASE_URL: h.app.config.DATABASE_URL,
        REDIS_PREFIX: h.app.config.REDIS_PREFIX,
        SMTP_URL: h.sink.url,
        ADMIN_TOKEN,
        APP_SECRET: h.app.config.APP_SECRET,
        PUBLIC_URL: h.app.config.PUBLIC_URL,
        DELIVERY_BACKOFF_MS: '100',
      },
    });

  beforeAll(async () => {
    h = await startHarness();
    for (const email of READERS) {
      const { id } = await h.app.subscribers.create(email, { email });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
      ids.set(email, id);
    }
    h.sink.policy = {
      rcpt: (address) => {
        rcptAttempts.set(address, (rcptAttempts.get(address) ?? 0) + 1);
        if (address === ANN) return { code: 550, message: POLICY_RCPT };
        if (address === BEN) return { code: 550, message: AUTHENTICATION };
        if (address === GUS) return { code: 550, message: '5.1.1 No such user here' };
        return null;
      },
      data: (message) => (message.to.includes(DORA) ? { code: 550, message: CONTENT } : null),
    };
    await h.app.intake.ingest(
      { url: 'https://news.example.org/policy-1', title: 'First story', publishedAt: '2020-02-25T12:00:00Z' },
      'admin',
    );
    const edition = await h.app.desk.runDue(new Date('2020-02-25T18:30:05Z'));
    expect(edition?.id).toBe(EDITION);
    progress = await waitFor(async () => {
      const current = await h.app.deliveries.progress(EDITION);
      return current?.finished ? current : null;
    }, `edition ${EDITION} delivered`);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps the readers refused for policy subscribed, with failed (not suppressed) deliveries, and suppresses the unknown user', async () => {
    expect(progress.counts).toMatchObject({ queued: 0, sending: 0, deferred: 0, waiting: 0, sent: 1, failed: 4 });
    for (const address of [ANN, BEN, DORA]) {
      expect(await stateOf(address), address).toBe('confirmed');
      expect((await h.app.ledger.entry(EDITION, ids.get(address)!))?.state, address).toBe('failed');
      expect(copies(address), address).toBe(0);
    }
    expect(await stateOf(GUS)).toBe('bounced');
    expect(copies(ALICE)).toBe(1);
    // Final at once: no retry spends the reader's attempts, and none is made until an editor resends.
    expect(rcptAttempts.get(ANN)).toBe(1);
    expect(rcptAttempts.get(BEN)).toBe(1);
    expect(progress.failures.find((failure) => failure.subscriberId === ids.get(ANN))).toMatchObject({
      code: 550,
      attempt: 1,
      reply: expect.stringContaining('5.7.1'),
    });
  });

  it("counts each refusal in the edition's feedback by kind and code", async () => {
    const { feedback } = await editionView();
    expect(feedback.readers).toMatchObject({ policy: 3, hard: 1, soft: 0 });
    expect(feedback.byCode).toEqual(
      expect.arrayContaining([
        { kind: 'policy', code: '5.7.1', readers: 2 },
        { kind: 'policy', code: '5.7.515', readers: 1 },
        { kind: 'hard', code: '5.1.1', readers: 1 },
      ]),
    );
    expect(feedback.byCode).toHaveLength(3);
  });

  it("keeps the refusal in the reader's record, with the edition, and notes that the address was kept", async () => {
    const response = await h.server.inject({
      method: 'GET',
      url: `/admin/subscribers/${encodeURIComponent(BEN)}`,
      headers: h.admin,
    });
    expect(response.statusCode).toBe(200);
    const { subscriber, feedback, history } = response.json() as {
      subscriber: { state: string };
      feedback: Array<{
        source: string;
        kind: string;
        edition: string;
        status: string;
        smtpCode: number;
        outcome: string;
        diagnostic: string;
      }>;
      history: Array<{ reason: string }>;
    };
    expect(subscriber.state).toBe('confirmed');
    expect(feedback).toEqual([
      expect.objectContaining({
        source: 'smtp',
        kind: 'policy',
        edition: EDITION,
        status: '5.7.515',
        smtpCode: 550,
        outcome: 'noted',
        diagnostic: `550 ${AUTHENTICATION}`,
      }),
    ]);
    expect(history[0]?.reason).toBe(
      `policy block at send time (5.7.515) for edition ${EDITION}: 550 ${AUTHENTICATION} (address kept)`,
    );
  });

  it('raises one policy-block alert per destination: two readers at blocked.test make one, the refusal after DATA at strict.test another', async () => {
    const alerts = await policyAlerts();
    expect(alerts.map((alert) => alert.about).sort()).toEqual(['blocked.test', 'strict.test']);
    expect(alerts.find((alert) => alert.about === 'blocked.test')?.text).toMatch(
      /^Edition 2020-02-25: blocked\.test refused our mail for policy \(5\.7\.(1|515)\), at send time: 550 5\.7\./,
    );
    expect(alerts.find((alert) => alert.about === 'strict.test')?.text).toContain(
      `strict.test refused our mail for policy (5.7.1), at send time: 550 ${CONTENT}`,
    );
  });

  it('a confirmation refused for policy keeps the sign-up pending and alerts nobody twice; one refused as unknown bounces', async () => {
    h.sink.policy.rcpt = (address) => {
      if (address === 'newcomer@blocked.test') return { code: 550, message: POLICY_RCPT };
      if (address === 'typo@example.test') return { code: 550, message: '5.1.1 No such user here' };
      return null;
    };
    for (const email of ['newcomer@blocked.test', 'typo@example.test']) {
      expect(
        (await h.server.inject({ method: 'POST', url: '/subscribe', payload: { email, name: 'New' } })).statusCode,
      ).toBe(202);
    }
    const subscriber = async (email: string) => {
      const response = await h.server.inject({
        method: 'GET',
        url: `/admin/subscribers/${encodeURIComponent(email)}`,
        headers: h.admin,
      });
      return response.statusCode === 200
        ? (response.json() as { subscriber: { state: string }; feedback: Array<{ kind: string; source: string }> })
        : null;
    };
    const newcomer = await waitFor(async () => {
      const found = await subscriber('newcomer@blocked.test');
      return found && found.feedback.length > 0 ? found : null;
    }, 'the refused confirmation recorded');
    expect(newcomer.subscriber.state).toBe('pending');
    expect(newcomer.feedback).toEqual([expect.objectContaining({ source: 'smtp', kind: 'policy' })]);
    const typo = await waitFor(async () => {
      const found = await subscriber('typo@example.test');
      return found?.subscriber.state === 'bounced' ? found : null;
    }, 'the unknown address bounced');
    expect(typo.feedback).toEqual([expect.objectContaining({ source: 'smtp', kind: 'hard' })]);
    // Told under the latest edition, whose alert for blocked.test was raised already.
    expect((await policyAlerts()).map((alert) => alert.about).sort()).toEqual(['blocked.test', 'strict.test']);
  });

  it('digest resend --failed sends again to the readers refused for policy once the servers accept, and to nobody suppressed', async () => {
    h.sink.policy = {
      rcpt: (address) => {
        rcptAttempts.set(address, (rcptAttempts.get(address) ?? 0) + 1);
        return null;
      },
    };
    const resend = await digest(['resend', '--edition', EDITION, '--failed', '--wait']);
    expect(resend.stdout).toContain('Resend r1 queued for 4 recipient(s).');
    const after = await waitFor(async () => {
      const current = await h.app.deliveries.progress(EDITION);
      return current?.finished && current.resends.length === 1 ? current : null;
    }, 'the failed resend delivered');
    for (const address of [ANN, BEN, DORA]) {
      expect(copies(address), address).toBe(1);
      expect((await h.app.ledger.entry(EDITION, ids.get(address)!))?.state, address).toBe('sent');
    }
    expect(copies(ALICE)).toBe(1);
    expect(copies(GUS)).toBe(0);
    expect(rcptAttempts.get(GUS)).toBe(1);
    expect(after.counts).toMatchObject({ sent: 4, failed: 1 });
  }, 60_000);
});
