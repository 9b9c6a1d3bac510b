/** Generated sections from the committed benchmark run, bench/results.json (written by `npm run bench`). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Row, TABLE_HEADINGS, tableCells, type Target } from '../../bench/report.ts';
import type { GeneratedSection } from './generated.ts';
import { markdownTable } from './markdown.ts';

/** The parts of bench/results.json the docs show. */
interface BenchResults {
  timestamp: string;
  totalSeconds: number;
  machine: { cpuModel: string; cpuCount: number; node: string; redis: string; loadAverageAtStart: number[] };
  targets: Record<string, Target>;
  table: Row[];
}

export const RESULTS_FILE = 'bench/results.json';

function readResults(root: string): BenchResults {
  return JSON.parse(readFileSync(join(root, RESULTS_FILE), 'utf8')) as BenchResults;
}

/** "Redis server v=7.0.15 sha=…" → "7.0.15". */
const redisVersion = (banner: string) => /v=(\S+)/.exec(banner)?.[1] ?? banner;

/** When and where the committed run ran, and how many of its targets it met. */
function runLine(results: BenchResults): string {
  const { machine } = results;
  const targets = Object.values(results.targets);
  const met = targets.filter((target) => target.met).length;
  const when = results.timestamp.replace(/\.\d+Z$/, 'Z');
  const load = (machine.loadAverageAtStart[0] ?? 0).toFixed(1);
  return (
    `Run of ${when}, ${results.totalSeconds.toFixed(0)} s (load average ${load} at the start), on ${machine.cpuCount} ` +
    `${machine.cpuModel} cores with Node ${machine.node.replace(/^v/, '')} and Redis ${redisVersion(machine.redis)}: ` +
    `${met} of ${targets.length} targets met.`
  );
}

export const performanceTable: GeneratedSection = {
  page: 'docs/performance.md',
  name: 'performance-table',
  render(root) {
    const results = readResults(root);
    return `${markdownTable(TABLE_HEADINGS, results.table.map(tableCells))}\n\n${runLine(results)}`;
  },
};

/** The bench table's rows that weigh the email as sent (bench/run.ts, sizeRows). */
const EMAIL_SIZE_ROW = 'email HTML / message as sent, ';

/** The email's weight per bench edition: the performance table's email rows, on the page about the email. */
export const emailWeightTable: GeneratedSection = {
  page: 'docs/email.md',
  name: 'email-weight-table',
  render(root) {
    const rows = readResults(root).table.filter((row) => row.metric.startsWith(EMAIL_SIZE_ROW));
    if (rows.length === 0) throw new Error(`${RESULTS_FILE} has no "${EMAIL_SIZE_ROW}…" rows`);
    return markdownTable(
      ['bench edition', 'HTML / whole message', 'articles', 'target'],
      rows.map((row) => [row.metric.slice(EMAIL_SIZE_ROW.length), row.value, row.versus, row.target]),
    );
  },
};
