import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { csvField, type CsvDelimiter, delimiterName, detectDelimiter, peekFirstLine } from '../platform/csv.ts';
import { escapeInvisible } from '../platform/invisible-characters.ts';
import type { Database, Row } from '../platform/database.ts';
import type { Logger } from '../platform/logger.ts';
import { loadQueries } from '../platform/sql.ts';
import {
  fileState,
  HEADERLESS,
  IMPORTED_STATES,
  type ImportColumns,
  type ImportedState,
  type ImportRow,
  readHeader,
  readRow,
} from './import-rows.ts';

export type ImportStatus = 'receiving' | 'received' | 'merging' | 'done' | 'failed';

export interface ImportSummary {
  id: string;
  fileName: string;
  by: string;
  status: ImportStatus;
  /** Data rows read (the header not counted). */
  rows: number;
  rejected: number;
  /** Rows for an address that an earlier row already gave (merged into one). */
  duplicates: number;
  /** Lines merged into the subscribers so far, of `lastLine`. */
  mergedThrough: number;
  lastLine: number;
  /** New subscribers (addresses that were not here), of every state. */
  imported: number;
  /** The new subscribers by the state they were created in (empty for imports done before it was counted). */
  importedByState: Partial<Record<ImportedState, number>>;
  /** Pending addresses the list confirmed. */
  confirmedExisting: number;
  /** Confirmed or pending addresses the list says have left (unsubscribed, bounced, complained). */
  leftExisting: number;
  /** Addresses left as they were, by reason (e.g. `already confirmed`, `already unsubscribed`). */
  skipped: Record<string, number>;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RejectedRow {
  line: number;
  text: string;
  reason: string;
}

const SQL = loadQueries(new URL('./imports.sql', import.meta.url), [
  'start',
  'add-rows',
  'received',
  'failed',
  'begin-merge',
  'merge-chunk',
  'finish',
  'get',
  'list',
  'rejected',
]);

/** The largest file an upload may be. */
export const IMPORT_MAX_BYTES = 4 * 1024 ** 3;

/** Rows written per statement while reading, and merged per statement afterwards. */
const READ_BATCH = 5_000;
const MERGE_CHUNK = 25_000;

interface ReadRecord {
  record: string[];
  info: { lines: number };
  raw: string;
}

/**
 * Subscriber lists of any size (a million rows and more), from the console or `digest import`: the
 * file is read as a stream into PostgreSQL (nothing held whole in memory), each row checked, then
 * merged into the subscribers chunk by chunk by a worker (or the CLI), with progress and a report
 * of every rejected row. Duplicates are merged; who left or bounced is imported as such.
 */
export class SubscriberImports {
  constructor(private readonly deps: { db: Database; logger: Logger }) {}

  /** Reads a CSV into a new import and returns its id; the rows wait for `merge`. Fails (and says why in the import) on a file that is not a list. */
  async receive(input: Readable, meta: { fileName: string; by: string; state: ImportedState }): Promise<string> {
    const { db } = this.deps;
    const id = String((await db.query<{ id: string }>(SQL.start, [meta.fileName.slice(0, 200), meta.by])).rows[0]?.id);
    try {
      const { rows, rejected, lastLine } = await this.read(id, input, meta.state);
      await db.query(SQL.received, [id, rows, rejected, lastLine]);
      this.deps.logger.info({ import: id, rows, rejected }, 'import received');
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await this.fail(id, reason);
      this.deps.logger.warn({ import: id, err: reason }, 'import could not be read');
    }
    return id;
  }

  /** Merges a received import into the subscribers, resuming where an interrupted merge stopped. */
  async merge(
    id: string,
    onProgress: (summary: ImportSummary) => void = () => undefined,
  ): Promise<ImportSummary | null> {
    const { db } = this.deps;
    await db.query(SQL['begin-merge'], [id]);
    let summary = await this.get(id);
    while (summary?.status === 'merging' && summary.mergedThrough < summary.lastLine) {
      const from = summary.mergedThrough;
      await db.transaction(async (tx) => {
        // Holding the import's row: a second merger of the same import waits, then finds the chunk done.
        const [current] = (
          await tx.query<{ merged_through: number }>('SELECT merged_through FROM imports WHERE id = $1 FOR UPDATE', [
            id,
          ])
        ).rows;
        if (current?.merged_through !== from) return;
        await tx.query(SQL['merge-chunk'], [id, from, from + MERGE_CHUNK, new Date(), summary?.by ?? 'import']);
      });
      summary = await this.get(id);
      if (summary) onProgress(summary);
    }
    if (summary?.status === 'merging') {
      await db.query(SQL.finish, [id]);
      summary = await this.get(id);
      this.deps.logger.info({ import: id, imported: summary?.imported, rejected: summary?.rejected }, 'import merged');
    }
    return summary;
  }

  /** Marks an import failed (and so never merged), with the reason the admins see. */
  async fail(id: string, reason: string): Promise<void> {
    await this.deps.db.query(SQL.failed, [id, reason.slice(0, 500)]);
  }

  async get(id: string): Promise<ImportSummary | null> {
    if (!/^\d{1,18}$/.test(id)) return null;
    const [row] = (await this.deps.db.query(SQL.get, [id])).rows;
    return row ? toSummary(row) : null;
  }

  async list(limit = 10): Promise<ImportSummary[]> {
    return (await this.deps.db.query(SQL.list, [limit])).rows.map(toSummary);
  }

  async rejected(id: string, limit: number, afterLine = 0): Promise<RejectedRow[]> {
    const { rows } = await this.deps.db.query<{ line: number; raw: string | null; reason: string }>(SQL.rejected, [
      id,
      afterLine,
      limit,
    ]);
    return rows.map((row) => ({ line: row.line, text: row.raw ?? '', reason: row.reason }));
  }

  /** Every rejected row as CSV (line, row as it was, reason), a page at a time. */
  async *rejectedCsv(id: string): AsyncGenerator<string> {
    yield 'line,row,reason\n';
    for (let after = 0; ;) {
      const page = await this.rejected(id, 1000, after);
      if (page.length === 0) return;
      yield page.map((row) => [String(row.line), row.text, row.reason].map(csvField).join(',') + '\n').join('');
      after = page[page.length - 1]?.line ?? after;
    }
  }

  /**
   * Parses the stream and writes its rows in batches; the first row is a header unless it holds an
   * address. The separator is the one the first line uses (the others are data), and every row must
   * have as many columns as that line: a row split elsewhere is rejected, never read as other columns.
   */
  private async read(
    id: string,
    input: Readable,
    chosenState: ImportedState,
  ): Promise<{ rows: number; rejected: number; lastLine: number }> {
    const { firstLine, whole } = await peekFirstLine(input);
    const delimiter = detectDelimiter(firstLine);
    const parser = whole.pipe(
      parse({
        delimiter,
        bom: true,
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        info: true,
        raw: true,
        skip_records_with_error: true,
      }),
    );
    whole.on('error', (error) => parser.destroy(error));
    let columns: ImportColumns | null = null;
    let columnCount = 0;
    let state = chosenState;
    let batch: Array<{ line: number; row: ImportRow } | { line: number; raw: string; reason: string }> = [];
    let rows = 0;
    let rejected = 0;
    let lastLine = 0;
    // One batch is written while the next is parsed: PostgreSQL inserts on one core as this process parses on another.
    let writing: Promise<void> = Promise.resolve();
    const skippedLines: Array<{ line: number; raw: string; reason: string }> = [];
    parser.on('skip', (error: Error & { lines?: number; raw?: string }) =>
      skippedLines.push({ line: error.lines ?? 0, raw: error.raw ?? '', reason: `not a CSV row: ${error.message}` }),
    );
    try {
      for await (const { record, info, raw } of parser as AsyncIterable<ReadRecord>) {
        lastLine = info.lines;
        if (columns === null) {
          const header = readHeader(record);
          if (header && 'error' in header) throw new Error(header.error);
          columns = header ?? HEADERLESS;
          columnCount = record.length;
          state = fileState(header ? record : null, chosenState);
          if (header) continue;
        }
        rows += 1;
        const read =
          record.length === columnCount
            ? readRow(record, columns, state)
            : { reason: columnMismatch(record.length, columnCount, delimiter) };
        if ('reason' in read) {
          rejected += 1;
          batch.push({
            line: info.lines,
            raw: raw.replace(/^[\r\n]+|[\r\n]+$/g, '').slice(0, 500),
            reason: read.reason,
          });
        } else batch.push({ line: info.lines, row: read });
        batch.push(...skippedLines.splice(0));
        if (batch.length >= READ_BATCH) {
          await writing;
          writing = this.write(id, batch);
          // Awaited before the next write or at the end; marked handled so that a failure meanwhile is not an unhandled rejection.
          writing.catch(() => undefined);
          batch = [];
        }
      }
    } finally {
      // Never ends, however it ends, with a write still on its way (a failed import is marked so after it).
      await writing.catch(() => undefined);
    }
    rows += skippedLines.length;
    rejected += skippedLines.length;
    batch.push(...skippedLines);
    await writing;
    if (columns === null) throw new Error('the file has no rows');
    await this.write(id, batch);
    return { rows, rejected, lastLine: Math.max(lastLine, ...batch.map((item) => item.line)) };
  }

  private async write(
    id: string,
    batch: Array<{ line: number; row: ImportRow } | { line: number; raw: string; reason: string }>,
  ): Promise<void> {
    if (batch.length === 0) return;
    const column = <T>(pick: (row: ImportRow) => T) => batch.map((item) => ('row' in item ? pick(item.row) : null));
    await this.deps.db.query(SQL['add-rows'], [
      id,
      batch.map((item) => item.line),
      column((row) => row.email),
      column((row) => row.emailKey),
      column((row) => row.name),
      column((row) => row.state),
      column((row) => row.consentAt),
      column((row) => row.consentIp),
      column((row) => row.changedAt),
      batch.map((item) => ('raw' in item ? storable(item.raw) : null)),
      batch.map((item) => ('reason' in item ? storable(item.reason) : null)),
    ]);
  }
}

/** Why a row with another number of columns than the file's first line is rejected. */
function columnMismatch(found: number, expected: number, delimiter: CsvDelimiter): string {
  return `${found} column${found === 1 ? '' : 's'} where the first line has ${expected} (separated by ${delimiterName(delimiter)})`;
}

/** PostgreSQL's text cannot hold NUL: a rejected row's bytes (and a reason quoting them) are kept for the report with U+FFFD in its place. */
function storable(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD');
}

/** A rejected row as the CLI and the console show it: with its controls and format characters escaped (the CSV download keeps the row as it was). */
export function shownRejectedRow(row: RejectedRow): RejectedRow {
  return { line: row.line, text: escapeInvisible(row.text), reason: escapeInvisible(row.reason) };
}

/** One line on where an import stands, for the console and the CLI. */
export function describeImport(summary: ImportSummary): string {
  switch (summary.status) {
    case 'receiving':
      return 'Reading the file…';
    case 'received':
      return `Read ${summary.rows} rows; waiting for a worker to merge them…`;
    case 'merging':
      return `Merging: line ${Math.min(summary.mergedThrough, summary.lastLine)} of ${summary.lastLine}…`;
    case 'failed':
      // The reason may quote the file (its header).
      return `Failed: ${escapeInvisible(summary.error ?? 'unknown error')}`;
    default:
      return `Done: ${summary.imported} new${newByState(summary)}; already here: ${summary.confirmedExisting} pending now confirmed, ${summary.leftExisting} now left, ${Object.values(summary.skipped).reduce((sum, count) => sum + count, 0)} skipped; ${summary.duplicates} duplicates merged, ${summary.rejected} rejected of ${summary.rows} rows.`;
  }
}

/** The states the new subscribers were created in, as ` (1 confirmed, 1 unsubscribed)`, or nothing when there are none or they were not counted. */
function newByState(summary: ImportSummary): string {
  const states = IMPORTED_STATES.filter((state) => (summary.importedByState[state] ?? 0) > 0).map(
    (state) => `${summary.importedByState[state]} ${state}`,
  );
  return states.length > 0 ? ` (${states.join(', ')})` : '';
}

/** A jsonb object of counts as numbers (PostgreSQL may give a bigint as text). */
function countsOf(value: unknown): Record<string, number> {
  return Object.fromEntries(
    Object.entries((value ?? {}) as Record<string, string | number>).map(([key, count]) => [key, Number(count)]),
  );
}

function toSummary(row: Row): ImportSummary {
  return {
    id: String(row.id),
    fileName: String(row.file_name),
    by: String(row.by),
    status: row.status as ImportStatus,
    rows: Number(row.rows),
    rejected: Number(row.rejected),
    duplicates: Number(row.duplicates),
    mergedThrough: Number(row.merged_through),
    lastLine: Number(row.last_line),
    imported: Number(row.imported),
    importedByState: countsOf(row.imported_states),
    confirmedExisting: Number(row.confirmed_existing),
    leftExisting: Number(row.left_existing),
    skipped: countsOf(row.skipped),
    error: (row.error as string | null) ?? null,
    createdAt: (row.created_at as Date).toISOString(),
    updatedAt: (row.updated_at as Date).toISOString(),
  };
}
