import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, compact tokens for links in email: `purpose.subject.version.expiry.signature`.
 * The signature covers every other part, so no part can be changed or moved to another purpose.
 * `expiry` is seconds since the epoch in base 36, or `0` for a link that never expires
 * (unsubscribe links must keep working in old mail).
 */
export type TokenPurpose = 'confirm' | 'unsubscribe';

const PURPOSE_CODES: Record<TokenPurpose, string> = { confirm: 'c', unsubscribe: 'u' };

export interface TokenClaims {
  purpose: TokenPurpose;
  subscriberId: string;
  /** Subscription generation: a re-subscription makes older confirmation links void. */
  version: number;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: 'malformed' | 'forged' | 'expired' };

export class TokenSigner {
  constructor(private readonly secret: string) {}

  sign(claims: TokenClaims, expiresAt?: Date): string {
    const expiry = expiresAt ? Math.floor(expiresAt.getTime() / 1000).toString(36) : '0';
    const body = `${PURPOSE_CODES[claims.purpose]}.${claims.subscriberId}.${claims.version.toString(36)}.${expiry}`;
    return `${body}.${this.signature(body)}`;
  }

  verify(token: string, purpose: TokenPurpose, now = new Date()): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 5 || token.length > 200) return { ok: false, reason: 'malformed' };
    const [code, subscriberId, version, expiry, signature] = parts as [string, string, string, string, string];
    if (!/^\d{1,15}$/.test(subscriberId) || !/^[0-9a-z]{1,10}$/.test(version) || !/^[0-9a-z]{1,10}$/.test(expiry)) {
      return { ok: false, reason: 'malformed' };
    }
    const expected = Buffer.from(this.signature(parts.slice(0, 4).join('.')));
    const given = Buffer.from(signature);
    if (code !== PURPOSE_CODES[purpose] || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'forged' };
    }
    const expiresAt = parseInt(expiry, 36);
    if (expiresAt !== 0 && expiresAt * 1000 < now.getTime()) return { ok: false, reason: 'expired' };
    return { ok: true, claims: { purpose, subscriberId, version: parseInt(version, 36) } };
  }

  private signature(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 27);
  }
}
