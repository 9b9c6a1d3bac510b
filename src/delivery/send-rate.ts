import type { Redis } from 'ioredis';
import type { RedisKeys } from '../platform/redis-keys.ts';
import { LuaScript } from '../platform/redis.ts';
import { sleep } from './concurrency.ts';

const TAKE_IN_SECOND = LuaScript.fromFile(new URL('./scripts/take-in-second.lua', import.meta.url));

/**
 * Messages per second across every worker on every machine: all edition mail (MAIL_RATE_PER_SECOND)
 * and each transport's own `rate=` (SMTP_URLS). One counter per wall-clock second in Redis; a limit
 * of 0 is no limit and costs nothing.
 */
export class SendRate {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<RedisKeys, 'sendRate' | 'transportRate'>,
    private readonly perSecond: number,
  ) {}

  /**
   * Waits until the overall limit and `transport`'s own let one more message go; null, at once, when
   * neither has a limit (most setups: no promise per message for nothing).
   */
  take(transport: { name: string; ratePerSecond: number }): Promise<void> | null {
    if (this.perSecond <= 0 && transport.ratePerSecond <= 0) return null;
    return this.takeBoth(transport);
  }

  private async takeBoth(transport: { name: string; ratePerSecond: number }): Promise<void> {
    await this.takeIn((second) => this.keys.sendRate(second), this.perSecond);
    await this.takeIn((second) => this.keys.transportRate(transport.name, second), transport.ratePerSecond);
  }

  private async takeIn(counter: (second: number) => string, limit: number): Promise<void> {
    if (limit <= 0) return;
    // A fractional rate (rate=30/min) gets whole messages in some seconds and none in others.
    for (;;) {
      const now = Date.now();
      const second = Math.floor(now / 1000);
      const allowed = Math.floor(limit * (second + 1)) - Math.floor(limit * second);
      if (allowed > 0 && (await TAKE_IN_SECOND.run(this.redis, [counter(second)], [allowed])) === 1) return;
      await sleep((second + 1) * 1000 - now + Math.floor(Math.random() * 20));
    }
  }
}
