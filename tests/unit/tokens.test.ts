import { describe, expect, it } from 'vitest';
import { type TokenClaims, type TokenPurpose, TokenSigner } from '../../src/platform/tokens.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const signer = new TokenSigner(SECRET);
const NOW = new Date('2026-11-25T18:30:00Z');
const IN_A_WEEK = new Date('2026-12-02T18:30:00Z');

const claims = (purpose: TokenPurpose, subscriberId = '1042', version = 3): TokenClaims => ({
  purpose,
  subscriberId,
  version,
});

describe('TokenSigner', () => {
  it.each<TokenPurpose>(['confirm', 'unsubscribe'])('round-trips a %s token', (purpose) => {
    const token = signer.sign(claims(purpose), IN_A_WEEK);
    expect(signer.verify(token, purpose, NOW)).toEqual({ ok: true, claims: claims(purpose) });
  });

  it.each([
    ['a one-digit id and version 0', '7', 0],
    ['a 15-digit id and a large version', '123456789012345', 1_000_000],
  ])('round-trips %s', (_label, subscriberId, version) => {
    const token = signer.sign(claims('confirm', subscriberId, version), IN_A_WEEK);
    expect(signer.verify(token, 'confirm', NOW)).toEqual({
      ok: true,
      claims: claims('confirm', subscriberId, version),
    });
  });

  it('is compact and URL-safe', () => {
    const token = signer.sign(claims('unsubscribe'), IN_A_WEEK);
    expect(token).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(token.split('.')).toHaveLength(5);
  });

  it('accepts a token up to its expiry and refuses it after', () => {
    const token = signer.sign(claims('confirm'), IN_A_WEEK);
    expect(signer.verify(token, 'confirm', IN_A_WEEK).ok).toBe(true);
    expect(signer.verify(token, 'confirm', new Date(IN_A_WEEK.getTime() + 1000))).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(signer.verify(token, 'confirm', new Date('2030-01-01T00:00:00Z'))).toEqual({ ok: false, reason: 'expired' });
  });

  it('never expires a token signed without an expiry', () => {
    const token = signer.sign(claims('unsubscribe'));
    expect(signer.verify(token, 'unsubscribe', new Date('2099-12-31T23:59:59Z')).ok).toBe(true);
    expect(signer.verify(token, 'unsubscribe', new Date(8.64e15)).ok).toBe(true);
  });

  it.each<[TokenPurpose, TokenPurpose]>([
    ['confirm', 'unsubscribe'],
    ['unsubscribe', 'confirm'],
  ])('refuses a %s token used as %s', (signedFor, usedFor) => {
    const token = signer.sign(claims(signedFor), IN_A_WEEK);
    expect(signer.verify(token, usedFor, NOW)).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses a token made with another secret', () => {
    const token = new TokenSigner(`${SECRET}-other`).sign(claims('confirm'), IN_A_WEEK);
    expect(signer.verify(token, 'confirm', NOW)).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses a token whose purpose code is swapped', () => {
    const token = signer.sign(claims('confirm'), IN_A_WEEK);
    expect(signer.verify(`u${token.slice(1)}`, 'unsubscribe', NOW)).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses a token whose claims are changed, whether or not the result looks valid', () => {
    const token = signer.sign(claims('confirm', '1042', 3), IN_A_WEEK);
    const [code, , , expiry, signature] = token.split('.');
    const tampered = [
      [code, '1043', '3', expiry, signature],
      [code, '1042', '4', expiry, signature],
      [code, '1042', '3', '0', signature],
      [code, '1042', '3', (Number.parseInt(expiry ?? '', 36) + 86400).toString(36), signature],
    ].map((parts) => parts.join('.'));
    for (const forged of tampered) {
      expect(signer.verify(forged, 'confirm', NOW), forged).toEqual({ ok: false, reason: 'forged' });
    }
  });

  it('refuses the token after any single character is changed', () => {
    const token = signer.sign(claims('unsubscribe', '98765', 12), IN_A_WEEK);
    let variants = 0;
    for (let index = 0; index < token.length; index += 1) {
      for (const replacement of ['0', '9', 'a', 'z', 'A', '-', '_', '.']) {
        if (token[index] === replacement) continue;
        const changed = token.slice(0, index) + replacement + token.slice(index + 1);
        expect(signer.verify(changed, 'unsubscribe', NOW).ok, changed).toBe(false);
        variants += 1;
      }
    }
    expect(variants).toBeGreaterThan(token.length * 6);
  });

  it('refuses the token with a character added or removed at either end', () => {
    const token = signer.sign(claims('confirm'), IN_A_WEEK);
    for (const changed of [`${token}A`, `A${token}`, token.slice(1), token.slice(0, -1)]) {
      expect(signer.verify(changed, 'confirm', NOW).ok, changed).toBe(false);
    }
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not a token'],
    ['four parts', 'c.1042.3.abc'],
    ['six parts', 'c.1042.3.0.sig.extra'],
    ['empty parts', '....'],
    ['a non-numeric subscriber id', 'c.abc.3.0.AAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a subscriber id of 16 digits', 'c.1234567890123456.3.0.AAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an upper-case version', 'c.1042.Z.0.AAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an expiry with a sign', 'c.1042.3.-1.AAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an overlong version', 'c.1042.12345678901.0.AAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['more than 200 characters', `c.1042.3.0.${'A'.repeat(190)}`],
    ['spaces', 'c. 1042.3.0.AAAAAAAAAAAAAAAAAAAAAAAAAAA'],
  ])('calls %s malformed', (_label, token) => {
    expect(signer.verify(token, 'confirm', NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('calls a well-shaped token with a wrong signature forged, not malformed', () => {
    expect(signer.verify('c.1042.3.0.AAAAAAAAAAAAAAAAAAAAAAAAAAA', 'confirm', NOW)).toEqual({
      ok: false,
      reason: 'forged',
    });
  });

  it('checks the signature before the expiry, so an expired forgery is still forged', () => {
    const token = new TokenSigner('another secret').sign(claims('confirm'), new Date('2020-01-01T00:00:00Z'));
    expect(signer.verify(token, 'confirm', NOW)).toEqual({ ok: false, reason: 'forged' });
  });
});
