import { randomBytes, scryptSync } from 'node:crypto';
import type { Queryable } from '../platform/database.ts';
import { loadQueries } from '../platform/sql.ts';

const SQL = loadQueries(new URL('./admin-users.sql', import.meta.url), ['set', 'get']);

export interface StoredPassword {
  salt: string;
  /** scrypt of the password with the salt, 32 bytes. */
  hash: Buffer;
}

/** What a console user's name may be (`digest admin-user NAME`): letters, digits, ".", "-" or "_", at most 40. */
export function isAdminName(name: string): boolean {
  return /^[\w.-]{1,40}$/.test(name);
}

export function scryptHash(password: string, salt: string): Buffer {
  return scryptSync(password, salt, 32);
}

/** Console logins in PostgreSQL, set with `digest admin-user NAME` (the password is never stored, only its scrypt hash). */
export class AdminUsers {
  constructor(private readonly db: Queryable) {}

  async set(name: string, password: string): Promise<void> {
    const salt = randomBytes(16).toString('hex');
    await this.db.query(SQL.set, [name, salt, scryptHash(password, salt).toString('hex')]);
  }

  async find(name: string): Promise<StoredPassword | null> {
    const [row] = (await this.db.query<{ salt: string; hash: string }>(SQL.get, [name])).rows;
    return row ? { salt: row.salt, hash: Buffer.from(row.hash, 'hex') } : null;
  }
}
