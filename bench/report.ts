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

export function printTable(rows: Row[]): void {
  const header = { metric: 'metric', value: 'value', versus: 'baseline / ratio', target: 'target', met: 'met' };
  const cells = [header, ...rows.map((row) => ({ ...row, met: row.met === null ? '-' : row.met ? 'yes' : 'NO' }))];
  const keys = ['metric', 'value', 'versus', 'target', 'met'] as const;
  const widths = keys.map((key) => Math.max(...cells.map((cell) => cell[key].length)));
  const line = (cell: Record<(typeof keys)[number], string>) =>
    `| ${keys.map((key, index) => cell[key].padEnd(widths[index] ?? 0)).join(' | ')} |`;
  const out = [
    line(cells[0] as Record<(typeof keys)[number], string>),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
  ];
  for (const cell of cells.slice(1)) out.push(line(cell as Record<(typeof keys)[number], string>));
  process.stdout.write(`${out.join('\n')}\n`);
}
