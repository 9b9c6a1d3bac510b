import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../platform/clock.ts';
import { accountOf } from './login-throttle.ts';

/** How long a browser stays known for a name after its last login (each login renews the cookie). */
export const DEVICE_COOKIE_DAYS = 180;

const COOKIE = /^([0-9a-z]{1,10})\.([\w-]{22})\.([\w-]{43})$/;

/**
 * OWASP's device cookies ("Slow Down Online Guessing Attacks with Device Cookies"): a browser that has
 * logged in as a name gets `issued.nonce.signature`, an HMAC with APP_SECRET over the name (as the
 * login lock counts it), the time and a random nonce. Its failed logins are then counted for that
 * device alone, so an attacker's failures elsewhere never lock the real admin's browser. The cookie
 * proves nothing but "this browser has logged in as this name": it opens no session.
 */
export class DeviceCookies {
  constructor(
    private readonly secret: string,
    private readonly clock: Clock,
  ) {}

  /** A fresh cookie value for a browser that has just logged in as `name`. */
  issue(name: string): string {
    const issued = Math.floor(this.clock.now().getTime() / 1000).toString(36);
    const nonce = randomBytes(16).toString('base64url');
    return `${issued}.${nonce}.${this.signature(name, issued, nonce)}`;
  }

  /** The device's id (its nonce) when `cookie` was issued to this browser for `name` and is still fresh, else null. */
  deviceFor(cookie: string | undefined, name: string): string | null {
    const [, issued = '', nonce = '', signature = ''] = COOKIE.exec(cookie ?? '') ?? [];
    if (!signature) return null;
    const expected = Buffer.from(this.signature(name, issued, nonce));
    if (!timingSafeEqual(Buffer.from(signature), expected)) return null;
    const ageMs = this.clock.now().getTime() - parseInt(issued, 36) * 1000;
    return ageMs <= DEVICE_COOKIE_DAYS * 24 * 3600 * 1000 ? nonce : null;
  }

  private signature(name: string, issued: string, nonce: string): string {
    // The purpose in front keeps these signatures apart from every other use of APP_SECRET (link tokens).
    return createHmac('sha256', this.secret)
      .update(`console-device\0${accountOf(name)}\0${issued}\0${nonce}`)
      .digest('base64url');
  }
}
