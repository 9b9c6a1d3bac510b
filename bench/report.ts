/** The benchmark's table: rows, the targets they are held to, and how they are printed. */

export interface Row {
  metric: string;
  value: string;
  versus: string;
  target: string;
  met: boolean | null;
}

export interface Target {
  target: string;
  met: boolean;
}

/** What one group of phases adds to the run: its rows, its targets (by name), and its figures for results.json. */
export interface PhaseReport {
  rows: Row[];
  targets: Record<string, Target>;
  results: Record<string, unknown>;
}

/** A row without a target. */
export function info(metric: string, value: string, versus = '-'): Row {
  return { metric, value, versus, target: '-', met: null };
}

/** A row held to `target`. */
export function held(metric: string, value: string, versus: string, target: Target): Row {
  return { metric, value, versus, target: target.target, met: target.met };
}

/** The table's headings, as the bench prints them and docs/performance.md shows them. */
export const TABLE_HEADINGS = ['metric', 'value', 'baseline / ratio', 'target', 'met'];

/** A row's cells in column order, `met` as a reader reads it (`NO` stands out among the `yes`). */
export function tableCells(row: Row): string[] {
  const met = row.met === null ? '-' : row.met ? 'yes' : 'NO';
  return [row.metric, row.value, row.versus, row.target, met];
}

export function printTable(rows: Row[]): void {
  const cells = [TABLE_HEADINGS, ...rows.map(tableCells)];
  const widths = TABLE_HEADINGS.map((_, index) => Math.max(...cells.map((cell) => (cell[index] ?? '').length)));
  const line = (cell: string[]) => `| ${cell.map((text, index) => text.padEnd(widths[index] ?? 0)).join(' | ')} |`;
  const out = [line(cells[0] ?? []), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`];
  for (const cell of cells.slice(1)) out.push(line(cell));
  process.stdout.write(`${out.join('\n')}\n`);
}
