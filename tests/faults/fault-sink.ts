import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { ListeningSink, type Refusal, SINK_SERVER_OPTIONS } from '../support/smtp-sink.ts';

/** A message the sink accepted with a 250: delivered, as far as the sending side can ever know. */
export interface AcceptedMessage {
  from: string;
  to: string[];
  raw: string;
  /** The X-Edition header, if it is an edition email. */
  edition: string | null;
  at: number;
  /** The connection it came on (smtp-server's session id), and when that was opened. */
  connection: string;
  connectedAt: number;
}

/**
 * What to do with a recipient or a message: accept (null), refuse with a reply, drop the connection
 * without an answer, or (for DATA) never answer at all.
 */
export type Verdict = Refusal | 'drop' | 'stall' | null;

export interface FaultPolicy {
  /** RCPT TO; `attempt` counts this address's RCPTs so far, from 1. */
  rcpt?: (address: string, attempt: number) => Verdict;
  /** End of DATA; `attempt` counts DATA ends for this message's first recipient, from 1. May wait. */
  data?: (
    message: Omit<AcceptedMessage, 'at' | 'connection' | 'connectedAt'>,
    attempt: number,
  ) => Verdict | Promise<Verdict>;
  /** Called right after a 250 for a message was written. */
  accepted?: (message: AcceptedMessage) => void;
}

export interface Attempt {
  phase: 'rcpt' | 'data';
  address: string;
  at: number;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * A real SMTP server for fault tests: it can delay every message (so that batches are in flight
 * long enough to be interrupted), refuse, drop connections or stall, and it records every attempt
 * as well as every accepted message. Only accepted (250) edition messages count as copies.
 */
export class FaultSink extends ListeningSink {
  readonly accepted: AcceptedMessage[] = [];
  readonly attempts: Attempt[] = [];
  readonly errors: Error[] = [];
  policy: FaultPolicy = {};
  /** Messages whose DATA has ended and that wait for their answer (not counting stalled ones). */
  answering = 0;
  /** How long each message waits before its answer. */
  delayMs = 0;
  protected readonly server: SMTPServer;
  private readonly rcptCounts = new Map<string, number>();
  private readonly dataCounts = new Map<string, number>();
  private readonly stalled = new Set<string>();
  private readonly connectedAt = new Map<string, number>();

  constructor() {
    super();
    this.server = new SMTPServer({
      ...SINK_SERVER_OPTIONS,
      // A refusing server still answers quickly; nodemailer retries, not we.
      onConnect: (session, callback) => {
        this.connectedAt.set(session.id, Date.now());
        callback();
      },
      onClose: (session) => this.connectedAt.delete(session.id),
      onRcptTo: (address: SMTPServerAddress, session, callback) => {
        const attempt = (this.rcptCounts.get(address.address) ?? 0) + 1;
        this.rcptCounts.set(address.address, attempt);
        this.attempts.push({ phase: 'rcpt', address: address.address, at: Date.now() });
        const verdict = this.policy.rcpt?.(address.address, attempt) ?? null;
        if (verdict === 'drop') return this.drop(session);
        if (verdict === 'stall') return this.stall(session);
        callback(verdict ? refusalError(verdict) : undefined);
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const message = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw,
            edition: /^X-Edition: *(.+?)\r?$/m.exec(raw)?.[1]?.trim() ?? null,
          };
          const first = message.to[0] ?? '';
          const attempt = (this.dataCounts.get(first) ?? 0) + 1;
          this.dataCounts.set(first, attempt);
          this.attempts.push({ phase: 'data', address: first, at: Date.now() });
          this.answering += 1;
          void (async () => {
            if (this.delayMs > 0) await sleep(this.delayMs);
            const verdict = (await this.policy.data?.(message, attempt)) ?? null;
            this.answering -= 1;
            if (verdict === 'drop') return this.drop(session);
            if (verdict === 'stall') return this.stall(session);
            if (verdict) return callback(refusalError(verdict));
            const accepted: AcceptedMessage = {
              ...message,
              at: Date.now(),
              connection: session.id,
              connectedAt: this.connectedAt.get(session.id) ?? Number.NaN,
            };
            this.accepted.push(accepted);
            callback(null, `Ok: queued as FAULT${this.accepted.length}`);
            this.policy.accepted?.(accepted);
          })();
        });
      },
    });
    // Connections reset by a killed sender are part of the scenarios, not failures of the sink.
    this.server.on('error', (error) => this.errors.push(error));
  }

  /** Closes every connection at once (no 30 s grace) and the listener. */
  async stop(): Promise<void> {
    for (const connection of this.server.connections) connection._socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Ends the connections whose answer was withheld ('stall'); their messages were never accepted. */
  releaseStalled(): void {
    for (const connection of this.server.connections) if (this.stalled.has(connection.id)) connection._socket.destroy();
    this.stalled.clear();
  }

  /** Accepted copies of edition emails (any edition, or `edition`) per recipient address. */
  copies(edition?: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const message of this.accepted) {
      if (message.edition === null || (edition !== undefined && message.edition !== edition)) continue;
      for (const to of message.to) counts.set(to, (counts.get(to) ?? 0) + 1);
    }
    return counts;
  }

  /** Edition emails accepted so far. */
  get editionCount(): number {
    return this.accepted.filter((message) => message.edition !== null).length;
  }

  attemptsOf(address: string, phase: Attempt['phase']): number {
    return this.attempts.filter((attempt) => attempt.address === address && attempt.phase === phase).length;
  }

  private drop(session: SMTPServerSession): void {
    for (const connection of this.server.connections) if (connection.id === session.id) connection._socket.destroy();
  }

  private stall(session: SMTPServerSession): void {
    this.stalled.add(session.id);
  }
}

function refusalError(refusal: Refusal): Error {
  return Object.assign(new Error(refusal.message), { responseCode: refusal.code });
}
