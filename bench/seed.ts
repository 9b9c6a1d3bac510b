/**
 * Confirmed subscribers written straight into the store's Redis layout, pipelined: the small hash
 * `<prefix>:sub:<id>` (id, email, name, state, version: what a delivery claim reads), the sorted set
 * of confirmed ids that fan-out reads (the store's own `confirmedKey`, score = id), the id sequence
 * (the fan-out's snapshot bound) and the per-state counts. The look-up indexes (by e-mail) are left
 * out: neither fan-out nor delivery reads them, and they would double the time to seed 1M.
 */
import { connect } from 'node:net';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../src/platform/redis.ts';
import type { SubscriberStore } from '../src/subscribers/subscriber-store.ts';
import { benchRecipient } from './fixtures.ts';

/** One command in the Redis protocol (RESP). */
function command(args: string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

const CHUNK = 5_000;

/**
 * Writes the commands as raw RESP on a socket of its own and counts the replies (all one-line
 * integers; a line starting with `-` is an error): a client library's per-command cost would make
 * seeding a million subscribers take longer than the fan-out it prepares.
 */
export async function seedSubscribers(redis: Redis, keys: Keyspace, store: SubscriberStore, count: number): Promise<void> {
  const { port, host } = redis.options;
  const socket = connect(port ?? 6379, host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let expected = 0;
  let replies = 0;
  let lineStart = true;
  let failure: string | null = null;
  let finished: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    for (let index = 0; index < chunk.length; index += 1) {
      if (lineStart && chunk[index] === 45) failure ??= chunk.subarray(index, index + 200).toString('utf8').split('\r\n')[0] ?? 'error';
      lineStart = chunk[index] === 10;
      if (lineStart) replies += 1;
    }
    if (finished && replies >= expected) finished();
  });
  try {
    const subPrefix = store.subscriberKey('');
    for (let start = 1; start <= count; start += CHUNK) {
      const end = Math.min(count, start + CHUNK - 1);
      let out = '';
      const zadd = ['ZADD', store.confirmedKey];
      for (let id = start; id <= end; id += 1) {
        const { email, name } = benchRecipient(id);
        const sid = String(id);
        // HSET <key> id <id> email <email> name <name> state confirmed version 1 (emails are ASCII).
        out +=
          `*12\r\n$4\r\nHSET\r\n$${subPrefix.length + sid.length}\r\n${subPrefix}${sid}\r\n$2\r\nid\r\n$${sid.length}\r\n${sid}\r\n` +
          `$5\r\nemail\r\n$${email.length}\r\n${email}\r\n$4\r\nname\r\n$${Buffer.byteLength(name)}\r\n${name}\r\n` +
          '$5\r\nstate\r\n$9\r\nconfirmed\r\n$7\r\nversion\r\n$1\r\n1\r\n';
        zadd.push(sid, sid);
      }
      out += command(zadd);
      expected += end - start + 2;
      if (!socket.write(out)) await new Promise((resolve) => socket.once('drain', resolve));
      if (failure) throw new Error(`seeding subscribers: ${failure}`);
    }
    if (replies < expected) await new Promise<void>((resolve) => (finished = resolve));
    if (failure) throw new Error(`seeding subscribers: ${failure}`);
  } finally {
    socket.destroy();
  }
  await redis.set(keys.key('subs', 'seq'), count);
  await redis.hset(keys.key('subs', 'counts'), 'confirmed', count);
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  return match ? Number(match[1]) : 0;
}

/** Deletes every key matching `pattern` (our own Redis only). */
export async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    if (found.length > 0) deleted += await redis.del(...found);
  } while (cursor !== '0');
  return deleted;
}

/** CPU time redis-server has used (user + system), in seconds. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}
