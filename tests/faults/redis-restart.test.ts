import { afterEach, describe, expect, it } from 'vitest';
import { dailyCronAt, FaultRig, minuteFromNow } from './fault-rig.ts';

/** Changes with every start of redis-server. */
async function redisRunId(rig: FaultRig): Promise<string> {
  return /run_id:(\w+)/.exec(await rig.app.redis.info('server'))?.[1] ?? '';
}

/**
 * Issue #3, fault 3: the Redis server (append-only, as production must run it) restarts while an
 * edition is being sent, and while it is being fanned out. The service processes are not told:
 * they must reconnect by themselves and finish the edition with one copy per subscriber.
 */
describe('a Redis restart', () => {
  afterEach(() => FaultRig.closeAll());

  it('during sending: the worker reconnects by itself and every subscriber gets one copy', async () => {
    const rig = await FaultRig.start({ ownRedis: true });
    const { sink } = rig;
    const { readers, edition } = await rig.pacedEdition(200, 40);

    const worker = await rig.startWorker();
    await rig.sentAtLeast(40);
    const runId = await redisRunId(rig);
    await rig.redisServer?.restart();
    expect(sink.editionCount, 'restarted mid-edition').toBeLessThan(readers.length);
    expect(await redisRunId(rig), 'a new redis-server process').not.toBe(runId);

    // Every connection the worker had is gone: finishing the edition means it reconnected.
    await rig.waitUntilDelivered(edition);
    expect(worker.exit, 'the worker survived the restart').toBeNull();
    await rig.expectDeliveredOnce(edition);
  }, 90_000);

  it('during fan-out: the scheduler finishes the fan-out without losing or doubling a batch', async () => {
    // The cut-off was three minutes ago: the scheduler cuts and fans out the edition as it starts.
    const cutoff = minuteFromNow(-3);
    const rig = await FaultRig.start({
      ownRedis: true,
      env: { DIGEST_CRON: dailyCronAt(cutoff), DELIVERY_BATCH_SIZE: '3', WORKER_CONCURRENCY: '4' },
    });
    const readers = await rig.addReaders(1200);
    await rig.publishArticle(new Date(cutoff.getTime() - 3600_000));
    const edition = rig.app.schedule.editionId(cutoff);

    // (A process that boots while Redis is down exits with 69, for its supervisor to restart: not this test's subject.)
    const worker = await rig.startWorker();
    const scheduler = rig.start('workers/scheduler.ts');
    const meta = await rig.fanOutInProgress(edition);
    const restartAt = Date.now();
    const runId = await redisRunId(rig);
    await rig.redisServer?.restart();
    expect(await redisRunId(rig), 'a new redis-server process').not.toBe(runId);
    expect(Number(meta.cursor)).toBeLessThan(Number(readers.at(-1)?.id));

    await rig.waitUntilDelivered(edition, 60_000);
    expect(scheduler.exit, 'the scheduler survived the restart').toBeNull();
    expect(worker.exit, 'the worker survived the restart').toBeNull();
    expect(scheduler.logsMatching('scheduled task failed'), 'the fan-out went on by itself').toEqual([]);
    const finished = scheduler.logsMatching('fan-out finished');
    expect(finished).toHaveLength(1);
    expect(Date.parse(String(finished[0]?.time)), 'the fan-out spanned the restart').toBeGreaterThan(restartAt);
    await rig.expectDeliveredOnce(edition);
    const batches = Object.values(await rig.app.redis.hgetall(rig.app.keys.runBatches(edition, 'main')));
    expect(batches.reduce((sum, csv) => sum + csv.split(',').length, 0)).toBe(readers.length);
    expect((await rig.runMeta(edition)).recipients).toBe(String(readers.length));
  }, 90_000);
});
