/**
 * Child processes of the benchmark: every one is registered so that it is stopped (by its own pid)
 * whatever way the benchmark ends. The delivery workers run as deployed (the build, with the heap
 * flags of `npm run start:worker`); the sink and the baselines run as `node --import tsx <file>`,
 * which is what `tsx <file>` runs, minus the wrapper process, so that the pid we sample is theirs.
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SinkRequest, SinkStats } from './sink.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = ['--import', 'tsx'];

const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  // Without a listener, a failed spawn or a send to a dead child would throw out of the event loop.
  child.on('error', (error) => process.stderr.write(`[bench] child process ${child.pid ?? '?'}: ${error.message}\n`));
  return child;
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process has exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (!isRunning(child)) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => {
      if (isRunning(child)) child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child, 5_000)));
}

/** Passes a child's output to our stderr, line by line, with a tag (dropping lines `keep` rejects). */
function relay(stream: NodeJS.ReadableStream | null, tag: string, keep: (line: string) => boolean = () => true): void {
  if (!stream) return;
  createInterface({ input: stream }).on('line', (line) => {
    if (keep(line)) process.stderr.write(`[${tag}] ${line}\n`);
  });
}

// ---------------------------------------------------------------- SMTP sink

export interface Sink {
  url: string;
  child: ChildProcess;
  reset(): Promise<void>;
  stats(): Promise<SinkStats>;
}

export async function startSink(): Promise<Sink> {
  const child = track(
    fork(resolve(ROOT, 'bench/sink.ts'), [], {
      cwd: ROOT,
      execArgv: TSX,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  let seq = 0;
  const waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  const port = await new Promise<number>((resolvePort, reject) => {
    child.once('exit', (code) => reject(new Error(`SMTP sink exited (${code}) before it was ready`)));
    child.on('message', (message: Record<string, unknown>) => {
      if (message.ready) resolvePort(Number(message.port));
      const id = Number(message.id);
      waiting.get(id)?.(message);
      waiting.delete(id);
    });
  });
  const request = (cmd: SinkRequest['cmd']) =>
    new Promise<Record<string, unknown>>((done, reject) => {
      if (!isRunning(child) || !child.connected) return reject(new Error('the SMTP sink process is gone'));
      seq += 1;
      waiting.set(seq, done);
      child.send({ id: seq, cmd } satisfies SinkRequest);
    });
  return {
    url: `smtp://127.0.0.1:${port}`,
    child,
    async reset() {
      await request('reset');
    },
    async stats() {
      return (await request('stats')).stats as SinkStats;
    },
  };
}

// ---------------------------------------------------------------- worker processes

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  rss: RssSampler;
}

/** How a delivery worker is started: a built `workers/worker.js` and node's flags. */
export interface WorkerCommand {
  script: string;
  nodeFlags: string[];
}

/**
 * The worker as the Dockerfile and docker-compose.yml run it: `npm run build` (into `dir`, beside a
 * link to our node_modules, as /app/dist sits beside /app/node_modules in the image) and the heap
 * flags that `npm run start:worker` gives node.
 */
export function buildWorker(dir: string): WorkerCommand {
  execFileSync(process.execPath, [resolve(ROOT, 'bin/build.js'), join(dir, 'dist')], { stdio: 'inherit' });
  symlinkSync(resolve(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return { script: join(dir, 'dist/workers/worker.js'), nodeFlags: workerHeapFlags() };
}

/** The V8 heap flags of `npm run start:worker` (the Dockerfile's worker has the same; a test keeps them so). */
export function workerHeapFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return (scripts['start:worker'] ?? '').split(/\s+/).filter((word) => word.startsWith('--max-'));
}

/** A delivery worker process (`command`) with exactly the given environment. */
export function startWorker(command: WorkerCommand, env: Record<string, string>, tag: string): WorkerProcess {
  const child = track(
    spawn(process.execPath, [...command.nodeFlags, command.script], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  // pino JSON at LOG_LEVEL=warn; the throwaway Redis has no persistence on purpose, so that warning is noise here.
  relay(child.stdout, tag, (line) => !line.includes('Redis has no persistence'));
  relay(child.stderr, tag);
  if (child.pid === undefined) throw new Error('could not start a worker process');
  return { child, pid: child.pid, rss: new RssSampler(child.pid) };
}

// ---------------------------------------------------------------- baselines

export async function runBaselineProcess<T>(spec: object): Promise<T> {
  const child = track(
    fork(resolve(ROOT, 'bench/baseline.ts'), [JSON.stringify(spec)], {
      cwd: ROOT,
      execArgv: TSX,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  return new Promise<T>((done, reject) => {
    let result: T | undefined;
    child.on('message', (message: T) => {
      result = message;
    });
    child.once('exit', (code) =>
      result !== undefined ? done(result) : reject(new Error(`baseline process exited (${code}) without a result`)),
    );
  });
}

// ---------------------------------------------------------------- memory

/** Peak resident memory of a process: VmHWM from /proc at the end, plus VmRSS sampled meanwhile. */
export class RssSampler {
  private maxRssKb = 0;
  private timer: NodeJS.Timeout;
  private readonly started = Date.now();
  private nextMark = 0;
  /** VmRSS once a second: [seconds since start, MB]. */
  readonly timeline: Array<[number, number]> = [];

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }

  private field(name: 'VmRSS' | 'VmHWM'): number {
    try {
      const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return match ? Number(match[1]) : 0;
    } catch {
      return 0;
    }
  }

  sample(): void {
    const rssKb = this.field('VmRSS');
    this.maxRssKb = Math.max(this.maxRssKb, rssKb);
    const seconds = (Date.now() - this.started) / 1000;
    if (rssKb > 0 && seconds >= this.nextMark) {
      this.timeline.push([Math.round(seconds), Math.round(rssKb / 1024)]);
      this.nextMark = Math.floor(seconds) + 1;
    }
  }

  /** Call while the process is still alive. Bytes. */
  peak(): { hwmBytes: number; sampledMaxBytes: number } {
    this.sample();
    clearInterval(this.timer);
    return { hwmBytes: this.field('VmHWM') * 1024, sampledMaxBytes: this.maxRssKb * 1024 };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

let clockTicks: number | undefined;

/** CPU time (user + system) a live process has used so far, in seconds, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, utime field 14, stime field 15 (1-based, man 5 proc).
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return NaN;
  }
}
