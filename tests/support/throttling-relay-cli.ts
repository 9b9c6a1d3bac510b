/**
 * The throttling relay as its own process: `node --import tsx tests/support/throttling-relay.ts`.
 *
 * Settings, argv first, then the environment:
 *   --port / RELAY_PORT                    0: any free port (the port is printed)
 *   --host / RELAY_HOST                    127.0.0.1
 *   --limits / RELAY_LIMITS                a.test=50/s,b.test=10/s (per recipient domain; /min, /h also read)
 *   --default-limit / RELAY_DEFAULT_LIMIT  messages per second for other domains; 0 (default): no limit
 *   --mode / RELAY_MODE                    throttle (default), refuse-all, closed
 *   --pause-seconds / RELAY_PAUSE_SECONDS  a refusal says "try again in N seconds" and holds the domain refused N s; 0: off
 *   --stats-ms / RELAY_STATS_MS            a stats line this often (default 1000; 0: none)
 *
 * stdout: one JSON object per line, told apart by `event`:
 *   {"event":"listening","port":40123,"url":"smtp://127.0.0.1:40123","pid":4242}   first, once
 *   {"event":"stats","at":<ms>,"second":<s>,"domains":{"a.test":{"limit":50,"accepted":812,"refused":3,
 *     "last":{"accepted":50,"refused":0}}}}   periodic; `last` is the last complete second (`second`)
 *   {"event":"ok","id":7,"cmd":"limit"}  /  {"event":"error","id":7,"error":"..."}   replies to commands
 * stdin: one JSON command per line; an `id`, if given, comes back in the reply:
 *   {"cmd":"limit","domain":"a.test","perSecond":20}    (perSecond null: back to the default limit)
 *   {"cmd":"default-limit","perSecond":50}              (null: no limit)
 *   {"cmd":"mode","mode":"refuse-all"}                  (throttle, refuse-all, closed)
 *   {"cmd":"stated-pause","seconds":30}                 (null: off)
 *   {"cmd":"stats"}   replies with a stats line whose domains also carry their per-second `series`
 *   {"cmd":"reset"}   zeroes every counter
 *   {"cmd":"stop"}    closes and exits 0 (as SIGTERM does, and the end of a piped stdin: the parent is gone)
 */
import { fstatSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parseRateList } from '../../src/delivery/pacing/destination-limits.ts';
import { type RelayMode, type RelaySettings, ThrottlingRelay } from './throttling-relay.ts';

export interface RelayProcessSettings extends RelaySettings {
  port: number;
  host: string;
  statsMs: number;
}

export type RelayCommand =
  | { cmd: 'limit'; domain: string; perSecond: number | null }
  | { cmd: 'default-limit'; perSecond: number | null }
  | { cmd: 'mode'; mode: RelayMode }
  | { cmd: 'stated-pause'; seconds: number | null }
  | { cmd: 'stats' | 'reset' | 'stop' };

const MODES: readonly RelayMode[] = ['throttle', 'refuse-all', 'closed'];

/** The process's settings from argv (first) and the environment; throws naming the bad one. */
export function relaySettingsFrom(argv: string[], env: NodeJS.ProcessEnv): RelayProcessSettings {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      limits: { type: 'string' },
      'default-limit': { type: 'string' },
      mode: { type: 'string' },
      'pause-seconds': { type: 'string' },
      'stats-ms': { type: 'string' },
    },
    strict: true,
  });
  const number = (name: string, text: string | undefined, fallback: number) => {
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: "${text}" is not a number >= 0`);
    return value;
  };
  const mode = values.mode ?? env.RELAY_MODE ?? 'throttle';
  if (!MODES.includes(mode as RelayMode)) throw new Error(`RELAY_MODE: "${mode}" is not one of ${MODES.join(', ')}`);
  const defaultLimit = number('RELAY_DEFAULT_LIMIT', values['default-limit'] ?? env.RELAY_DEFAULT_LIMIT, 0);
  const pause = number('RELAY_PAUSE_SECONDS', values['pause-seconds'] ?? env.RELAY_PAUSE_SECONDS, 0);
  return {
    port: number('RELAY_PORT', values.port ?? env.RELAY_PORT, 0),
    host: values.host ?? env.RELAY_HOST ?? '127.0.0.1',
    limits: parseRateList(values.limits ?? env.RELAY_LIMITS ?? '', 'RELAY_LIMITS'),
    defaultLimit: defaultLimit > 0 ? defaultLimit : Infinity,
    mode: mode as RelayMode,
    statedPauseSeconds: pause > 0 ? pause : null,
    statsMs: number('RELAY_STATS_MS', values['stats-ms'] ?? env.RELAY_STATS_MS, 1000),
  };
}

const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** The periodic line: totals per domain and the last complete second's counts. */
function statsLine(relay: ThrottlingRelay, withSeries: boolean): Record<string, unknown> {
  const at = Date.now();
  const second = Math.floor(at / 1000) - 1;
  const domains: Record<string, unknown> = {};
  for (const [domain, stats] of Object.entries(relay.stats())) {
    const last = stats.series.find((counts) => counts.second === second) ?? { accepted: 0, refused: 0 };
    domains[domain] = {
      limit: stats.limit,
      accepted: stats.accepted,
      refused: stats.refused,
      last: { accepted: last.accepted, refused: last.refused },
      ...(withSeries ? { series: stats.series } : {}),
    };
  }
  return { event: 'stats', at, second, domains };
}

async function apply(relay: ThrottlingRelay, command: RelayCommand): Promise<Record<string, unknown> | null> {
  switch (command.cmd) {
    case 'limit':
      if (typeof command.domain !== 'string') throw new Error('limit needs a domain');
      relay.setLimit(command.domain, perSecondOf(command.perSecond));
      return null;
    case 'default-limit':
      relay.setDefaultLimit(perSecondOf(command.perSecond));
      return null;
    case 'mode':
      if (!MODES.includes(command.mode)) throw new Error(`mode must be one of ${MODES.join(', ')}`);
      await relay.setMode(command.mode);
      return null;
    case 'stated-pause':
      relay.setStatedPause(command.seconds === null ? null : positive(command.seconds, 'seconds'));
      return null;
    case 'stats':
      return statsLine(relay, true);
    case 'reset':
      relay.reset();
      return null;
    case 'stop':
      return null;
    default:
      throw new Error(`unknown command ${JSON.stringify((command as { cmd?: unknown }).cmd)}`);
  }
}

function perSecondOf(value: number | null): number | null {
  return value === null ? null : positive(value, 'perSecond');
}

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value > 0)) throw new Error(`${name} must be a number above 0 or null`);
  return value;
}

export async function runRelayProcess(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const settings = relaySettingsFrom(argv, env);
  const relay = await new ThrottlingRelay(settings).start(settings.port, settings.host);
  print({ event: 'listening', port: relay.port, url: `smtp://${settings.host}:${relay.port}`, pid: process.pid });
  const timer = settings.statsMs > 0 ? setInterval(() => print(statsLine(relay, false)), settings.statsMs) : null;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (timer) clearInterval(timer);
    await relay.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let id: unknown;
    void (async () => {
      try {
        const command = JSON.parse(line) as RelayCommand & { id?: unknown };
        id = command.id;
        const reply = await apply(relay, command);
        print(reply ? { ...reply, id } : { event: 'ok', id, cmd: command.cmd });
        if (command.cmd === 'stop') await stop();
      } catch (error) {
        print({ event: 'error', id, error: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  // A piped stdin that ends means the parent went away. /dev/null (stdin ignored) ends at once and means nothing.
  if (fstatSync(0).isFIFO()) lines.on('close', () => void stop());
}
