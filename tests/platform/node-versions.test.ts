import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** The README's "Node.js versions" section, up to the next heading. */
function nodeVersionsSection(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n### Node.js versions\n');
  expect(start, 'the README has a "Node.js versions" section').toBeGreaterThan(0);
  return readme.slice(start, readme.indexOf('\n#', start + 1));
}

/** What a newcomer reads about Node.js in the README, against what `npm install` tells them. */
describe('the Node.js versions', () => {
  it('the README states the versions package.json asks for', () => {
    const { engines } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(nodeVersionsSection()).toContain(`\`"node": "${engines.node}"\``);
  });

  it('npm install, on the Node the tests run on, warns about this package (EBADENGINE) never, and about exactly the dependencies the README names', async () => {
    // What `npm ci` says about engines, from the lock file alone: offline, and nothing installed.
    const dir = mkdtempSync(join(tmpdir(), 'digest-engines-'));
    try {
      for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, file), join(dir, file));
      const { stderr } = await run(
        'npm',
        ['ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--cache', join(dir, 'cache')],
        { cwd: dir, timeout: 60_000 },
      );
      const warned = [...stderr.matchAll(/EBADENGINE\s+package: '(@?[^@']+)@[^']+'/g)].map((match) => match[1]).sort();
      const named = [...nodeVersionsSection().matchAll(/^\| `([^`]+)` \d/gm)].map((match) => match[1]).sort();
      expect(named.length, 'the README names the dependencies that declare a newer Node').toBeGreaterThan(0);
      expect(warned, stderr).toEqual(named);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
