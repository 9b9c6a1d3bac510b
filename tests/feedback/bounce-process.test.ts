import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { unsubscribeAddress } from '../../src/feedback/verp.ts';
import { TRANSACTIONAL_QUEUE } from '../../src/delivery/queues.ts';
import { createTestDatabase } from '../support/database.ts';
import { deliverBySmtp, unsubscribeMail } from '../support/feedback-mail.ts';
import { startService, stopAllServices } from '../support/processes.ts';
import { freePort } from '../support/redis-server.ts';

const SECRET = 'test-secret-test-secret-test-secret-0123';

/** `npm run start:bounces`: the listener as its own process, handing what it takes to the workers' queue. */
describe('the bounce listener process (workers/bounces.ts)', () => {
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  const queue = new Queue(TRANSACTIONAL_QUEUE, { connection, prefix: `${prefix}-queue` });
  afterEach(() => stopAllServices());
  afterAll(async () => {
    await queue.close();
    connection.disconnect();
  });

  const env = async (extra: Record<string, string>) => ({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    DATABASE_URL: await createTestDatabase(),
    APP_SECRET: SECRET,
    BOUNCE_ADDRESS: 'bounces.example.test',
    BOUNCE_SMTP_HOST: '127.0.0.1',
    ...extra,
  });

  it('listens on BOUNCE_SMTP_PORT, queues a report for the workers before answering 250, and stops on SIGTERM', async () => {
    const port = await freePort();
    const service = startService('workers/bounces.ts', { env: await env({ BOUNCE_SMTP_PORT: String(port) }) });
    await service.waitForLog('bounce listener started');
    const address = unsubscribeAddress('42', '', SECRET, 'unsubscribe@bounces.example.test');
    expect(
      await deliverBySmtp(
        port,
        { from: 'reader@example.test', to: [address] },
        unsubscribeMail('reader@example.test', address),
      ),
    ).toMatch(/^250 /);
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((job) => job.name)).toEqual(['feedback']);
    expect(jobs[0]?.data).toMatchObject({
      voucher: { by: 'token', claims: { recipientId: '42', edition: '' } },
      events: [{ source: 'mailto', kind: 'unsubscribe' }],
    });
    service.signal('SIGTERM');
    expect(await service.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('refuses to start without BOUNCE_SMTP_PORT, saying what is missing', async () => {
    const service = startService('workers/bounces.ts', { env: await env({}) });
    expect(await service.waitForExit()).toEqual({ code: 78, signal: null });
    expect(service.logsMatching(/BOUNCE_SMTP_PORT must be set/)).toHaveLength(1);
  });
});
