import pg from 'pg';
import type { Logger } from './logger.ts';

export type Row = pg.QueryResultRow;
export type QueryResult<T extends Row = Row> = pg.QueryResult<T>;

/** What a store needs to run SQL: the pool itself, or one transaction's connection. */
export interface Queryable {
  /** One statement; `$1`, `$2`, … are sent as parameters, never spliced into the text. */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
}

export interface DatabaseOptions {
  /** Connections this process opens at most (the embedded server is shared by every process of the machine). */
  maxConnections?: number;
}

/**
 * The process's PostgreSQL connections: a pool, opened lazily (no connection until the first query).
 * Inside `transaction`, use only the `Queryable` it hands you: a query on the pool meanwhile takes
 * another connection, which on the embedded server waits for the transaction to end, forever.
 */
export class Database implements Queryable {
  private readonly pool: pg.Pool;

  constructor(url: string, logger: Logger, options: DatabaseOptions = {}) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 5,
      // A database that is down fails the query after 10 s instead of queueing it forever.
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection that breaks (a database restart) emits here; unhandled, it would end the process.
    this.pool.on('error', (error) =>
      logger.warn({ err: error.message }, 'idle PostgreSQL connection failed; the pool opens a new one'),
    );
  }

  query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
    return this.pool.query<T>(sql, [...params]);
  }

  /** Runs `work` between BEGIN and COMMIT on one connection; any error rolls back and is rethrown. */
  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work({
        query: <R extends Row>(sql: string, params: readonly unknown[] = []) => client.query<R>(sql, [...params]),
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that cannot even roll back must not go back to the pool.
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
