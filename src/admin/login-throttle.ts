import type { Redis } from 'ioredis';
import type { Keyspace } from '../platform/redis.ts';

const MAX_FAILURES = 10;
const WINDOW_SECONDS = 15 * 60;

/**
 * Locks the console login after too many failed attempts, counted per IP and per account name, so
 * that guessing is slow from one address and against one account from many. Only failures count:
 * editors who log in often are never locked out, and neither is everyone behind one proxy address
 * because somebody else typed a wrong password a few times.
 */
export class LoginThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  async isLocked(ip: string, name: string): Promise<boolean> {
    const counts = await this.redis.mget(this.counterKeys(ip, name));
    return counts.some((count) => Number(count ?? 0) >= MAX_FAILURES);
  }

  async recordFailure(ip: string, name: string): Promise<void> {
    const tx = this.redis.multi();
    for (const key of this.counterKeys(ip, name)) tx.incr(key).expire(key, WINDOW_SECONDS, 'NX');
    await tx.exec();
  }

  private counterKeys(ip: string, name: string): string[] {
    const account = (name.trim().toLowerCase() || 'admin').slice(0, 64);
    return [this.keys.key('ratelimit', 'login-failures', 'ip', ip), this.keys.key('ratelimit', 'login-failures', 'name', account)];
  }
}
