/**
 * `npm run docs`: writes the generated sections of the docs (scripts/docs/sections.ts) from what the
 * code and its data say now. `npm run docs -- --check` writes nothing and exits 1 when a page is stale.
 */
import { join } from 'node:path';
import { DOCS_COMMAND, generatePages, writePages } from './docs/generated.ts';
import { GENERATED_SECTIONS } from './docs/sections.ts';

const ROOT = join(import.meta.dirname, '..');

const pages = await generatePages(ROOT, GENERATED_SECTIONS);
if (process.argv.includes('--check')) {
  const stale = pages.filter((page) => page.generated !== page.committed).map((page) => page.page);
  process.stdout.write(stale.length ? `stale: ${stale.join(', ')} (run ${DOCS_COMMAND})\n` : 'docs up to date\n');
  process.exitCode = stale.length ? 1 : 0;
} else {
  const written = writePages(ROOT, pages);
  process.stdout.write(written.length ? `wrote ${written.join(', ')}\n` : 'docs up to date\n');
}
