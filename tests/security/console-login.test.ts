import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/admin/sessions.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/**
 * The console login under attack (issue 27, item 4): failures from anywhere must not lock a real
 * admin out. A browser that has logged in as a name holds a signed device cookie and is limited
 * only by its own failures (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"); every
 * other attempt is limited per IP, per name and IP, and per name.
 */
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const PASSWORDS: Record<string, string> = {
  alice: 'alice-password-0123',
  bob: 'bob-password-0123',
  carol: 'carol-password-0123',
  dave: 'dave-password-0123',
};
const WRONG = 'wrong-password-0123';

interface Browser {
  ip: string;
  /** The device cookie, once this browser has logged in. */
  device?: string;
}

describe('the console login lock', () => {
  let h: Harness;

  beforeAll(async () => {
    const users = Object.entries(PASSWORDS).map(([name, password]) => hashPassword(name, password));
    h = await startHarness({ workers: false, env: { ADMIN_USERS: users.join(',') } });
  });
  afterAll(async () => h?.close());

  /** The login form filled in and posted, as a browser does (form token, its cookie, the device cookie it holds). */
  async function login(browser: Browser, name: string, password: string): Promise<LightMyRequestResponse> {
    const device: Record<string, string> = browser.device ? { digest_device: browser.device } : {};
    const form = await h.server.inject({
      method: 'GET',
      url: '/console/login',
      remoteAddress: browser.ip,
      cookies: device,
    });
    const loginCookie = form.cookies.find((c) => c.name === 'digest_login')!.value;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
    const response = await h.server.inject({
      method: 'POST',
      url: '/console/login',
      remoteAddress: browser.ip,
      cookies: { digest_login: loginCookie, ...device },
      payload: `_csrf=${csrf}&name=${encodeURIComponent(name)}&password=${encodeURIComponent(password)}`,
      headers: FORM,
    });
    const issued = response.cookies.find((c) => c.name === 'digest_device');
    if (issued) browser.device = issued.value;
    return response;
  }

  /** `count` failed logins for these names, each from an address of its own, with their answers. */
  async function attack(names: string[], count: number, network: string): Promise<number[]> {
    const answers: number[] = [];
    for (let attempt = 0; attempt < count; attempt += 1) {
      answers.push(
        (await login({ ip: `${network}.${attempt + 1}` }, names[attempt % names.length]!, WRONG)).statusCode,
      );
    }
    return answers;
  }

  it('gives a browser that logs in a signed device cookie: HttpOnly, Secure on https, SameSite=Strict, for /console, long-lived', async () => {
    const response = await login({ ip: '192.0.2.1' }, 'bob', PASSWORDS.bob!);
    expect(response.statusCode).toBe(303);
    const cookie = response.cookies.find((c) => c.name === 'digest_device');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/console' });
    expect(cookie!.maxAge).toBeGreaterThanOrEqual(90 * 24 * 3600);
    expect(cookie!.value).not.toContain('bob');
  });

  it('lets the real admin’s browser in while an attacker’s failures from many addresses, and name variants, lock everyone else out', async () => {
    const admin: Browser = { ip: '192.0.2.10' };
    expect((await login(admin, 'alice', PASSWORDS.alice!)).statusCode).toBe(303);
    expect(admin.device).toBeTruthy();

    // 30 guesses from 30 addresses, at "alice" written in several ways: one name.
    const answers = await attack(['alice', 'Alice', ' ALICE ', 'ali ce', 'ＡＬＩＣＥ'], 30, '198.51.100');
    expect(answers.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(answers.slice(10)).toEqual(Array(20).fill(429));

    // The real admin's browser, from wherever she is now: a typo is a failure, then she is in.
    const elsewhere: Browser = { ip: '203.0.113.77', device: admin.device! };
    expect((await login(elsewhere, 'alice', WRONG)).statusCode).toBe(401);
    expect((await login(elsewhere, 'alice', PASSWORDS.alice!)).statusCode).toBe(303);

    // A browser that never logged in as her waits, even with the right password, and is told how long.
    const locked = await login({ ip: '192.0.2.11' }, 'alice', PASSWORDS.alice!);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    expect(locked.body).toContain('Too many failed attempts');
  });

  it('gives no privilege to a forged device cookie, or to one issued to another name', async () => {
    const bobsBrowser: Browser = { ip: '192.0.2.20' };
    expect((await login(bobsBrowser, 'bob', PASSWORDS.bob!)).statusCode).toBe(303);
    expect(await attack(['carol'], 10, '198.51.101')).toEqual(Array(10).fill(401));

    const [issued, nonce, signature] = bobsBrowser.device!.split('.');
    const flipped = `${signature!.slice(0, -1)}${signature!.endsWith('A') ? 'B' : 'A'}`;
    for (const device of [
      bobsBrowser.device!,
      `${issued}.${nonce}.${flipped}`,
      'forged',
      `${issued}.${'A'.repeat(22)}.${signature}`,
    ]) {
      expect((await login({ ip: '192.0.2.21', device }, 'carol', PASSWORDS.carol!)).statusCode, device).toBe(429);
    }
  });

  it('still slows the attacker: per name and IP, per IP, and per device', async () => {
    // One address guessing one name: five tries, then it waits, while the name is not locked for others.
    const guesser: Browser = { ip: '198.51.102.1' };
    const fromOneAddress: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1)
      fromOneAddress.push((await login(guesser, 'dave', WRONG)).statusCode);
    expect(fromOneAddress).toEqual([...Array(5).fill(401), 429]);
    expect((await login({ ip: '192.0.2.30' }, 'dave', WRONG)).statusCode).toBe(401);

    // One address guessing many names: ten tries, then it waits for any name.
    const sprayer: Browser = { ip: '198.51.103.1' };
    const spray: number[] = [];
    for (let attempt = 0; attempt < 11; attempt += 1)
      spray.push((await login(sprayer, `user-${attempt}`, WRONG)).statusCode);
    expect(spray).toEqual([...Array(10).fill(401), 429]);
    expect((await login(sprayer, 'bob', PASSWORDS.bob!)).statusCode).toBe(429);

    // Attempts sent all at once are counted as they come, not only once their passwords were checked.
    const burst = await Promise.all(Array.from({ length: 20 }, () => login({ ip: '198.51.104.1' }, 'erin', WRONG)));
    expect(burst.filter((response) => response.statusCode === 401)).toHaveLength(5);
    expect(burst.filter((response) => response.statusCode === 429)).toHaveLength(15);

    // A device that logged in is limited by its own failures: ten, then it waits too.
    const device: Browser = { ip: '192.0.2.40' };
    expect((await login(device, 'bob', PASSWORDS.bob!)).statusCode).toBe(303);
    const own: number[] = [];
    for (let attempt = 0; attempt < 11; attempt += 1) own.push((await login(device, 'bob', WRONG)).statusCode);
    expect(own).toEqual([...Array(10).fill(401), 429]);
    expect((await login(device, 'bob', PASSWORDS.bob!)).statusCode).toBe(429);
    // Meanwhile bob logs in from another browser: his name is not locked by one device's failures.
    expect((await login({ ip: '192.0.2.41' }, 'bob', PASSWORDS.bob!)).statusCode).toBe(303);
  });
});
