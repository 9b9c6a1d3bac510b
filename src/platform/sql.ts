import { readFileSync } from 'node:fs';

/**
 * Named SQL from a file, one file per store (as listmonk keeps its queries): each query starts with
 * a line `-- name: the-name`, so that all of a store's SQL reads in one place. Every name the store
 * asks for must be there, and nothing else: a typo fails at start, not at the first call.
 */
export function loadQueries<Name extends string>(file: URL, names: readonly Name[]): Record<Name, string> {
  const found = new Map<string, string>();
  let current: string | null = null;
  let lines: string[] = [];
  const finish = () => {
    if (current !== null) found.set(current, lines.join('\n').trim());
  };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const header = /^--\s*name:\s*([\w-]+)\s*$/.exec(line);
    if (header) {
      finish();
      current = header[1] ?? '';
      lines = [];
    } else if (current !== null) lines.push(line);
  }
  finish();
  const missing = names.filter((name) => !found.get(name));
  const unknown = [...found.keys()].filter((name) => !(names as readonly string[]).includes(name));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(
      `${file.pathname}: ${[missing.length ? `missing ${missing.join(', ')}` : '', unknown.length ? `not used ${unknown.join(', ')}` : ''].filter(Boolean).join('; ')}`,
    );
  }
  return Object.fromEntries(names.map((name) => [name, found.get(name) ?? ''])) as Record<Name, string>;
}
