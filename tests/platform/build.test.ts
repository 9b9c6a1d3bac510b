import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, FaultRig } from '../faults/fault-rig.ts';
import { MIDDAY } from '../support/harness.ts';
import { ROOT } from '../support/processes.ts';
import { freePort } from '../support/redis-server.ts';

/**
 * `npm run build`, as the Docker image runs the service: the compiled processes find their SQL, Lua,
 * templates and console script beside them, and do their jobs without tsx.
 */
describe('the built service (npm run build, node dist/workers/*.js)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'digest-build-'));
    await promisify(execFile)(process.execPath, [join(ROOT, 'bin/build.js'), join(dir, 'dist')]);
    // Packages resolve from node_modules above the build, as in the image (/app/dist next to /app/node_modules).
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => FaultRig.closeAll());

  it('holds JavaScript and the files the processes read, and no TypeScript', () => {
    const built = join(dir, 'dist');
    for (const file of [
      'workers/worker.js',
      'workers/api.js',
      'workers/scheduler.js',
      'workers/bounces.js',
      'workers/all.js',
      'src/delivery/scripts/settle.lua',
      'src/platform/migrations/1796083200000_system-of-record.sql',
      'src/admin/assets/console.js',
      'templates/digest.mjml',
    ]) {
      expect(existsSync(join(built, file)), file).toBe(true);
    }
    expect(existsSync(join(built, 'src/process.ts'))).toBe(false);
    // Relative imports were rewritten to the compiled files: node could not run a `.ts` import.
    expect(readFileSync(join(built, 'workers/worker.js'), 'utf8')).toContain('"../src/delivery/workers.js"');
  });

  it('a built API cuts an edition on request and a built worker delivers it, once to each reader', async () => {
    // At midday the API's "send now" takes everything since yesterday's cut-off.
    const rig = await FaultRig.start({ env: MIDDAY.env });
    await rig.addReaders(30);
    await rig.publishArticle(MIDDAY.publishedAt);
    const port = await freePort();
    const api = rig.start(join(dir, 'dist/workers/api.js'), { name: 'built-api', env: { PORT: String(port) } });
    const worker = rig.start(join(dir, 'dist/workers/worker.js'), { name: 'built-worker' });
    await Promise.all([
      api.waitForLog(/^Server listening/, 30_000),
      worker.waitForLog('delivery workers started', 30_000),
    ]);

    const response = await fetch(`http://127.0.0.1:${port}/admin/editions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(201);
    const { id: edition } = (await response.json()) as { id: string };
    await rig.waitUntilDelivered(edition);
    await rig.expectDeliveredOnce(edition);
  }, 120_000);
});

describe('how the image runs the processes', () => {
  const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;

  it('runs built processes that exist as workers/*.ts', () => {
    const run = [...`${compose}\n${dockerfile}`.matchAll(/"dist\/workers\/([a-z-]+)\.js"/g)].map((match) => match[1]);
    expect(run.sort()).toEqual(['all', 'api', 'bounces', 'scheduler', 'worker']);
    for (const name of run) expect(existsSync(join(ROOT, `workers/${name}.ts`)), `workers/${name}.ts`).toBe(true);
  });

  it('gives the worker the heap flags of `npm run start:worker` (which the benchmark measures)', () => {
    const flags = (scripts['start:worker'] ?? '').split(/\s+/).filter((word) => word.startsWith('--max-'));
    expect(flags.length).toBeGreaterThan(0);
    const worker = /command: \[("node", .*"dist\/workers\/worker\.js")\]/.exec(compose)?.[1] ?? '';
    expect(JSON.parse(`[${worker}]`)).toEqual(['node', ...flags, 'dist/workers/worker.js']);
  });
});
