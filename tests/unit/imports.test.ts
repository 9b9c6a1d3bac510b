import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { SubscriberImports } from '../../src/subscribers/imports.ts';

/**
 * SubscriberImports.receive over a small fake of the database (a real one is in the console's
 * import tests): batches of rows are written one at a time while the next is read, and a write that
 * fails ends the import as failed, with its reason, whichever batch it was.
 */
function fakeDatabase(failAtBatch: number | null, rowsRead: () => number = () => 0) {
  const seen = {
    batches: 0,
    inFlight: 0,
    mostInFlight: 0,
    statements: [] as string[],
    failedWith: null as string | null,
    readWhenFirstWritten: 0,
  };
  const db = {
    async query(sql: string, params: readonly unknown[] = []) {
      const statement = sql.trim().split(/\s+/).slice(0, 3).join(' ');
      seen.statements.push(statement);
      if (sql.includes('INSERT INTO imports')) return { rows: [{ id: '1' }] };
      if (sql.includes("status = 'failed'")) seen.failedWith = String(params[1]);
      if (!sql.includes('INSERT INTO import_rows')) return { rows: [] };
      seen.batches += 1;
      const batch = seen.batches;
      seen.inFlight += 1;
      seen.mostInFlight = Math.max(seen.mostInFlight, seen.inFlight);
      // Slower than reading the next batch, so that the reader would run ahead if it could.
      await new Promise((done) => setTimeout(done, 100));
      seen.inFlight -= 1;
      if (batch === 1) seen.readWhenFirstWritten = rowsRead();
      if (batch === failAtBatch) throw new Error('could not extend file: No space left on device');
      return { rows: [] };
    },
  };
  // A fake of the one method SubscriberImports.receive uses.
  return { db: db as unknown as Database, seen };
}

/** A list of `rows` readers, a line at a time, counting the lines taken from it. */
function list(rows: number) {
  let read = 0;
  function* lines() {
    yield 'email,name\n';
    for (; read < rows; read += 1) yield `reader${read}@example.test,Reader ${read}\n`;
  }
  return { stream: Readable.from(lines()), read: () => read };
}

describe('SubscriberImports.receive', () => {
  it('writes a batch while it reads the next, never two at once, and records every row', async () => {
    const file = list(23_000);
    const { db, seen } = fakeDatabase(null, file.read);
    const imports = new SubscriberImports({ db, logger: createLogger('test', 'silent') });
    await imports.receive(file.stream, { fileName: 'list.csv', by: 'test', state: 'confirmed' });
    expect(seen.batches).toBe(5);
    expect(seen.mostInFlight).toBe(1);
    // The first batch's 5,000 rows were written while the reader went on into the second.
    expect(seen.readWhenFirstWritten).toBeGreaterThan(6_000);
    expect(seen.failedWith).toBeNull();
    expect(seen.statements.at(-1)).toBe('UPDATE imports SET');
  });

  it('fails the import with the reason of a write that failed while the next batch was read', async () => {
    const { db, seen } = fakeDatabase(2);
    const imports = new SubscriberImports({ db, logger: createLogger('test', 'silent') });
    const id = await imports.receive(list(23_000).stream, { fileName: 'list.csv', by: 'test', state: 'confirmed' });
    expect(id).toBe('1');
    expect(seen.failedWith).toBe('could not extend file: No space left on device');
    // Not marked received: a failed import is never merged.
    expect(seen.statements.filter((statement) => statement === 'UPDATE imports SET')).toHaveLength(1);
    expect(seen.batches).toBeLessThanOrEqual(3);
  });
});
