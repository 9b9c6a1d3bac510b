import type { Acquired, DestinationPacer } from './pacer.ts';

/**
 * How long a process trusts its list of paced destinations: a pace one worker starts reaches the
 * others within it (throttled.lua waits 1.5 s before it measures a new pace by its successes).
 */
const PACED_TTL_MS = 250;

/**
 * The destination pacer, engaged only where it is needed: for destinations with a ceiling of their
 * own (SMTP_DESTINATION_LIMITS) and for those that asked us to slow down within the pacer's idle
 * lifetime. Every other destination goes at whatever the transports and MAIL_RATE_PER_SECOND allow,
 * without two Redis round trips per message: relays throttle few of the destinations a list
 * reaches, and the pacer finds the limit from the first throttle signal on.
 */
export class Pacing {
  private paced = new Set<string>();
  private pacedReadAt = 0;
  /**
   * Pairs this process throttled, and when: a look at the paced list that was asked for before the
   * throttle's script ran does not have a pace it started, and must not drop it (for up to
   * PACED_TTL_MS the destination would go unpaced at full speed, its successes uncounted by the pace).
   */
  private readonly throttledHere = new Map<string, number>();
  /** Unpaced successes per pair in this process, this second and the one before: where a new pace starts. */
  private readonly unpaced = new Map<string, { second: number; now: number; before: number }>();

  constructor(readonly pacer: DestinationPacer) {}

  /**
   * Whether this process knows of a pace for `destination` through any transport (its ceiling, or
   * the list as last read): no Redis call, so it may be a moment late either way.
   */
  knownPaced(destination: string): boolean {
    if (this.pacer.settings.ceilings.has(destination)) return true;
    for (const pair of this.paced) if (pair.endsWith(`\n${destination}`)) return true;
    return false;
  }

  async acquire(transport: string, destination: string): Promise<Acquired> {
    if (!(await this.isPaced(transport, destination))) return { ok: true };
    return this.pacer.acquire(transport, destination);
  }

  async succeeded(transport: string, destination: string): Promise<void> {
    if (await this.isPaced(transport, destination)) await this.pacer.succeeded(transport, destination);
    else this.countUnpaced(pairOf(transport, destination));
  }

  /**
   * A destination sent unpaced until now starts its pace from what this process saw it take in the
   * last second (not from the pacer's cautious start), so that a 60/s destination's first 421 does
   * not drop it to 10/s and a slow start; the pacer's measured cuts take it from there.
   */
  async throttled(transport: string, destination: string, statedPauseMs: number | null): Promise<void> {
    const pair = pairOf(transport, destination);
    const seen = this.paced.has(pair) ? undefined : this.unpacedRate(pair);
    this.paced.add(pair);
    this.throttledHere.set(pair, Date.now());
    this.unpaced.delete(pair);
    await this.pacer.throttled(transport, destination, statedPauseMs, seen);
  }

  /**
   * A connection closed under a message. To a destination being paced, that is most likely a
   * refusal nodemailer could not report: a relay answers 421 and closes the connection, and the
   * pool may see the close before the reply (measured: half the refusals of a 10/s destination,
   * whose pace then grew through them). Elsewhere it says nothing about the destination's rate.
   */
  async connectionBroke(transport: string, destination: string): Promise<void> {
    if (await this.isPaced(transport, destination)) await this.pacer.connectionBroke(transport, destination);
  }

  /** Another process started a pace for a destination this one sent unpaced: it adds what it saw taken. */
  private async join(transport: string, destination: string): Promise<void> {
    const pair = pairOf(transport, destination);
    const seen = this.unpacedRate(pair);
    this.unpaced.delete(pair);
    if (seen !== undefined && seen > 0) await this.pacer.joined(transport, destination, seen);
  }

  private countUnpaced(pair: string): void {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    // A list reaches thousands of small domains: only the last two seconds' counts are worth keeping.
    if (this.unpaced.size > 1000)
      for (const [key, counts] of this.unpaced) if (counts.second < second - 1) this.unpaced.delete(key);
    const counts = this.unpaced.get(pair);
    if (!counts || counts.second < second - 1) this.unpaced.set(pair, { second, now: 1, before: 0 });
    else if (counts.second === second) counts.now += 1;
    else this.unpaced.set(pair, { second, now: 1, before: counts.now });
  }

  /**
   * Successes in the last 1000 ms (the part of the previous second still inside them counted pro
   * rata), however long ago this destination's successes began: a relay counting in windows takes
   * its limit at a window's start and refuses the rest, so what it took before its first refusal
   * over the fraction of a second that took is a rate above its limit (measured: a 10/s destination
   * throttled in its first second of sending got a pace of 16/s from one worker, 29/s with the other
   * worker's share, and ~35 more refusals before a measured cut, each costing a reconnection).
   */
  private unpacedRate(pair: string): number | undefined {
    const counts = this.unpaced.get(pair);
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (!counts || counts.second < second - 1) return undefined;
    const intoSecond = (now % 1000) / 1000;
    return counts.second === second ? counts.now + counts.before * (1 - intoSecond) : counts.now * (1 - intoSecond);
  }

  private async isPaced(transport: string, destination: string): Promise<boolean> {
    if (this.pacer.settings.ceilings.has(destination)) return true;
    if (Date.now() - this.pacedReadAt >= PACED_TTL_MS) {
      const lookedAt = Date.now();
      this.pacedReadAt = lookedAt;
      const { pairs } = await this.pacer.recentPaces();
      const before = this.paced;
      this.paced = new Set(pairs.map(([t, d]) => pairOf(t, d)));
      for (const [pair, at] of this.throttledHere) {
        // Asked for after the throttle's script was sent, the list has the pace (one connection
        // answers in order); one still without it seconds later is gone (its keys were deleted).
        if (at < lookedAt && (this.paced.has(pair) || lookedAt - at > 10_000)) this.throttledHere.delete(pair);
        else this.paced.add(pair);
      }
      await Promise.all(pairs.filter(([t, d]) => !before.has(pairOf(t, d))).map(([t, d]) => this.join(t, d)));
    }
    return this.paced.has(pairOf(transport, destination));
  }
}

function pairOf(transport: string, destination: string): string {
  return `${transport}\n${destination}`;
}
