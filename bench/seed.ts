/**
 * Confirmed subscribers written straight into PostgreSQL with COPY (what `digest import` uses too):
 * a client library's per-row cost would make seeding a million take longer than what it prepares.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { benchRecipient } from './fixtures.ts';

const CHUNK = 10_000;

/** Replaces every subscriber with `count` confirmed ones, ids 1..count (addresses from `recipient`, by default the bench's mix). */
export async function seedSubscribers(
  databaseUrl: string,
  count: number,
  recipient: (id: number) => { email: string; name: string } = benchRecipient,
): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('TRUNCATE subscribers RESTART IDENTITY CASCADE');
    const rows = Readable.from(
      (function* () {
        for (let start = 1; start <= count; start += CHUNK) {
          let out = '';
          for (let id = start; id <= Math.min(count, start + CHUNK - 1); id += 1) {
            const { email, name } = recipient(id);
            out += `${id}\t${email}\t${email.toLowerCase()}\t${name}\tconfirmed\n`;
          }
          yield out;
        }
      })(),
    );
    await pipeline(rows, client.query(copyFrom('COPY subscribers (id, email, email_key, name, state) FROM STDIN')));
    await client.query("SELECT setval('subscribers_id_seq', GREATEST($1::bigint, 1))", [count]);
  } finally {
    await client.end();
  }
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
