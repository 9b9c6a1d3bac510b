import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface ReceivedMessage {
  from: string;
  to: string[];
  raw: string;
  /** When the message arrived (ms since the epoch). */
  at: number;
}

/** A plain local server: no TLS, no login, messages up to 10 MB; each sink adds its handlers. */
export const SINK_SERVER_OPTIONS = {
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  size: 10 * 1024 * 1024,
};

/** An smtp-server on a free loopback port: what the test sinks (this one and tests/faults') share. */
export abstract class ListeningSink {
  port = 0;
  protected abstract readonly server: SMTPServer;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }
}

/** An SMTP reply the sink gives instead of accepting: e.g. `{ code: 550, message: 'No such user' }`. */
export interface Refusal {
  code: number;
  message: string;
}

export interface SinkPolicy {
  /** Called for each RCPT TO; return a refusal to reject that recipient. */
  rcpt?: (address: string) => Refusal | null;
  /** Called at the end of DATA; return a refusal to reject the message. */
  data?: (message: ReceivedMessage) => Refusal | null;
}

/** A real SMTP server in the test process that records every message it accepts. */
export class SmtpSink extends ListeningSink {
  readonly messages: ReceivedMessage[] = [];
  policy: SinkPolicy = {};
  protected readonly server: SMTPServer;

  constructor() {
    super();
    this.server = new SMTPServer({
      ...SINK_SERVER_OPTIONS,
      onRcptTo: (address: SMTPServerAddress, _session, callback) => {
        const refusal = this.policy.rcpt?.(address.address) ?? null;
        callback(refusal ? Object.assign(new Error(refusal.message), { responseCode: refusal.code }) : undefined);
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const message: ReceivedMessage = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw: Buffer.concat(chunks).toString('utf8'),
            at: Date.now(),
          };
          const refusal = this.policy.data?.(message) ?? null;
          if (refusal) return callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
          this.messages.push(message);
          callback(null, `Ok: queued as SINK${this.messages.length}`);
        });
      },
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  to(address: string): ReceivedMessage[] {
    return this.messages.filter((message) => message.to.includes(address));
  }

  countsByRecipient(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const message of this.messages) for (const to of message.to) counts.set(to, (counts.get(to) ?? 0) + 1);
    return counts;
  }

  async parsed(message: ReceivedMessage): Promise<ParsedMail> {
    return simpleParser(message.raw);
  }
}
