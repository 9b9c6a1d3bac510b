import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../platform/redis-keys.ts';
import { isAdminName, scryptHash, type StoredPassword } from './admin-users.ts';
import { isAuthorized } from './auth.ts';
import { hasControlCharacter } from '../subscribers/address.ts';

export interface AdminSession {
  id: string;
  admin: string;
  csrf: string;
}

const SESSION_HOURS = 12;

/** `name:salt:hash` entries of ADMIN_USERS (scrypt, hex), as printed by `digest admin-password NAME`. */
export function hashPassword(name: string, password: string): string {
  const salt = randomBytes(16).toString('hex');
  return `${name}:${salt}:${scryptHash(password, salt).toString('hex')}`;
}

/**
 * Console logins: per-admin passwords from ADMIN_USERS or stored with `digest admin-user` (PostgreSQL),
 * or the admin token (any name, "admin" if none); sessions live in Redis.
 */
export class AdminSessions {
  private readonly users = new Map<string, StoredPassword>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<RedisKeys, 'session'>,
    private readonly adminToken: string,
    adminUsers: string,
    private readonly stored: { find(name: string): Promise<StoredPassword | null> } = { find: async () => null },
  ) {
    for (const entry of adminUsers.split(/[\s,]+/).filter(Boolean)) {
      const [name, salt, hash] = entry.split(':');
      if (name && salt && hash) this.users.set(name, { salt, hash: Buffer.from(hash, 'hex') });
    }
  }

  /** The admin's name when the credentials are right; a name that has a password must use it. */
  async check(name: string, password: string): Promise<string | null> {
    // Nobody's name, not even under the admin token: it would go into logs, pages and PostgreSQL.
    if (hasControlCharacter(name)) return null;
    // Only a name `digest admin-user` could have made is looked up.
    const user = this.users.get(name) ?? (isAdminName(name) ? await this.stored.find(name) : null);
    if (user) {
      const given = scryptHash(password, user.salt);
      return given.length === user.hash.length && timingSafeEqual(given, user.hash) ? name : null;
    }
    return isAuthorized(`Bearer ${password}`, this.adminToken) ? name || 'admin' : null;
  }

  async create(admin: string): Promise<AdminSession> {
    const session = { id: randomBytes(32).toString('base64url'), admin, csrf: randomBytes(24).toString('base64url') };
    await this.redis.set(this.key(session.id), JSON.stringify(session), 'EX', SESSION_HOURS * 3600);
    return session;
  }

  async get(id: string | undefined): Promise<AdminSession | null> {
    if (!id || !/^[\w-]{43}$/.test(id)) return null;
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as AdminSession) : null;
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }

  private key(id: string): string {
    return this.keys.session(id);
  }
}

export function sameToken(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || expected === '') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
