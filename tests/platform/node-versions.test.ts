import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** The section of a page under `heading` (a line `## Node.js versions`), up to the next heading. */
function section(page: string, heading: string): string {
  const text = readFileSync(join(ROOT, page), 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, `${page} has a "${heading}" section`).toBeGreaterThan(0);
  const end = text.indexOf('\n#', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** Operations' "Node.js versions": the supported versions, and the dependencies npm warns about. */
const nodeVersionsSection = () => section('docs/operations.md', '## Node.js versions');

/** What a newcomer reads about Node.js (the README's supported versions, the operations page), against what `npm install` tells them. */
describe('the Node.js versions', () => {
  it('the README and the operations page state the versions package.json asks for', () => {
    const { engines } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(section('README.md', '## Supported versions')).toContain(`\`"node": "${engines.node}"\``);
    expect(nodeVersionsSection()).toContain(`\`"node": "${engines.node}"\``);
  });

  it('npm install, on the Node the tests run on, warns about this package (EBADENGINE) never, and about exactly the dependencies the operations page names', async () => {
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
      expect(named.length, 'the operations page names the dependencies that declare a newer Node').toBeGreaterThan(0);
      expect(warned, stderr).toEqual(named);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
