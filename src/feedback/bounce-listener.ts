import type { Readable } from 'node:stream';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { FEEDBACK_JOB_OPTIONS } from '../delivery/queues.ts';
import type { BounceAddresses, Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import { inboundMail } from '../platform/metrics.ts';
import { listening } from '../platform/startup.ts';
import { type FeedbackJob, feedbackJob } from './feedback-loop.ts';
import { readInboundMail } from './inbound-mail.ts';

/**
 * A DSN returns the whole message it bounces (an edition is ~150 KB) and an ARF report often does
 * too; 2 MiB leaves room for both and keeps a hostile sender from filling memory.
 */
export const INBOUND_MAX_BYTES = 2 * 1024 * 1024;
/** A report goes to one address; a message to more is not one of ours. */
const MAX_RECIPIENTS = 10;

export interface BounceListenerDeps {
  bounce: BounceAddresses;
  /** The secret VERP tokens are signed with (APP_SECRET). */
  secret: string;
  /** Hands reports to the workers (the transactional queue); if it throws, the sending MTA is told to try again later. */
  enqueue(job: FeedbackJob): Promise<void>;
  logger: Logger;
  maxBytes?: number;
}

/** An SMTP reply for the sending server. */
function reply(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/**
 * The inbound SMTP server for BOUNCE_ADDRESS's domain (BOUNCE_SMTP_PORT): the MX of that domain, or
 * the next hop of an MTA that receives for it. It takes mail for that domain only (any other RCPT is
 * refused: it relays nothing), reads each message with readInboundMail — DSNs and ARF reports to the
 * VERP return paths or the plain bounce address, requests to the List-Unsubscribe address — and
 * queues the reports before it answers 250, so an accepted report is never lost. Other mail to the
 * domain is accepted and dropped (logged): refusing it after DATA would only make the sending server
 * write a bounce of its own. No TLS and no AUTH here: put an MTA in front for those (README).
 */
export class BounceListener {
  private readonly server: SMTPServer;
  private readonly maxBytes: number;

  constructor(private readonly deps: BounceListenerDeps) {
    this.maxBytes = deps.maxBytes ?? INBOUND_MAX_BYTES;
    this.server = new SMTPServer({
      name: deps.bounce.domain,
      banner: 'Evening Digest feedback listener',
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      disableReverseLookup: true,
      size: this.maxBytes,
      maxClients: 100,
      // Within the process's shutdown allowance: a sender still connected then is cut off and retries later.
      closeTimeout: 10_000,
      logger: false,
      onMailFrom: (address, _session, callback) => callback(this.checkSize(address)),
      onRcptTo: (address, session, callback) => callback(this.checkRecipient(address, session)),
      onData: (stream, session, callback) =>
        void this.receive(stream, session).then(
          () => callback(null, 'Ok: report taken'),
          (error: Error) => callback(error),
        ),
    });
    this.server.on('error', (error) => deps.logger.warn({ err: error.message }, 'bounce listener connection error'));
  }

  /** Listens; answers the port (port 0 picks a free one). */
  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    this.deps.logger.info({ port: bound, host, domain: this.deps.bounce.domain }, 'bounce listener started');
    return bound;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A sender that announces a message over the limit (SIZE=) is refused before it sends it. */
  private checkSize(address: SMTPServerAddress): Error | undefined {
    const declared = address.args ? Number(address.args.SIZE ?? 0) : 0;
    return declared > this.maxBytes ? reply(552, `5.3.4 Message too big: at most ${this.maxBytes} bytes`) : undefined;
  }

  private checkRecipient(address: SMTPServerAddress, session: SMTPServerSession): Error | undefined {
    const domain = address.address.slice(address.address.lastIndexOf('@') + 1).toLowerCase();
    if (domain !== this.deps.bounce.domain)
      return reply(550, `5.7.1 Relaying denied: this server takes mail for ${this.deps.bounce.domain} only`);
    if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) return reply(452, '4.5.3 Too many recipients');
    return undefined;
  }

  private async receive(stream: Readable & { sizeExceeded?: boolean }, session: SMTPServerSession): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= this.maxBytes) chunks.push(chunk);
    }
    if (stream.sizeExceeded || size > this.maxBytes)
      throw reply(552, `5.3.4 Message too big: at most ${this.maxBytes} bytes`);
    const raw = Buffer.concat(chunks);
    for (const recipient of session.envelope.rcptTo) await this.read(raw, recipient.address, session);
  }

  private async read(raw: Buffer, envelopeTo: string, session: SMTPServerSession): Promise<void> {
    const { bounce, secret } = this.deps;
    const found = readInboundMail(raw, envelopeTo, {
      secret,
      bounceAddress: bounce.address,
      unsubscribeAddress: bounce.unsubscribeAddress,
      receivedAt: new Date(),
    });
    const kind = found.events[0]?.source ?? 'none';
    inboundMail.inc({ kind, verified: String(found.recipient !== null) });
    const log = {
      kind,
      reports: found.events.length,
      verified: found.recipient !== null,
      remote: session.remoteAddress,
      bytes: raw.length,
    };
    if (found.events.length === 0) {
      this.deps.logger.info(log, 'mail to the bounce domain with nothing to apply: accepted and dropped');
      return;
    }
    try {
      await this.deps.enqueue(feedbackJob(found.events, { by: 'token', claims: found.recipient }));
    } catch (error) {
      this.deps.logger.warn(
        { ...log, err: error instanceof Error ? error.message : String(error) },
        'could not queue a report; the sender will try again',
      );
      throw reply(451, '4.3.0 Temporary failure, please try again later');
    }
    this.deps.logger.info(log, 'report taken');
  }
}

/** What starting the listener needs of a process: its settings, the queue it hands reports to, its logger. */
export interface ListenerHost {
  config: Pick<Config, 'bounce' | 'BOUNCE_SMTP_PORT' | 'BOUNCE_SMTP_HOST' | 'APP_SECRET'>;
  transactionalQueue: {
    add(name: 'feedback', data: FeedbackJob, options: typeof FEEDBACK_JOB_OPTIONS): Promise<unknown>;
  };
  logger: Logger;
}

/**
 * The listener on BOUNCE_SMTP_HOST:BOUNCE_SMTP_PORT; null when BOUNCE_SMTP_PORT is not set (the config
 * check ties it to BOUNCE_ADDRESS). A port in use fails the process's start, naming the setting.
 */
export async function startBounceListener(host: ListenerHost): Promise<BounceListener | null> {
  const { config } = host;
  if (!config.bounce || config.BOUNCE_SMTP_PORT === undefined) return null;
  const listener = new BounceListener({
    bounce: config.bounce,
    secret: config.APP_SECRET,
    enqueue: async (job) => void (await host.transactionalQueue.add('feedback', job, FEEDBACK_JOB_OPTIONS)),
    logger: host.logger.child({ component: 'bounce-listener' }),
  });
  const settings = {
    port: { name: 'BOUNCE_SMTP_PORT', value: config.BOUNCE_SMTP_PORT },
    host: { name: 'BOUNCE_SMTP_HOST', value: config.BOUNCE_SMTP_HOST },
  };
  await listening(settings, () => listener.listen(settings.port.value, settings.host.value));
  return listener;
}
