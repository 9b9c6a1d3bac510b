/**
 * Relative links between the docs pages, checked as GitHub resolves them: a path to a file of the
 * repository, and an anchor that one of the target page's headings makes (see `headingAnchor`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** The lines of a Markdown page that are prose: fenced code blocks are blanked (their `#` are no headings, their `[x](y)` no links). */
function proseLines(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split('\n').map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && marker) {
      fence = marker;
      return '';
    }
    if (fence !== null) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      return '';
    }
    return line;
  });
}

/** Inline code spans removed, so that `[a](b)` written as code is not read as a link. */
const withoutCodeSpans = (line: string) => line.replace(/(`+)(?:(?!\1).)*?\1/g, '');

/**
 * The anchor GitHub gives a heading: its text as shown (links and emphasis reduced to their text,
 * code to its content), lower-cased, without punctuation (letters, digits, `-`, `_` and spaces stay),
 * spaces turned to `-`. `### Node.js versions` is `#nodejs-versions`.
 */
export function headingAnchor(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page has: its headings' (a repeated one gets `-1`, `-2`, … as on GitHub) and explicit `<a id="…">`/`<a name="…">`. */
export function pageAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const anchor = headingAnchor(heading);
      const count = seen.get(anchor) ?? 0;
      seen.set(anchor, count + 1);
      anchors.add(count === 0 ? anchor : `${anchor}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1] ?? '');
  }
  return anchors;
}

export interface PageLink {
  /** 1-based. */
  line: number;
  target: string;
}

/** The page's links that stay in the repository: `[text](target)` and `[text](target "title")`, not web or mail addresses. */
export function relativeLinks(markdown: string): PageLink[] {
  const links: PageLink[] = [];
  for (const [index, line] of proseLines(markdown).entries()) {
    for (const match of withoutCodeSpans(line).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1] ?? '';
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ line: index + 1, target });
    }
  }
  return links;
}

export interface BrokenLink {
  /** `README.md:12`. */
  where: string;
  target: string;
  problem: string;
}

/** The links of `files` (paths from `root`) that lead nowhere: a missing file, or an anchor its page does not have. */
export function brokenLinks(root: string, files: readonly string[]): { checked: number; broken: BrokenLink[] } {
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (file: string) => {
    let found = anchorsOf.get(file);
    if (!found) anchorsOf.set(file, (found = pageAnchors(readFileSync(file, 'utf8'))));
    return found;
  };
  const broken: BrokenLink[] = [];
  let checked = 0;
  for (const file of files) {
    const source = join(root, file);
    for (const link of relativeLinks(readFileSync(source, 'utf8'))) {
      checked += 1;
      const [path = '', anchor] = link.target.split('#', 2);
      const target = path === '' ? source : join(dirname(source), decodeURIComponent(path));
      const report = (problem: string) => broken.push({ where: `${file}:${link.line}`, target: link.target, problem });
      if (!existsSync(target)) report(`no file ${relative(root, target)}`);
      else if (anchor !== undefined && target.endsWith('.md') && !anchors(target).has(anchor))
        report(`no heading makes #${anchor} in ${relative(root, target)}`);
    }
  }
  return { checked, broken };
}
