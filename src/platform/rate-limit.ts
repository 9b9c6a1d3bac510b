import type { Redis } from 'ioredis';

/**
 * Fixed-window counter in Redis, shared by every API process. Returns true while `key` has been
 * hit at most `limit` times in the current window.
 */
export async function withinRateLimit(
  redis: Redis,
  key: string,
  limit: number,
  windowSeconds: number,
): Promise<boolean> {
  const [[, count]] = (await redis.multi().incr(key).expire(key, windowSeconds, 'NX').exec()) as [[null, number]];
  return count <= limit;
}
