// A short-lived process for the database tests: starts the way every process does (DATABASE_URL,
// else the embedded server of DATA_DIR, started if need be; then migrated), runs the SQL statements
// given as arguments in order, prints `RESULT {"url", "rows"}` with the last one's rows, and exits.
// With UNTIL_ROWS=n, it repeats the last statement until that returns n rows (at most 20 s).
import { Database } from '../../src/platform/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { loadConfigOrExit, prepareDatabase } from '../../src/platform/startup.ts';

const config = loadConfigOrExit();
const logger = createLogger('database-process', config.LOG_LEVEL);
const { url } = await prepareDatabase(config, logger);
const db = new Database(url, logger);
const statements = process.argv.slice(2);
const untilRows = Number(process.env.UNTIL_ROWS ?? 0);
const deadline = Date.now() + 20_000;
let rows: unknown[] = [];
for (const sql of statements) rows = (await db.query(sql)).rows;
while (rows.length < untilRows && Date.now() < deadline && statements.length > 0) {
  await new Promise((done) => setTimeout(done, 50));
  rows = (await db.query(statements.at(-1) as string)).rows;
}
await db.close();
console.log(`RESULT ${JSON.stringify({ url, rows })}`);
