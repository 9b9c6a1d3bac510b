import { Readable } from 'node:stream';

/**
 * A cell that starts with = + - @ runs as a formula in a spreadsheet, and some spreadsheets drop the
 * spaces, tabs or line breaks before it. Such a start, at the beginning of the value or after a `,`
 * `;` tab or line break inside it, gets a `'` right before the formula character (`\t=1` becomes
 * `\t'=1`: safe whether a spreadsheet splits at the tab or trims it); a tab or CR in that place that
 * no formula character follows gets the `'` in front of itself. A spreadsheet set to the other
 * separator, or one that ignores quotes, splits there and would find a formula. Values with
 * separators, quotes or line breaks are quoted.
 */
export function csvField(value: string): string {
  const safe = value.replace(/(^|[,;\t\r\n])(\s*)(?=[=+\-@\t\r])/g, "$1$2'");
  return /[",;\n\r\t]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The separators a list may use: one per file. */
export type CsvDelimiter = ',' | ';' | '\t';
/** In order of preference when the first line has as many of one as of another (or none). */
const DELIMITERS: CsvDelimiter[] = [',', ';', '\t'];

/**
 * The separator of a file, from its first line (its header, or its first row): the one of `,` `;`
 * and tab that it holds most often outside quotes, `,` when it holds none. The other two are data
 * in that file, so that `Bob;=1+1` in a comma file is one name.
 */
export function detectDelimiter(firstLine: string): CsvDelimiter {
  const counts = new Map<string, number>(DELIMITERS.map((delimiter) => [delimiter, 0]));
  let quoted = false;
  for (const char of firstLine) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  return DELIMITERS.reduce((best, delimiter) =>
    (counts.get(delimiter) ?? 0) > (counts.get(best) ?? 0) ? delimiter : best,
  );
}

/** How a separator is named in a message: a tab cannot be seen. */
export function delimiterName(delimiter: CsvDelimiter): string {
  return delimiter === '\t' ? 'tab' : `"${delimiter}"`;
}

/** How far into a file its first line is looked for. */
const FIRST_LINE_LIMIT = 64 * 1024;

/**
 * A stream's first line (at most its first 64 KiB), and the whole stream again from its first byte:
 * to choose how to read a file before reading it, without holding more of it than that.
 */
export async function peekFirstLine(input: Readable): Promise<{ firstLine: string; whole: Readable }> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let size = 0;
  for (let lineEnded = false; !lineEnded && size < FIRST_LINE_LIMIT;) {
    const next = await chunks.next();
    if (next.done) break;
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    head.push(chunk);
    size += chunk.length;
    // CR and LF bytes are never part of a longer UTF-8 character: found in the bytes, they are line ends.
    lineEnded = chunk.includes(0x0a) || chunk.includes(0x0d);
  }
  async function* whole() {
    yield* head;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  }
  const firstLine =
    Buffer.concat(head)
      .toString('utf8')
      .split(/[\r\n]/, 1)[0] ?? '';
  return { firstLine, whole: Readable.from(whole(), { objectMode: false }) };
}
