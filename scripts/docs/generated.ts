/**
 * Parts of the docs that are written from what the code and its data say, so that they cannot drift:
 * each is a block of a hand-written page between `<!-- generated: NAME -->` and `<!-- end -->`, and a
 * function that returns its Markdown. `npm run docs` writes them; tests/platform/docs.test.ts fails
 * when a committed page differs from what they return.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GeneratedSection {
  /** The page, from the repository's root: `docs/performance.md`. */
  page: string;
  /** The name in the page's start marker. */
  name: string;
  /** The Markdown between the markers (without the markers). */
  render(root: string): string | Promise<string>;
}

/** The command that writes every generated section, named by the check when a page is stale. */
export const DOCS_COMMAND = 'npm run docs';

const END_MARKER = '<!-- end -->';

const startMarker = (name: string) => `<!-- generated: ${name} -->`;

/** `page` with the block named `name` replaced by `markdown`; throws when the page lacks its markers, or has them twice. */
export function fillSection(page: string, name: string, markdown: string): string {
  const start = startMarker(name);
  const at = page.indexOf(start);
  if (at < 0 || page.indexOf(start, at + start.length) >= 0)
    throw new Error(`the page needs one "${start}" marker, followed by "${END_MARKER}"`);
  const contentStart = at + start.length;
  const end = page.indexOf(END_MARKER, contentStart);
  if (end < 0) throw new Error(`"${start}" has no "${END_MARKER}" after it`);
  // Blank lines around the Markdown: a table or a list right after an HTML comment may not render as one.
  return `${page.slice(0, contentStart)}\n\n${markdown.trim()}\n\n${page.slice(end)}`;
}

export interface PageText {
  page: string;
  committed: string;
  generated: string;
}

/** Every page that has generated sections: as committed, and as its sections' functions write it now. */
export async function generatePages(root: string, sections: readonly GeneratedSection[]): Promise<PageText[]> {
  const pages = new Map<string, PageText>();
  for (const section of sections) {
    const committed = pages.get(section.page)?.committed ?? readFileSync(join(root, section.page), 'utf8');
    const text = pages.get(section.page)?.generated ?? committed;
    try {
      const generated = fillSection(text, section.name, await section.render(root));
      pages.set(section.page, { page: section.page, committed, generated });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`${section.page}, section "${section.name}": ${reason}`, { cause: error });
    }
  }
  return [...pages.values()];
}

/** Writes the pages whose generated sections changed; returns their names. */
export function writePages(root: string, pages: readonly PageText[]): string[] {
  const changed = pages.filter((page) => page.generated !== page.committed);
  for (const page of changed) writeFileSync(join(root, page.page), page.generated);
  return changed.map((page) => page.page);
}
