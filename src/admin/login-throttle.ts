import type { Redis } from 'ioredis';
import type { RedisKeys } from '../platform/redis-keys.ts';

const WINDOW_SECONDS = 15 * 60;

/** Failed logins allowed per window, by what they are counted against. */
const LIMITS = {
  /** A browser that has logged in as the name before (a valid device cookie): its own failures only. */
  device: 10,
  /** Any other attempt: per address, whatever the names, */
  ip: 10,
  /** per name from one address (under the name's own limit, so that no single address can lock a name), */
  nameAndIp: 5,
  /** and per name from all addresses: guessing one account from many is slow too. */
  name: 10,
};

/** A login attempt as the lock sees it; `device` is the id of a valid device cookie for this name, if the browser sent one. */
export interface LoginAttempt {
  ip: string;
  name: string;
  device: string | null;
}

/**
 * The name a login is counted for: one account however it is typed (case, spaces anywhere, full-width
 * letters, invisible characters), as the admin token accepts any name and "" is "admin". Percent-encoded,
 * so it can stand in a Redis key.
 */
export function accountOf(name: string): string {
  const folded = name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\p{Cc}\p{Cf}]/gu, '');
  return encodeURIComponent((folded || 'admin').slice(0, 64));
}

/**
 * Locks the console login after too many failed attempts, without letting an attacker lock a real
 * admin out (OWASP's device cookies): an attempt from a browser that has logged in as the name before
 * counts only that device's failures; every other attempt counts per IP, per name and IP, and per
 * name, so the name's lock holds back only browsers that never logged in as it. Only failures count:
 * editors who log in often are never locked out. A locked attempt is told how long to wait.
 */
export class LoginThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<
      RedisKeys,
      'loginFailuresByDevice' | 'loginFailuresByIp' | 'loginFailuresByNameAndIp' | 'loginFailuresByName'
    >,
  ) {}

  /**
   * Counts `attempt` as a failure before its password is checked, so that attempts sent all at once
   * cannot slip under the limit together; `succeeded` takes it back. Returns the seconds to wait when
   * one of its counters had already reached its limit (the attempt is refused, its password not
   * checked), else 0.
   */
  async attempt(attempt: LoginAttempt): Promise<number> {
    const counters = this.countersOf(attempt);
    const tx = this.redis.multi();
    for (const [key] of counters) tx.incr(key).expire(key, WINDOW_SECONDS, 'NX').ttl(key);
    const replies = ((await tx.exec()) ?? []).map(([, value]) => Number(value));
    let wait = 0;
    for (const [index, [, limit]] of counters.entries()) {
      const [failures = 0, , secondsLeft = 0] = replies.slice(3 * index, 3 * index + 3);
      if (failures > limit) wait = Math.max(wait, secondsLeft, 1);
    }
    return wait;
  }

  /** A login that succeeded is not a failure. A counter that ran out meanwhile is removed, not left at -1 for ever. */
  async succeeded(attempt: LoginAttempt): Promise<void> {
    const keys = this.countersOf(attempt).map(([key]) => key);
    const tx = this.redis.multi();
    for (const key of keys) tx.decr(key);
    const counts = ((await tx.exec()) ?? []).map(([, value]) => Number(value));
    const expired = keys.filter((_key, index) => (counts[index] ?? 0) < 0);
    if (expired.length > 0) await this.redis.del(...expired);
  }

  private countersOf({ ip, name, device }: LoginAttempt): Array<[key: string, limit: number]> {
    if (device) return [[this.keys.loginFailuresByDevice(device), LIMITS.device]];
    const account = accountOf(name);
    return [
      [this.keys.loginFailuresByIp(ip), LIMITS.ip],
      [this.keys.loginFailuresByNameAndIp(account, ip), LIMITS.nameAndIp],
      [this.keys.loginFailuresByName(account), LIMITS.name],
    ];
  }
}
