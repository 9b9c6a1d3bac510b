import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * VERP return paths: each message goes out with its own envelope sender, e.g.
 * `bounce+1042=2026-11-24=k3j5x0w2ab4cd6ef@bounces.example.org`, so a bounce names the reader and the
 * edition even when the DSN or the relay hides the recipient (Microsoft's complaint reports do). The
 * same scheme makes the RFC 2369 `List-Unsubscribe: <mailto:unsubscribe+…@…>` address.
 *
 * The token is `recipientId=edition=tag`. The tag is HMAC-SHA256 over the purpose, our base address,
 * the id and the edition, truncated to 80 bits, so nobody can make up an address that unsubscribes or
 * bounces someone else, and a bounce token is no unsubscribe token (different purpose in the MAC).
 * Everything is lower-case [a-z0-9=-]: MTAs are allowed to case-fold local parts, and some do; the
 * whole local part stays within the 64 characters RFC 5321 allows.
 */
export type VerpPurpose = 'bounce' | 'unsubscribe';

export interface VerpClaims {
  recipientId: string;
  /** The edition the message belonged to; empty for mail that is not an edition (welcome, confirmation). */
  edition: string;
}

const ID = /^[a-z0-9-]{1,32}$/;
const EDITION = /^[a-z0-9-]{0,32}$/;
const TAG_BYTES = 10; // 80 bits
const TAG = /^[a-z2-7]{16}$/;
const LOCAL_PART_MAX = 64;

/** RFC 4648 base32, lower-case and unpadded: case-insensitive and shorter than hex. */
function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

interface BaseAddress {
  local: string;
  domain: string;
}

function splitAddress(address: string): BaseAddress | null {
  const trimmed = address
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1) return null;
  return { local: trimmed.slice(0, at), domain: trimmed.slice(at + 1).toLowerCase() };
}

function baseOf(baseAddress: string): BaseAddress {
  const base = splitAddress(baseAddress);
  if (!base || !/^[a-z0-9._-]+$/i.test(base.local) || base.local.includes('+')) {
    throw new RangeError(`not a usable base address for VERP: ${JSON.stringify(baseAddress)}`);
  }
  return { local: base.local.toLowerCase(), domain: base.domain };
}

function tag(purpose: VerpPurpose, base: BaseAddress, claims: VerpClaims, secret: string): string {
  const mac = createHmac('sha256', secret)
    .update(
      ['evening-digest/verp/v1', purpose, `${base.local}@${base.domain}`, claims.recipientId, claims.edition].join(
        '\u0000',
      ),
    )
    .digest();
  return base32(mac.subarray(0, TAG_BYTES));
}

/** The token alone (what goes after the `+`). Throws for ids that cannot survive case-folding. */
export function verpToken(purpose: VerpPurpose, claims: VerpClaims, secret: string, baseAddress: string): string {
  if (!ID.test(claims.recipientId))
    throw new RangeError(`recipient id must be 1-32 of [a-z0-9-]: ${JSON.stringify(claims.recipientId)}`);
  if (!EDITION.test(claims.edition))
    throw new RangeError(`edition must be at most 32 of [a-z0-9-]: ${JSON.stringify(claims.edition)}`);
  return `${claims.recipientId}=${claims.edition}=${tag(purpose, baseOf(baseAddress), claims, secret)}`;
}

/** The claims in a token, or null when it is malformed or its tag does not match (forged, or another purpose). */
export function readVerpToken(
  purpose: VerpPurpose,
  token: string,
  secret: string,
  baseAddress: string,
): VerpClaims | null {
  const parts = token.toLowerCase().split('=');
  if (parts.length !== 3) return null;
  const [recipientId, edition, given] = parts as [string, string, string];
  if (!ID.test(recipientId) || !EDITION.test(edition) || !TAG.test(given)) return null;
  const claims = { recipientId, edition };
  const expected = Buffer.from(tag(purpose, baseOf(baseAddress), claims, secret));
  return timingSafeEqual(Buffer.from(given), expected) ? claims : null;
}

function verpAddress(purpose: VerpPurpose, claims: VerpClaims, secret: string, baseAddress: string): string {
  const base = baseOf(baseAddress);
  const local = `${base.local}+${verpToken(purpose, claims, secret, baseAddress)}`;
  if (local.length > LOCAL_PART_MAX)
    throw new RangeError(`VERP local part is longer than ${LOCAL_PART_MAX} characters: ${local}`);
  return `${local}@${base.domain}`;
}

/**
 * The claims of an address made by `verpAddress`, or null when it is for another base address or
 * domain, malformed, or forged. Case does not matter (MTAs may change it); angle brackets may be there.
 */
function readVerpAddress(
  purpose: VerpPurpose,
  address: string,
  secret: string,
  baseAddress: string,
): VerpClaims | null {
  const base = baseOf(baseAddress);
  const given = splitAddress(address);
  if (!given || given.domain !== base.domain) return null;
  const local = given.local.toLowerCase();
  if (!local.startsWith(`${base.local}+`)) return null;
  return readVerpToken(purpose, local.slice(base.local.length + 1), secret, baseAddress);
}

/** The envelope sender for one message, e.g. `bounce+<token>@bounces.example.org` for `bounce@bounces.example.org`. */
export function bounceAddress(recipientId: string, edition: string, secret: string, bounceBase: string): string {
  return verpAddress('bounce', { recipientId, edition }, secret, bounceBase);
}

export function readBounceAddress(address: string, secret: string, bounceBase: string): VerpClaims | null {
  return readVerpAddress('bounce', address, secret, bounceBase);
}

/** The RFC 2369 mailto unsubscribe address for one message, e.g. `unsubscribe+<token>@lists.example.org`. */
export function unsubscribeAddress(
  recipientId: string,
  edition: string,
  secret: string,
  unsubscribeBase: string,
): string {
  return verpAddress('unsubscribe', { recipientId, edition }, secret, unsubscribeBase);
}

export function readUnsubscribeAddress(address: string, secret: string, unsubscribeBase: string): VerpClaims | null {
  return readVerpAddress('unsubscribe', address, secret, unsubscribeBase);
}

/**
 * The token in an address shaped like `base+token@domain` (a Return-Path in a returned message, a
 * relay's envelope sender), unverified; the caller checks it with `readVerpToken`. With `baseAddress`,
 * only our own base address counts.
 */
export function verpTokenIn(address: string | null | undefined, baseAddress?: string): string | null {
  const given = address ? splitAddress(address) : null;
  if (!given) return null;
  const plus = given.local.indexOf('+');
  if (plus <= 0) return null;
  if (baseAddress) {
    const base = splitAddress(baseAddress);
    if (!base || base.domain !== given.domain || base.local.toLowerCase() !== given.local.slice(0, plus).toLowerCase())
      return null;
  }
  const token = given.local.slice(plus + 1).toLowerCase();
  return /^[a-z0-9-]{1,32}=[a-z0-9-]{0,32}=[a-z2-7]{16}$/.test(token) ? token : null;
}
