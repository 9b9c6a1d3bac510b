import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../support/processes.ts';
import { freePort } from '../support/redis-server.ts';
import { MIDDAY } from '../support/harness.ts';
import { ADMIN_TOKEN, dailyCronAt, FaultRig, minuteFromNow, waitUntil } from './fault-rig.ts';

/**
 * Issue #3, fault 5: two schedulers, or two API processes, cut the same edition at the same time;
 * and a scheduler that was down at the cut-off starts a quarter of an hour late. node-cron runs on
 * real time, so the cut-off (DIGEST_CRON) is set relative to now: a scheduler's start-up check
 * (catch-up) is what cuts the edition.
 */
describe('editions cut by several processes, or late', () => {
  afterEach(() => FaultRig.closeAll());

  const logsOf = (processes: ServiceProcess[], msg: string) =>
    processes.flatMap((service) => service.logsMatching(msg));

  /** A rig whose daily cut-off was `minutesAgo` minutes ago, with an article in that cut-off's window. */
  async function cutOffAgo(minutesAgo: number, readers: number) {
    const cutoff = minuteFromNow(-minutesAgo);
    const rig = await FaultRig.start({ env: { DIGEST_CRON: dailyCronAt(cutoff) } });
    await rig.addReaders(readers);
    await rig.publishArticle(new Date(cutoff.getTime() - 3600_000));
    return { rig, edition: rig.app.schedule.editionId(cutoff) };
  }

  it('two schedulers started together make one edition and one fan-out', async () => {
    const { rig, edition } = await cutOffAgo(3, 100);
    const schedulers = [
      rig.start('workers/scheduler.ts', { name: 'scheduler-a' }),
      rig.start('workers/scheduler.ts', { name: 'scheduler-b' }),
    ];
    await rig.startWorker();
    await waitUntil(() => rig.app.editions.get(edition), `edition ${edition}`);
    await rig.waitUntilDelivered(edition);

    expect(await rig.app.editions.list()).toEqual([edition]);
    expect(logsOf(schedulers, 'edition assembled')).toHaveLength(1);
    expect(logsOf(schedulers, 'fan-out finished')).toHaveLength(1);
    const meta = await rig.runMeta(edition);
    expect(meta.recipients).toBe(String(rig.readers.length));
    await rig.expectDeliveredOnce(edition);
    expect(schedulers.every((scheduler) => scheduler.exit === null)).toBe(true);
  }, 90_000);

  it('two API processes asked for an edition at the same moment make one edition', async () => {
    // At midday "send now" takes everything since yesterday's cut-off.
    const rig = await FaultRig.start({ env: MIDDAY.env });
    const readers = await rig.addReaders(100);
    await rig.publishArticle(MIDDAY.publishedAt);
    const ports = [await freePort(), await freePort()];
    const apis = ports.map((port, index) =>
      rig.start('workers/api.ts', { name: `api-${index}`, env: { PORT: String(port) } }),
    );
    await Promise.all([...apis.map((api) => api.waitForLog(/^Server listening/, 30_000)), rig.startWorker()]);

    const responses = await Promise.all(
      ports.map((port) =>
        fetch(`http://127.0.0.1:${port}/admin/editions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        }),
      ),
    );
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as Array<{
      id: string;
      created: boolean;
    }>;
    expect(responses.map((response) => response.status).sort()).toEqual([200, 201]);
    expect(bodies.filter((body) => body.created)).toHaveLength(1);
    const edition = bodies[0]?.id ?? '';
    expect(bodies[1]?.id).toBe(edition);

    await rig.waitUntilDelivered(edition);
    expect(await rig.app.editions.list()).toEqual([edition]);
    expect(logsOf(apis, 'fan-out finished')).toHaveLength(1);
    expect((await rig.runMeta(edition)).recipients).toBe(String(readers.length));
    await rig.expectDeliveredOnce(edition);
  }, 90_000);

  it('a scheduler started 15 minutes after the cut-off still sends the edition, once', async () => {
    const { rig, edition } = await cutOffAgo(15, 100);
    const scheduler = rig.start('workers/scheduler.ts');
    await rig.startWorker();
    await waitUntil(() => rig.app.editions.get(edition), `edition ${edition}`);
    await rig.waitUntilDelivered(edition);

    expect(await rig.app.editions.list()).toEqual([edition]);
    expect((await rig.app.editions.get(edition))?.createdBy).toBe('scheduler');
    expect(scheduler.logsMatching('edition assembled')).toHaveLength(1);
    await rig.expectDeliveredOnce(edition);
  }, 90_000);
});
