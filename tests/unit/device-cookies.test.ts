import { describe, expect, it } from 'vitest';
import { DEVICE_COOKIE_DAYS, DeviceCookies } from '../../src/admin/device-cookies.ts';

const SECRET = 'device-cookie-secret-device-cookie-secret';
const DAY_MS = 24 * 3600 * 1000;

/** Device cookies issued at one time and read at another (the console's login, at the level of its cookie). */
function at(time: number): DeviceCookies {
  return new DeviceCookies(SECRET, { now: () => new Date(time) });
}

describe('DeviceCookies', () => {
  const issuedAt = Date.parse('2026-06-01T12:00:00Z');
  const cookie = at(issuedAt).issue('alice');

  it('knows the browser for the name it logged in as, however the name is typed, until it is too old', () => {
    const device = at(issuedAt).deviceFor(cookie, 'alice');
    expect(device).toMatch(/^[\w-]{22}$/);
    expect(at(issuedAt + DAY_MS).deviceFor(cookie, 'ALICE')).toBe(device);
    expect(at(issuedAt + DEVICE_COOKIE_DAYS * DAY_MS).deviceFor(cookie, 'alice')).toBe(device);
    expect(at(issuedAt + (DEVICE_COOKIE_DAYS + 1) * DAY_MS).deviceFor(cookie, 'alice')).toBeNull();
  });

  it('knows nothing of a cookie for another name, signed with another secret, or changed', () => {
    expect(at(issuedAt).deviceFor(cookie, 'bob')).toBeNull();
    expect(
      new DeviceCookies(`${SECRET}-other`, { now: () => new Date(issuedAt) }).deviceFor(cookie, 'alice'),
    ).toBeNull();
    const [issued, nonce, signature] = cookie.split('.') as [string, string, string];
    const later = (parseInt(issued, 36) + 10 * 24 * 3600).toString(36);
    for (const changed of [
      `${later}.${nonce}.${signature}`,
      `${issued}.${'A'.repeat(22)}.${signature}`,
      `${issued}.${nonce}.${signature.slice(0, -1)}`,
      '',
      'a.b.c',
      undefined,
    ]) {
      expect(at(issuedAt).deviceFor(changed, 'alice'), String(changed)).toBeNull();
    }
  });

  it('gives every login a device of its own', () => {
    const devices = new Set(
      Array.from({ length: 5 }, () => at(issuedAt).deviceFor(at(issuedAt).issue('alice'), 'alice')),
    );
    expect(devices.size).toBe(5);
    expect(devices.has(null)).toBe(false);
  });
});
