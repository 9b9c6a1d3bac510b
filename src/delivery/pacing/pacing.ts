import type { Acquired, DestinationPacer } from './pacer.ts';

/** How long a process trusts its list of paced destinations (a pace one worker starts reaches the others within it). */
const PACED_TTL_MS = 1000;

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

  constructor(readonly pacer: DestinationPacer) {}

  async acquire(transport: string, destination: string): Promise<Acquired> {
    if (!(await this.isPaced(transport, destination))) return { ok: true };
    return this.pacer.acquire(transport, destination);
  }

  async succeeded(transport: string, destination: string): Promise<void> {
    if (await this.isPaced(transport, destination)) await this.pacer.succeeded(transport, destination);
  }

  async throttled(transport: string, destination: string, statedPauseMs: number | null): Promise<void> {
    this.paced.add(pairOf(transport, destination));
    await this.pacer.throttled(transport, destination, statedPauseMs);
  }

  private async isPaced(transport: string, destination: string): Promise<boolean> {
    if (this.pacer.settings.ceilings.has(destination)) return true;
    if (Date.now() - this.pacedReadAt >= PACED_TTL_MS) {
      this.pacedReadAt = Date.now();
      const { pairs } = await this.pacer.recentPaces();
      this.paced = new Set(pairs.map(([t, d]) => pairOf(t, d)));
    }
    return this.paced.has(pairOf(transport, destination));
  }
}

function pairOf(transport: string, destination: string): string {
  return `${transport}\n${destination}`;
}
