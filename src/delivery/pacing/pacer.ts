import type { Redis } from 'ioredis';
import type { RedisKeys } from '../../platform/redis-keys.ts';
import { checkPacerSettings, DEFAULT_PACER_SETTINGS, type PacerSettings } from './pacer-settings.ts';
import { ACQUIRE, JOINED, SUCCEEDED, THROTTLED } from './scripts.ts';

export { parseDestinationLimits } from './destination-limits.ts';
export { DEFAULT_PACER_SETTINGS, type PacerSettings } from './pacer-settings.ts';

/**
 * Where the pacer keeps its state (from the one registry of Redis keys): the hash of one (transport,
 * destination) pace, and the sorted set of paces used recently, which `snapshot()` reads (Redis is
 * never scanned).
 */
export type PacingKeys = Pick<RedisKeys, 'pace' | 'paceIndex'>;

export interface PacerDependencies {
  redis: Redis;
  keys: PacingKeys;
  /** Anything not given is DEFAULT_PACER_SETTINGS. */
  settings?: Partial<PacerSettings>;
}

/** `rate`: the pace's messages per second, when a message may not go now. */
export type Acquired = { ok: true } | { ok: false; waitMs: number; rate: number };

export interface ThrottleOutcome {
  /** False when another report of the same burst had already lowered the rate. */
  decreased: boolean;
  rate: number;
  pausedUntil: Date | null;
}

export interface PaceSnapshot {
  transport: string;
  destination: string;
  /** Messages per second allowed now. */
  rate: number;
  ceiling: number;
  /** The first throttle signal of the current episode; null when none came within `throttledRecentlyMs`. */
  throttledSince: Date | null;
  pausedUntil: Date | null;
  /** Decreases since the pace was created. */
  decreases: number;
}

/**
 * Paces sending per (transport, destination), shared by every worker on every machine through
 * Redis: GCRA at a rate that grows while sends succeed and shrinks on throttling signals (like
 * Postfix's per-destination feedback, in messages per second). Every call is one atomic Lua step;
 * the pacer never sleeps: `acquire` says when to come back, and the caller decides whether to wait
 * or to put the recipient aside. `destination` is `destinationOf(address)`; `transport` names the
 * relay (paces of different relays are independent).
 */
export class DestinationPacer {
  readonly settings: PacerSettings;
  private readonly redis: Redis;
  private readonly keys: PacingKeys;

  constructor({ redis, keys, settings }: PacerDependencies) {
    this.redis = redis;
    this.keys = keys;
    this.settings = checkPacerSettings({ ...DEFAULT_PACER_SETTINGS, ...settings });
  }

  ceilingOf(destination: string): number {
    return this.settings.ceilings.get(destination) ?? this.settings.defaultCeiling;
  }

  /** May one message go now? Counts it when it may. */
  async acquire(transport: string, destination: string): Promise<Acquired> {
    const { startRate, toleranceMs, idleTtlMs } = this.settings;
    const reply = (await ACQUIRE.run(
      this.redis,
      [this.keys.pace(transport, destination), this.keys.paceIndex()],
      [this.ceilingOf(destination), startRate, toleranceMs, idleTtlMs, member(transport, destination)],
    )) as [number, number, string?];
    return reply[0] === 1 ? { ok: true } : { ok: false, waitMs: reply[1], rate: Number(reply[2]) };
  }

  /** A message was accepted: counted, and the rate may grow. Resolves with the rate now. */
  async succeeded(transport: string, destination: string): Promise<number> {
    const { startRate, increaseStep, slowStartFactor, holdMs, idleTtlMs } = this.settings;
    const rate = await SUCCEEDED.run(
      this.redis,
      [this.keys.pace(transport, destination), this.keys.paceIndex()],
      [
        this.ceilingOf(destination),
        startRate,
        increaseStep,
        slowStartFactor,
        holdMs,
        idleTtlMs,
        member(transport, destination),
      ],
    );
    return Number(rate);
  }

  /**
   * A throttling signal (see `throttleSignalOf`), with the pause the reply stated, if any.
   * `startRate`: what the caller saw the destination take unpaced in the last second (given once per
   * caller, with its first signal): a new pace starts from it rather than the settings' startRate,
   * and the reports of other workers in its first moments add theirs.
   */
  async throttled(
    transport: string,
    destination: string,
    statedPauseMs: number | null,
    startRate?: number,
  ): Promise<ThrottleOutcome> {
    const pauseMs = statedPauseMs === null ? 0 : Math.min(Math.max(0, statedPauseMs), this.settings.maxPauseMs);
    return this.signal(transport, destination, { pauseMs, startRate: startRate ?? 0, inferred: false });
  }

  /**
   * This caller sent `destination` unpaced, at `seenRate` messages per second, until it learnt that
   * another caller started a pace for it: a pace in its first moments adds that (see throttled()).
   * Resolves with the rate now, or null when there is no pace.
   */
  async joined(transport: string, destination: string, seenRate: number): Promise<number | null> {
    const { decreaseFactor, coalesceMs, idleTtlMs } = this.settings;
    const rate = await JOINED.run(
      this.redis,
      [this.keys.pace(transport, destination), this.keys.paceIndex()],
      [this.ceilingOf(destination), decreaseFactor, coalesceMs, seenRate, idleTtlMs, member(transport, destination)],
    );
    return rate === '' ? null : Number(rate);
  }

  /**
   * A throttling signal inferred rather than stated: a connection closed under a message to a paced
   * destination (see Pacing.connectionBroke). It cuts only a measured pace, and only to what the
   * destination took, so that the closes of one burst cannot drive a pace down on their own.
   */
  async connectionBroke(transport: string, destination: string): Promise<ThrottleOutcome> {
    return this.signal(transport, destination, { pauseMs: 0, startRate: 0, inferred: true });
  }

  private async signal(
    transport: string,
    destination: string,
    signal: { pauseMs: number; startRate: number; inferred: boolean },
  ): Promise<ThrottleOutcome> {
    const s = this.settings;
    const [decreased, rate, pausedUntil] = (await THROTTLED.run(
      this.redis,
      [this.keys.pace(transport, destination), this.keys.paceIndex()],
      [
        this.ceilingOf(destination),
        s.startRate,
        s.decreaseFactor,
        s.floor,
        s.coalesceMs,
        signal.pauseMs,
        s.throttledRecentlyMs,
        s.idleTtlMs,
        member(transport, destination),
        s.keepDeliveredShare,
        signal.startRate,
        signal.inferred ? 1 : 0,
      ],
    )) as [number, string, number];
    return {
      decreased: decreased === 1,
      rate: Number(rate),
      pausedUntil: pausedUntil > 0 ? new Date(pausedUntil) : null,
    };
  }

  /** The (transport, destination) pairs with a pace used within `idleTtlMs`, and the Redis clock. */
  async recentPaces(): Promise<{ pairs: Array<[string, string]>; now: number }> {
    const [seconds, micros] = await this.redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const members = await this.redis.zrangebyscore(this.keys.paceIndex(), now - this.settings.idleTtlMs, '+inf');
    return { pairs: members.map((text) => JSON.parse(text) as [string, string]), now };
  }

  /** Every pace used within `idleTtlMs`, as all workers see it. */
  async snapshot(): Promise<PaceSnapshot[]> {
    const { pairs, now } = await this.recentPaces();
    const pipeline = this.redis.pipeline();
    for (const [transport, destination] of pairs)
      pipeline.hmget(this.keys.pace(transport, destination), 'rate', 'cuts', 'hit', 'hit0', 'pause');
    const replies = (await pipeline.exec()) ?? [];
    const paces: PaceSnapshot[] = [];
    pairs.forEach(([transport, destination], index) => {
      const [rate, cuts, hit, hit0, pause] = ((replies[index]?.[1] ?? []) as Array<string | null>).map((value) =>
        value === null ? null : Number(value),
      );
      if (rate === null || rate === undefined) return; // expired since
      const ceiling = this.ceilingOf(destination);
      const recent = hit != null && hit0 != null && now - hit <= this.settings.throttledRecentlyMs;
      paces.push({
        transport,
        destination,
        rate: Math.min(rate, ceiling),
        ceiling,
        throttledSince: recent ? new Date(Math.floor(hit0)) : null,
        pausedUntil: pause != null && pause > now ? new Date(Math.floor(pause)) : null,
        decreases: cuts ?? 0,
      });
    });
    return paces;
  }
}

/** A pace's member in the index: both names, unambiguous whatever characters they hold. */
function member(transport: string, destination: string): string {
  return JSON.stringify([transport, destination]);
}
