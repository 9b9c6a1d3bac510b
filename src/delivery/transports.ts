import nodemailer from 'nodemailer';
import type { Redis } from 'ioredis';
import type { DkimKey } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import type { RedisKeys } from '../platform/redis-keys.ts';
import { LuaScript } from '../platform/redis.ts';
import type { Slots } from './concurrency.ts';
import { DKIM_SIGNED_HEADERS, type Envelope, type MailSender, type SendResult } from './mail-sender.ts';
import { troubleOf } from './send-outcome.ts';
import type { TransportSpec } from './transport-list.ts';

const UNREACHABLE = LuaScript.fromFile(new URL('./scripts/transport-unreachable.lua', import.meta.url));

/** One relay as the send path uses it: its sender, share, own rate, and this process's connections to it. */
export interface Transport {
  name: string;
  sender: MailSender;
  weight: number;
  /** Messages per second through it across all workers; 0: no limit of its own. */
  ratePerSecond: number;
  /** SMTP connections of this process (its pool). */
  poolSize: number;
  /** Sends in flight at once from this process: one per connection, so nothing queues inside nodemailer. */
  connections: Slots;
}

export interface TransportHealth {
  name: string;
  inRotation: boolean;
  /** When it is probed again, while out of rotation. */
  outUntil: Date | null;
  /** Outages in a row (0 when it works). */
  outages: number;
}

export interface TransportSettings {
  /** How long a transport that could not be reached stays out of rotation (DELIVERY_PAUSE_MS); doubles per outage in a row. */
  firstPauseMs: number;
  longestPauseMs: number;
}

/** How long each process trusts what it last read of the transports' health. */
const HEALTH_TTL_MS = 500;
/** A transport whose connections close this many times in a row before a message could go is treated as unreachable. */
const CLOSED_IN_A_ROW = 20;

/** A pooled nodemailer SMTP transport for one relay; messages arrive composed, so it only streams bytes. */
export function smtpSender(spec: TransportSpec, settings: { timeoutMs: number; dkim: DkimKey | null }): MailSender {
  const transport = nodemailer.createTransport({
    url: spec.url,
    pool: true,
    maxConnections: spec.poolSize,
    maxMessages: 1000,
    // nodemailer's pool would otherwise send a message again by itself (up to 5 times) when its
    // connection was closed under it, e.g. by a relay's 421: unpaced, and hiding the throttle signal.
    maxRequeues: 0,
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
    ...(settings.dkim ? { dkim: { ...settings.dkim, headerFieldNames: DKIM_SIGNED_HEADERS } } : {}),
  });
  return {
    async send(envelope: Envelope, raw: Buffer, messageId?: string): Promise<SendResult> {
      // Given its Message-ID, nodemailer reports that one (and does not make up a random one per message).
      const info = await transport.sendMail({
        envelope: { from: envelope.from, to: [envelope.to] },
        raw,
        ...(messageId ? { messageId } : {}),
      });
      return { reply: String(info.response) };
    },
    async close() {
      transport.close();
    },
  };
}

/**
 * The relays mail goes through (SMTP_URLS), shared by every worker through Redis: a transport that
 * cannot be reached leaves the rotation for a while (every process sees it), is probed by its next
 * send once the pause is over, and is back as soon as that works. Recipients are spread over the
 * transports in rotation by weight.
 */
export class Transports implements MailSender {
  private health = new Map<string, { outUntil: number; outages: number }>();
  private readonly closedInARow = new Map<string, number>();
  private healthReadAt = 0;

  constructor(
    private readonly deps: {
      redis: Redis;
      keys: Pick<RedisKeys, 'transportHealth'>;
      transports: Transport[];
      settings: TransportSettings;
      logger: Logger;
    },
  ) {
    if (deps.transports.length === 0) throw new Error('Transports needs at least one transport');
  }

  get all(): readonly Transport[] {
    return this.deps.transports;
  }

  /**
   * The transports in rotation, in the order to try them (by weight, at random), or how long until
   * the first one out of rotation is probed when none is in.
   */
  async inRotation(): Promise<{ transports: Transport[]; waitMs: number }> {
    const health = await this.readHealth();
    const now = Date.now();
    const open = this.deps.transports.filter((transport) => (health.get(transport.name)?.outUntil ?? 0) <= now);
    if (open.length > 0) return { transports: weightedOrder(open), waitMs: 0 };
    const soonest = Math.min(...this.deps.transports.map((transport) => health.get(transport.name)?.outUntil ?? now));
    return { transports: [], waitMs: Math.max(1, soonest - now) };
  }

  /**
   * A send through `transport` did not reach it: out of rotation when it could not be reached, or
   * when its connections keep closing before messages go out (each such close alone is the relay
   * hanging up after a refusal, and costs nothing).
   */
  async notReached(transport: Transport, trouble: { kind: 'unreachable' | 'unsent'; reply: string }): Promise<void> {
    if (trouble.kind === 'unsent') {
      const closed = (this.closedInARow.get(transport.name) ?? 0) + 1;
      this.closedInARow.set(transport.name, closed);
      if (closed < CLOSED_IN_A_ROW) return;
    }
    this.closedInARow.delete(transport.name);
    await this.unreachable(transport, trouble.reply);
  }

  private async unreachable(transport: Transport, reply: string): Promise<void> {
    const { firstPauseMs, longestPauseMs } = this.deps.settings;
    const [outUntil, outages, started] = (await UNREACHABLE.run(
      this.deps.redis,
      [this.deps.keys.transportHealth(transport.name)],
      [Date.now(), firstPauseMs, longestPauseMs],
    )) as [number, number, number];
    this.health.set(transport.name, { outUntil, outages });
    if (started === 1)
      this.deps.logger.warn(
        { transport: transport.name, outages, probeAt: new Date(outUntil).toISOString(), reply },
        'transport out of rotation',
      );
  }

  /** A send through `transport` went out: ends an outage it was in (the probe worked). */
  async reached(transport: Transport): Promise<void> {
    this.closedInARow.delete(transport.name);
    if ((this.health.get(transport.name)?.outages ?? 0) === 0) return;
    this.health.set(transport.name, { outUntil: 0, outages: 0 });
    if ((await this.deps.redis.del(this.deps.keys.transportHealth(transport.name))) === 1) {
      this.deps.logger.info({ transport: transport.name }, 'transport back in rotation');
    }
  }

  async status(): Promise<TransportHealth[]> {
    this.healthReadAt = 0;
    const health = await this.readHealth();
    const now = Date.now();
    return this.deps.transports.map((transport) => {
      const state = health.get(transport.name);
      const out = (state?.outUntil ?? 0) > now;
      return {
        name: transport.name,
        inRotation: !out,
        outUntil: out && state ? new Date(state.outUntil) : null,
        outages: state?.outages ?? 0,
      };
    });
  }

  /**
   * One message through the first transport in rotation that takes it (confirmations, alerts, test
   * sends: no pacing, as they are few). Throws what the last one tried threw.
   */
  async send(envelope: Envelope, raw: Buffer, messageId?: string): Promise<SendResult> {
    const { transports, waitMs } = await this.inRotation();
    if (transports.length === 0)
      throw Object.assign(
        new Error(`no SMTP transport in rotation; the next is probed in ${Math.ceil(waitMs / 1000)} s`),
        { code: 'ECONNREFUSED' },
      );
    let lastError: unknown;
    for (const transport of transports) {
      const release = await transport.connections.acquire();
      try {
        const result = await transport.sender.send(envelope, raw, messageId);
        await this.reached(transport);
        return result;
      } catch (error) {
        lastError = error;
        const trouble = troubleOf(error);
        if (trouble.kind !== 'unreachable') throw error;
        await this.notReached(transport, trouble);
      } finally {
        release();
      }
    }
    throw lastError;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.deps.transports.map((transport) => transport.sender.close()));
  }

  private async readHealth(): Promise<Map<string, { outUntil: number; outages: number }>> {
    if (Date.now() - this.healthReadAt < HEALTH_TTL_MS) return this.health;
    const pipeline = this.deps.redis.pipeline();
    for (const transport of this.deps.transports)
      pipeline.hmget(this.deps.keys.transportHealth(transport.name), 'out-until', 'failures');
    const replies = (await pipeline.exec()) ?? [];
    const health = new Map<string, { outUntil: number; outages: number }>();
    this.deps.transports.forEach((transport, index) => {
      const [outUntil, failures] = (replies[index]?.[1] ?? []) as Array<string | null>;
      if (outUntil) health.set(transport.name, { outUntil: Number(outUntil), outages: Number(failures ?? 0) });
    });
    this.health = health;
    this.healthReadAt = Date.now();
    return health;
  }
}

/** The transports in a random order where each comes first in proportion to its weight. */
function weightedOrder(transports: Transport[]): Transport[] {
  if (transports.length === 1) return transports;
  return transports
    .map((transport) => ({ transport, key: Math.random() ** (1 / transport.weight) }))
    .sort((a, b) => b.key - a.key)
    .map((entry) => entry.transport);
}
