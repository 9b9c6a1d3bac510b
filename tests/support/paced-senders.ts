/**
 * Simulated delivery workers for the pacer's tests: each has its own Redis connection, its own
 * DestinationPacer and its own pooled nodemailer transport (configured like smtpSender in src/delivery/transports.ts), and runs a
 * few async loops that pick a destination, acquire, send one message over SMTP and report the
 * outcome. A destination the pacer says to wait for is put aside (per worker, as a worker process
 * would) and the loop takes another, so a strict destination never holds up the others.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import { Redis } from 'ioredis';
import { destinationOf } from '../../src/delivery/pacing/destinations.ts';
import { DestinationPacer, type PacerDependencies } from '../../src/delivery/pacing/pacer.ts';
import { failureFactsOf, throttleSignalOf } from '../../src/delivery/pacing/throttle-signals.ts';

const RAW = Buffer.from(
  "From: digest@example.test\r\nTo: reader\r\nSubject: The evening digest\r\n\r\nToday's stories.\r\n",
);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export interface SenderCounts {
  sent: number;
  throttled: number;
  otherFailures: number;
  /** Acquires the pacer refused (the loop put the destination aside). */
  waits: number;
}

export interface PacedSendersOptions {
  redisUrl: string;
  keys: PacerDependencies['keys'];
  settings?: PacerDependencies['settings'];
  relayUrl: string;
  /** Recipient domains, sent to round-robin (each with a supply of recipients that never runs out). */
  domains: string[];
  workers: number;
  loopsPerWorker: number;
  transport?: string;
  /**
   * nodemailer's pool silently re-sends a message whose reused connection got a 421 before the
   * message went out (up to 5 times by default, 50 ms to 800 ms apart), without the pacer and
   * without telling the caller: measured, that multiplied the relay's refusals ~5x and hid most
   * throttle signals. 0 (the default here) hands every 421 to the caller.
   */
  maxRequeues?: number;
}

export class PacedSenders {
  readonly counts = new Map<string, SenderCounts>();
  private stopAt = 0;
  private sequence = 0;
  private readonly workers: Array<{
    redis: Redis;
    pacer: DestinationPacer;
    mail: Transporter;
    notBefore: Map<string, number>;
  }> = [];

  constructor(private readonly options: PacedSendersOptions) {
    for (let index = 0; index < options.workers; index += 1) {
      const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
      const mail = nodemailer.createTransport({
        url: options.relayUrl,
        pool: true,
        maxConnections: options.loopsPerWorker,
        maxMessages: 1000,
        maxRequeues: options.maxRequeues ?? 0,
      });
      this.workers.push({
        redis,
        pacer: new DestinationPacer({ redis, keys: options.keys, settings: options.settings }),
        mail,
        notBefore: new Map(),
      });
    }
    for (const domain of options.domains)
      this.counts.set(domain, { sent: 0, throttled: 0, otherFailures: 0, waits: 0 });
  }

  /** The first worker's pacer (they all share the same state through Redis). */
  get pacer(): DestinationPacer {
    const first = this.workers[0];
    if (!first) throw new Error('no workers');
    return first.pacer;
  }

  /** Sends until `durationMs` has passed. */
  async run(durationMs: number): Promise<void> {
    this.stopAt = Date.now() + durationMs;
    await Promise.all(
      this.workers.flatMap((worker, w) =>
        Array.from({ length: this.options.loopsPerWorker }, (_, l) => this.loop(worker, w * 7 + l)),
      ),
    );
  }

  async close(): Promise<void> {
    for (const worker of this.workers) {
      worker.mail.close();
      worker.redis.disconnect();
    }
  }

  private async loop(worker: (typeof this.workers)[number], offset: number): Promise<void> {
    const transport = this.options.transport ?? 'relay';
    const { domains } = this.options;
    let turn = offset;
    while (Date.now() < this.stopAt) {
      const now = Date.now();
      let domain: string | undefined;
      for (let tried = 0; tried < domains.length && domain === undefined; tried += 1) {
        const candidate = domains[(turn + tried) % domains.length] as string;
        if ((worker.notBefore.get(candidate) ?? 0) <= now) domain = candidate;
      }
      turn += 1;
      if (domain === undefined) {
        const soonest = Math.min(...domains.map((name) => worker.notBefore.get(name) ?? 0));
        await sleep(Math.max(1, Math.min(50, soonest - now)));
        continue;
      }
      const counts = this.counts.get(domain) as SenderCounts;
      const to = `r${(this.sequence += 1)}@${domain}`;
      const destination = destinationOf(to);
      const acquired = await worker.pacer.acquire(transport, destination);
      if (!acquired.ok) {
        counts.waits += 1;
        worker.notBefore.set(domain, Date.now() + acquired.waitMs);
        continue;
      }
      try {
        await worker.mail.sendMail({ envelope: { from: 'digest@example.test', to: [to] }, raw: RAW });
        counts.sent += 1;
        await worker.pacer.succeeded(transport, destination);
      } catch (error) {
        const signal = throttleSignalOf(failureFactsOf(error));
        if (signal.throttle) {
          counts.throttled += 1;
          await worker.pacer.throttled(transport, destination, signal.pauseMs);
        } else counts.otherFailures += 1;
      }
    }
  }
}
