import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root: service processes run from here, as `npm start` would. */
export const ROOT = join(import.meta.dirname, '..', '..');

/** One pino line of a service process (`msg`, `level`, `process` and whatever the call added). */
export interface LogLine {
  level: number;
  msg: string;
  process?: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type LogMatch = string | RegExp | ((line: LogLine) => boolean);

/** A service started as its own OS process (`node --import tsx <script>`), with its logs captured. */
export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON log line so far (stdout or stderr), in order. */
  readonly logs: LogLine[];
  /** Lines that were not JSON (stderr, console output), for diagnostics. */
  readonly text: string[];
  /** Set once the process has exited. */
  readonly exit: Exit | null;
  logsMatching(match: LogMatch): LogLine[];
  /** Resolves with the first log line (past or future) that matches; rejects on timeout or exit. */
  waitForLog(match: LogMatch, timeoutMs?: number): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited; rejects after `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<Exit>;
  /** SIGKILL (if still running) and wait for the exit. */
  kill(): Promise<Exit>;
  /** The last lines of output, for failure messages. */
  tail(lines?: number): string;
}

const running = new Set<ServiceProcess>();
// Should the test process itself end (a crash, a timeout), its service processes end with it.
process.once('exit', () => {
  for (const service of running) service.child.kill('SIGKILL');
});

function matches(match: LogMatch, line: LogLine): boolean {
  if (typeof match === 'function') return match(line);
  if (typeof match === 'string') return line.msg === match;
  return match.test(line.msg);
}

function describeMatch(match: LogMatch): string {
  return typeof match === 'function' ? 'a matching log line' : `log "${String(match)}"`;
}

/**
 * A base environment for service processes: only what a process needs from this machine (PATH,
 * HOME, locale), so that nothing of the developer's own configuration (REDIS_URL, SMTP_URL, ...)
 * leaks into a test.
 */
export function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'USER'];
  return Object.fromEntries(
    keep.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name] as string]])),
  );
}

/**
 * Starts `script` (relative to the repository root, e.g. `workers/worker.ts` or `src/cli.ts`, or a
 * built `.js` file, run without tsx) with exactly `env` (plus `baseEnv()`), as one OS process:
 * signals reach the service itself, not a wrapper, unless `through` names a command that runs it
 * (e.g. `unshare ...`: its arguments, then the service's command line). Every process started here is
 * ended by `stopAllServices()`.
 */
export function startService(
  script: string,
  options: { env: Record<string, string>; args?: string[]; name?: string; through?: string[] },
): ServiceProcess {
  const name = options.name ?? script.replace(/^.*\//, '').replace(/\.[tj]s$/, '');
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const [command = process.execPath, ...before] = [...(options.through ?? []), process.execPath];
  const child = spawn(command, [...before, ...loader, script, ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...baseEnv(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${script}`);
  const logs: LogLine[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  let exit: Exit | null = null;
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };

  const onLine = (line: string) => {
    if (line.startsWith('{')) {
      try {
        const parsed = JSON.parse(line) as LogLine;
        if (typeof parsed.msg === 'string' || typeof parsed.level === 'number') {
          logs.push({ ...parsed, msg: String(parsed.msg ?? '') });
          notify();
          return;
        }
      } catch {
        // not JSON after all
      }
    }
    text.push(line);
  };
  // Services log on stdout, the CLI on stderr (its stdout is its answer): logs are read from both.
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      running.delete(service);
      notify();
      resolve(exit);
    });
  });

  const tail = (count = 15) =>
    [...logs.slice(-count).map((line) => JSON.stringify(line)), ...text.slice(-count)].join('\n') || '(no output)';

  const service: ServiceProcess = {
    name,
    child,
    pid: child.pid,
    logs,
    text,
    get exit() {
      return exit;
    },
    logsMatching: (match) => logs.filter((line) => matches(match, line)),
    waitForLog(match, timeoutMs = 20_000) {
      return new Promise<LogLine>((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < logs.length; seen += 1) {
            const line = logs[seen] as LogLine;
            if (matches(match, line)) return finish(() => resolve(line));
          }
          if (exit)
            finish(() =>
              reject(new Error(`${name} exited (${JSON.stringify(exit)}) before ${describeMatch(match)}:\n${tail()}`)),
            );
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(
                  `timed out after ${timeoutMs} ms waiting for ${describeMatch(match)} from ${name}:\n${tail()}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    signal(signal) {
      if (exit === null) child.kill(signal);
    },
    async waitForExit(timeoutMs = 20_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${name} (pid ${child.pid}) did not exit within ${timeoutMs} ms:\n${tail()}`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (exit === null) child.kill('SIGKILL');
      return exited;
    },
    tail,
  };
  running.add(service);
  return service;
}

/** SIGKILLs every service process still running (for afterEach/afterAll, whatever the test did). */
export async function stopAllServices(): Promise<void> {
  await Promise.all([...running].map((service) => service.kill()));
}
