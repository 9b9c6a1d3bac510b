/**
 * Starts the throttling relay as its own OS process and talks to it over stdin/stdout (protocol in
 * throttling-relay-cli.ts): for tests and the benchmark, where an in-process relay would take CPU
 * from the sender being measured.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { baseEnv, ROOT } from './processes.ts';
import type { RelayCommand } from './throttling-relay-cli.ts';
import type { SecondCounts } from './throttling-relay.ts';

export interface RelayProcessDomain {
  limit: number | null;
  accepted: number;
  refused: number;
  /** The last complete second's counts (periodic lines). */
  last: { accepted: number; refused: number };
  /** Every second's counts (only in the reply to a `stats` command). */
  series?: SecondCounts[];
}

export interface RelayStatsLine {
  event: 'stats';
  at: number;
  second: number;
  domains: Record<string, RelayProcessDomain>;
}

export interface RelayProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Every periodic stats line so far. */
  readonly lines: RelayStatsLine[];
  /** Sends a command and resolves with its reply; rejects with the relay's error. */
  command(command: RelayCommand): Promise<Record<string, unknown>>;
  /** Counts with per-second series. */
  stats(): Promise<RelayStatsLine>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** `args` are the process's argv (e.g. `['--limits', 'a.test=50/s']`); `env` is added to a clean environment. */
export async function startRelayProcess(
  options: { args?: string[]; env?: Record<string, string> } = {},
): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tests/support/throttling-relay.ts', ...(options.args ?? [])],
    {
      cwd: ROOT,
      env: { ...baseEnv(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  // 'close' comes after the output streams ended, so the last stderr lines are in `errors` by then.
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  void exited.then(() => running.delete(child));
  const errors: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => errors.push(line));

  const lines: RelayStatsLine[] = [];
  const replies = new Map<number, (reply: Record<string, unknown>) => void>();
  let nextId = 1;
  const listening = new Promise<{ port: number; url: string }>((resolve, reject) => {
    void exited.then(() => reject(new Error(`the relay exited before listening:\n${errors.slice(-10).join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (line.event === 'listening') resolve({ port: Number(line.port), url: String(line.url) });
      else if (typeof line.id === 'number' && replies.has(line.id)) {
        replies.get(line.id)?.(line);
        replies.delete(line.id);
      } else if (line.event === 'stats') lines.push(line as unknown as RelayStatsLine);
    });
  });
  const { port, url } = await listening;

  const command = (cmd: RelayCommand) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      replies.set(id, (reply) => (reply.event === 'error' ? reject(new Error(String(reply.error))) : resolve(reply)));
      child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });

  return {
    child,
    port,
    url,
    lines,
    command,
    stats: async () => (await command({ cmd: 'stats' })) as unknown as RelayStatsLine,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
