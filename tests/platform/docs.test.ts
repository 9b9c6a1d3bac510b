import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCS_COMMAND, fillSection, generatePages } from '../../scripts/docs/generated.ts';
import { brokenLinks, headingAnchor, pageAnchors, relativeLinks } from '../../scripts/docs/links.ts';
import { GENERATED_SECTIONS } from '../../scripts/docs/sections.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = readdirSync(join(ROOT, 'docs'))
  .filter((file) => file.endsWith('.md'))
  .map((file) => `docs/${file}`);
const PAGES = ['README.md', ...DOCS];
const README_MAX_LINES = 250;

/** Issue 28: docs that cannot drift. The README is a front page; docs/ has the rest, partly written by `npm run docs`. */
describe('the docs', () => {
  it(`every generated section is what \`${DOCS_COMMAND}\` writes`, async () => {
    expect(GENERATED_SECTIONS.length).toBeGreaterThan(0);
    const pages = await generatePages(ROOT, GENERATED_SECTIONS);
    expect(pages.map((page) => page.page).sort()).toEqual([...new Set(GENERATED_SECTIONS.map((s) => s.page))].sort());
    for (const page of pages)
      expect(page.committed, `${page.page} is stale: run \`${DOCS_COMMAND}\` and commit it`).toBe(page.generated);
  });

  it('every relative link and anchor in README.md and docs/ leads somewhere', () => {
    const { checked, broken } = brokenLinks(ROOT, PAGES);
    // The pages link to each other's sections: a check that found no links would prove nothing.
    expect(checked).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });

  it(`the README is a front page of at most ${README_MAX_LINES} lines that links every page of docs/`, () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(README_MAX_LINES);
    const linked = new Set(relativeLinks(readme).map((link) => link.target.split('#')[0]));
    expect(DOCS.length).toBeGreaterThan(10);
    expect(DOCS.filter((page) => !linked.has(page))).toEqual([]);
  });
});

describe('generated sections', () => {
  const page = 'intro\n<!-- generated: table -->\nold\n<!-- end -->\noutro\n';

  it('replace what stands between their markers and leave the prose around them', () => {
    expect(fillSection(page, 'table', '| a |\n')).toBe(
      'intro\n<!-- generated: table -->\n\n| a |\n\n<!-- end -->\noutro\n',
    );
    expect(fillSection(fillSection(page, 'table', 'new'), 'table', 'new')).toBe(fillSection(page, 'table', 'new'));
  });

  it('refuse a page without the markers, or with them twice', () => {
    expect(() => fillSection('no markers', 'table', 'x')).toThrow('<!-- generated: table -->');
    expect(() => fillSection(page + page, 'table', 'x')).toThrow('one');
    expect(() => fillSection('<!-- generated: table -->\nno end', 'table', 'x')).toThrow('<!-- end -->');
  });

  it('report a stale page: what is committed against what the section writes now', async () => {
    const root = mkdtempSync(join(tmpdir(), 'digest-docs-'));
    try {
      writeFileSync(join(root, 'page.md'), page);
      const [stale] = await generatePages(root, [{ page: 'page.md', name: 'table', render: () => 'new' }]);
      expect(stale?.committed).toBe(page);
      expect(stale?.generated).toContain('\n\nnew\n\n');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('links and anchors, as GitHub makes them', () => {
  it('a heading: lower case, punctuation dropped, spaces to -', () => {
    expect(headingAnchor('Node.js versions')).toBe('nodejs-versions');
    expect(headingAnchor("Editors' guide")).toBe('editors-guide');
    expect(headingAnchor('The `digest` command')).toBe('the-digest-command');
    expect(headingAnchor('Once, whatever the order')).toBe('once-whatever-the-order');
    expect(headingAnchor('Worker memory: what dominates')).toBe('worker-memory-what-dominates');
    expect(headingAnchor('Sending and throttling')).toBe('sending-and-throttling');
    expect(headingAnchor('[HTTP API](x.md) and *more*')).toBe('http-api-and-more');
  });

  it('a page: its headings (repeated ones numbered), none inside code blocks', () => {
    const anchors = pageAnchors('# A\n## B\n```\n# not a heading\n```\n## B\n<a id="here"></a>\n');
    expect([...anchors].sort()).toEqual(['a', 'b', 'b-1', 'here']);
  });

  it('finds a missing file and a missing anchor, and leaves web addresses and code alone', () => {
    const root = mkdtempSync(join(tmpdir(), 'digest-links-'));
    try {
      mkdirSync(join(root, 'docs'));
      writeFileSync(join(root, 'docs', 'a.md'), '# A\n\n## Known limits\n');
      writeFileSync(
        join(root, 'README.md'),
        [
          '# Front',
          '[good](docs/a.md#known-limits) [also good](#front) [web](https://example.com/#x)',
          '[no anchor](docs/a.md#the-known-limits) [no file](docs/b.md) [no heading here](#back)',
          '`[code](docs/c.md)`',
          '```',
          '[fenced](docs/d.md)',
          '```',
        ].join('\n'),
      );
      const { checked, broken } = brokenLinks(root, ['README.md']);
      expect(checked).toBe(5);
      expect(broken).toEqual([
        {
          where: 'README.md:3',
          target: 'docs/a.md#the-known-limits',
          problem: 'no heading makes #the-known-limits in docs/a.md',
        },
        { where: 'README.md:3', target: 'docs/b.md', problem: 'no file docs/b.md' },
        { where: 'README.md:3', target: '#back', problem: 'no heading makes #back in README.md' },
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
