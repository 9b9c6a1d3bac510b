/**
 * An SMTP relay that throttles per recipient domain, like the relays we send through: it accepts and
 * discards (counting; bodies are kept only when asked), and answers `421 4.7.0 Try again later` at
 * RCPT TO for a domain that is over its limit in messages per second.
 *
 * Limits are counted in FIXED ONE-SECOND WINDOWS aligned to the wall clock (second n is
 * [n*1000, n*1000+999] ms): a recipient admitted at RCPT TO spends one of its domain's `limit`
 * places in the current second; past that every RCPT for the domain is refused until the next
 * second begins. This is how a counter-based relay (and our own MAIL_RATE_PER_SECOND) counts, and it
 * is the strict case for a pacer: the budget of a second, once spent, stays spent. It also makes the
 * per-second series exact: no second ever shows more accepted recipients than its limit.
 *
 * A message counts as accepted once its DATA got the 250, in the second its RCPT was admitted.
 * Like any RFC 5321 server, smtp-server closes the connection after a 421.
 *
 * Runs in-process (`new ThrottlingRelay(settings).start()`) or as its own process (the end of this
 * file; protocol in tests/support/throttling-relay-cli.ts), so that measuring a sender does not
 * share its CPU with the relay.
 */
import { resolve } from 'node:path';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { SINK_SERVER_OPTIONS, ListeningSink } from './smtp-sink.ts';

/**
 * `throttle`: per-domain limits. `refuse-all`: 421 to every RCPT (a relay that takes nothing).
 * `closed`: not listening at all (senders get ECONNREFUSED); the port is kept for when it opens again.
 */
export type RelayMode = 'throttle' | 'refuse-all' | 'closed';

export interface RelaySettings {
  /** Messages per second by recipient domain (lower case). */
  limits?: Iterable<readonly [string, number]>;
  /** For every other domain; Infinity (the default) is no limit. */
  defaultLimit?: number;
  mode?: RelayMode;
  /** When set, a refusal states this pause and the domain stays refused until it has passed. */
  statedPauseSeconds?: number | null;
  /** Keep message bodies (`messages`); off by default, the relay only counts. */
  keepBodies?: boolean;
  /** Per-second series are kept this many seconds (a long benchmark must not grow without end). */
  seriesSeconds?: number;
}

export interface SecondCounts {
  /** The wall-clock second (ms since the epoch / 1000, rounded down). */
  second: number;
  accepted: number;
  refused: number;
}

export interface DomainStats {
  limit: number | null;
  accepted: number;
  refused: number;
  /** Oldest first; seconds with neither accepted nor refused recipients are left out. */
  series: SecondCounts[];
}

export interface KeptMessage {
  to: string[];
  raw: string;
  at: number;
}

interface DomainState {
  accepted: number;
  refused: number;
  window: number;
  admitted: number;
  pausedUntil: number;
  series: Map<number, SecondCounts>;
}

export const TRY_AGAIN_LATER = '4.7.0 Try again later';

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();
const refusal = (message: string) => Object.assign(new Error(message), { responseCode: 421 });

export class ThrottlingRelay extends ListeningSink {
  readonly messages: KeptMessage[] = [];
  protected readonly server: SMTPServer;
  private readonly limits = new Map<string, number>();
  private readonly domains = new Map<string, DomainState>();
  private defaultLimit: number;
  private modeNow: RelayMode;
  private statedPauseSeconds: number | null;
  private readonly keepBodies: boolean;
  private readonly seriesSeconds: number;
  private host = '127.0.0.1';

  constructor(settings: RelaySettings = {}) {
    super();
    for (const [domain, perSecond] of settings.limits ?? []) this.limits.set(domain.toLowerCase(), perSecond);
    this.defaultLimit = settings.defaultLimit ?? Infinity;
    this.modeNow = settings.mode ?? 'throttle';
    this.statedPauseSeconds = settings.statedPauseSeconds ?? null;
    this.keepBodies = settings.keepBodies ?? false;
    this.seriesSeconds = settings.seriesSeconds ?? 3600;
    this.server = new SMTPServer({
      ...SINK_SERVER_OPTIONS,
      // The refusal carries its own enhanced code (4.7.0, as relays send it); smtp-server would add 4.4.2 for a 421.
      hideENHANCEDSTATUSCODES: true,
      onRcptTo: (address: SMTPServerAddress, session, callback) => callback(this.admit(address.address, session)),
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => {
          if (this.keepBodies) chunks.push(chunk);
        });
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((rcpt) => rcpt.address);
          for (const address of to) this.count(domainOf(address), admittedIn(session, address), 'accepted');
          if (this.keepBodies) this.messages.push({ to, raw: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
          callback(null, 'Ok: accepted and discarded');
        });
      },
    });
    // Senders that go away mid-session (a killed worker, a closed pool) are not the relay's failures.
    this.server.on('error', () => undefined);
  }

  /** Listens on `port` (0: any free one) on 127.0.0.1, or `host`. */
  override async start(port = 0, host = '127.0.0.1'): Promise<this> {
    this.host = host;
    await new Promise<void>((done, fail) => {
      this.server.server.once('error', fail);
      this.server.listen(port, host, () => done());
    });
    const address = this.server.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    if (this.modeNow === 'closed') await this.closeListener();
    return this;
  }

  async stop(): Promise<void> {
    for (const connection of this.server.connections) connection._socket.destroy();
    if (!this.server.server.listening) return;
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  get mode(): RelayMode {
    return this.modeNow;
  }

  /** `closed` stops listening (ECONNREFUSED); leaving it listens on the same port again. */
  async setMode(mode: RelayMode): Promise<void> {
    const was = this.modeNow;
    this.modeNow = mode;
    if (mode === 'closed' && was !== 'closed') await this.closeListener();
    if (mode !== 'closed' && was === 'closed') {
      await new Promise<void>((done, fail) => {
        this.server.server.once('error', fail);
        this.server.server.listen(this.port, this.host, () => done());
      });
    }
  }

  /** A domain's limit in messages per second; null: back to the default limit. */
  setLimit(domain: string, perSecond: number | null): void {
    if (perSecond === null) this.limits.delete(domain.toLowerCase());
    else this.limits.set(domain.toLowerCase(), perSecond);
  }

  setDefaultLimit(perSecond: number | null): void {
    this.defaultLimit = perSecond ?? Infinity;
  }

  /** Seconds a refusal states (and holds the domain refused); null: plain `Try again later`. */
  setStatedPause(seconds: number | null): void {
    this.statedPauseSeconds = seconds;
  }

  limitOf(domain: string): number {
    return this.limits.get(domain.toLowerCase()) ?? this.defaultLimit;
  }

  stats(): Record<string, DomainStats> {
    const result: Record<string, DomainStats> = {};
    for (const [domain, state] of this.domains) {
      const limit = this.limitOf(domain);
      result[domain] = {
        limit: Number.isFinite(limit) ? limit : null,
        accepted: state.accepted,
        refused: state.refused,
        series: [...state.series.values()].sort((a, b) => a.second - b.second),
      };
    }
    return result;
  }

  /** One domain's counts in each second from `from` to `to` (inclusive), zeros included. */
  seconds(domain: string, from: number, to: number): SecondCounts[] {
    const series = this.domains.get(domain.toLowerCase())?.series;
    const out: SecondCounts[] = [];
    for (let second = from; second <= to; second += 1)
      out.push(series?.get(second) ?? { second, accepted: 0, refused: 0 });
    return out;
  }

  reset(): void {
    this.domains.clear();
    this.messages.length = 0;
  }

  private admit(address: string, session: SMTPServerSession): Error | undefined {
    const domain = domainOf(address);
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const state = this.state(domain);
    if (this.modeNow !== 'throttle') return this.refuse(state, second, refusal(TRY_AGAIN_LATER));
    if (state.pausedUntil > now)
      return this.refuse(state, second, refusal(this.pauseText(Math.ceil((state.pausedUntil - now) / 1000))));
    if (state.window !== second) {
      state.window = second;
      state.admitted = 0;
    }
    if (state.admitted >= this.limitOf(domain)) {
      if (this.statedPauseSeconds === null) return this.refuse(state, second, refusal(TRY_AGAIN_LATER));
      state.pausedUntil = now + this.statedPauseSeconds * 1000;
      return this.refuse(state, second, refusal(this.pauseText(this.statedPauseSeconds)));
    }
    state.admitted += 1;
    admittedSeconds(session).set(address, second);
    return undefined;
  }

  private pauseText(seconds: number): string {
    return `4.7.0 Too many messages, try again in ${seconds} seconds`;
  }

  private refuse(state: DomainState, second: number, error: Error): Error {
    state.refused += 1;
    this.bucket(state, second).refused += 1;
    return error;
  }

  private count(domain: string, second: number, what: 'accepted'): void {
    const state = this.state(domain);
    state[what] += 1;
    this.bucket(state, second)[what] += 1;
  }

  private state(domain: string): DomainState {
    let state = this.domains.get(domain);
    if (!state) {
      state = { accepted: 0, refused: 0, window: 0, admitted: 0, pausedUntil: 0, series: new Map() };
      this.domains.set(domain, state);
    }
    return state;
  }

  private bucket(state: DomainState, second: number): SecondCounts {
    let counts = state.series.get(second);
    if (!counts) {
      counts = { second, accepted: 0, refused: 0 };
      state.series.set(second, counts);
      // Map keeps insertion order, which is time order here: drop from the front.
      for (const old of state.series.keys()) {
        if (old > second - this.seriesSeconds) break;
        state.series.delete(old);
      }
    }
    return counts;
  }

  private async closeListener(): Promise<void> {
    for (const connection of this.server.connections) connection._socket.destroy();
    await new Promise<void>((done) => this.server.server.close(() => done()));
  }
}

/** The second each recipient of a session was admitted in, kept on the session object itself. */
const ADMITTED = new WeakMap<SMTPServerSession, Map<string, number>>();
function admittedSeconds(session: SMTPServerSession): Map<string, number> {
  let map = ADMITTED.get(session);
  if (!map) {
    map = new Map();
    ADMITTED.set(session, map);
  }
  return map;
}
function admittedIn(session: SMTPServerSession, address: string): number {
  return ADMITTED.get(session)?.get(address) ?? Math.floor(Date.now() / 1000);
}

// Run as its own process: `node --import tsx tests/support/throttling-relay.ts [--port ...]`.
const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename;
if (isMain) {
  // Not awaited at the top level: the CLI imports this module, which must finish loading first.
  import('./throttling-relay-cli.ts')
    .then(({ runRelayProcess }) => runRelayProcess(process.argv.slice(2), process.env))
    .catch((error: unknown) => {
      process.stderr.write(`throttling relay: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    });
}
