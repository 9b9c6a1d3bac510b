import type { Redis } from 'ioredis';
import { type Keyspace, LuaScript } from '../platform/redis.ts';

/** KEYS: this second's counter. ARGV: limit. Returns 1 when a message may go now. */
const TAKE = new LuaScript(`
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end
if used <= tonumber(ARGV[1]) then return 1 end
return 0
`);

/**
 * Messages per second across every worker on every machine (MAIL_RATE_PER_SECOND), because relays
 * throttle senders. One counter per wall-clock second in Redis; 0 turns it off.
 */
export class SendRate {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly perSecond: number,
  ) {}

  async take(): Promise<void> {
    if (this.perSecond <= 0) return;
    for (;;) {
      const now = Date.now();
      const second = Math.floor(now / 1000);
      if ((await TAKE.run(this.redis, [this.keys.key('send-rate', second)], [this.perSecond])) === 1) return;
      await new Promise((done) => setTimeout(done, (second + 1) * 1000 - now + Math.floor(Math.random() * 20)));
    }
  }
}
