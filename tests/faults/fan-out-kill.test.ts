import { afterEach, describe, expect, it } from 'vitest';
import { MIDDAY } from '../support/harness.ts';
import { FaultRig, waitUntil } from './fault-rig.ts';

/**
 * Issue #3, fault 6: the process fanning an edition out (here `digest send-now`, a CLI process) is
 * killed halfway. Running it again completes the missing part without queueing any batch twice.
 */
describe('a fan-out killed halfway', () => {
  afterEach(() => FaultRig.closeAll());

  it('is completed by a second run: every subscriber in exactly one batch, one copy each', async () => {
    // Batches of 3, recorded 50 at a time: 8 steps for 1200 subscribers, time enough to kill it between two.
    const rig = await FaultRig.start({ env: { ...MIDDAY.env, DELIVERY_BATCH_SIZE: '3', WORKER_CONCURRENCY: '4' } });
    const readers = await rig.addReaders(1200);
    await rig.publishArticle(MIDDAY.publishedAt);
    const worker = rig.start('workers/worker.ts');
    const first = rig.start('src/cli.ts', { name: 'send-now-1', args: ['send-now'] });

    const started = await first.waitForLog('fan-out started', 30_000);
    const edition = String(started.edition);
    const atKill = await rig.fanOutInProgress(edition);
    expect((await first.kill()).signal).toBe('SIGKILL');
    const meta = await rig.runMeta(edition);
    expect(meta.done, 'killed before the fan-out finished').toBeUndefined();
    expect(Number(meta.cursor)).toBeGreaterThanOrEqual(Number(atKill.cursor));
    expect(Number(meta.recipients)).toBeLessThan(readers.length);

    // The killed process's lock lives on for its short TTL (15 s): a re-run before then says so.
    const lockKey = rig.app.keys.runLock(edition, 'main');
    const early = rig.start('src/cli.ts', { name: 'send-now-early', args: ['send-now'] });
    expect((await early.waitForExit(30_000)).code).toBe(0);
    if (await rig.app.redis.exists(lockKey))
      expect(early.text.join('\n')).toContain('Another process is queueing its deliveries');
    await waitUntil(async () => (await rig.app.redis.exists(lockKey)) === 0, 'the dead fan-out lock to expire', 20_000);
    const second = rig.start('src/cli.ts', { name: 'send-now-2', args: ['send-now'] });
    expect((await second.waitForExit(30_000)).code).toBe(0);
    expect(await rig.app.editions.list()).toEqual([edition]);
    await worker.waitForLog('delivery workers started', 30_000);
    await rig.waitUntilDelivered(edition, 60_000);

    const batches = Object.values(await rig.app.redis.hgetall(rig.app.keys.runBatches(edition, 'main'))).map((csv) =>
      csv.split(','),
    );
    const ids = batches.flat();
    expect(ids.length, 'the recorded batches add up to the subscribers').toBe(readers.length);
    expect(new Set(ids).size, 'nobody is in two batches').toBe(readers.length);
    expect((await rig.runMeta(edition)).recipients).toBe(String(readers.length));
    // One job per batch: a batch queued again by the second run is the same job (deterministic id).
    const jobs = () => rig.app.deliveryQueue.getJobCounts('completed', 'failed', 'waiting', 'delayed', 'active');
    await waitUntil(async () => (await jobs()).completed === batches.length, 'the last job to complete', 5_000);
    expect(await jobs()).toEqual({ completed: batches.length, failed: 0, waiting: 0, delayed: 0, active: 0 });
    await rig.expectDeliveredOnce(edition);
  }, 90_000);
});
