import { describe, expect, it } from 'vitest';
import {
  bounceAddress,
  readBounceAddress,
  readUnsubscribeAddress,
  readVerpToken,
  unsubscribeAddress,
  verpTokenIn,
} from '../../../src/feedback/verp.ts';

const SECRET = 'verp-test-secret-0123456789abcdef';
const BOUNCES = 'bounce@bounces.example.org';
const UNSUBSCRIBE = 'unsubscribe@lists.example.org';

describe('bounceAddress', () => {
  it('makes a short, lower-case, case-fold-proof address on the configured domain', () => {
    const address = bounceAddress('1042', '2026-11-24', SECRET, BOUNCES);
    expect(address).toMatch(/^bounce\+1042=2026-11-24=[a-z2-7]{16}@bounces\.example\.org$/);
    const local = address.split('@')[0] ?? '';
    expect(local.length).toBeLessThanOrEqual(64);
    expect(local.slice('bounce+'.length)).toMatch(/^[a-z0-9._=-]+$/);
  });

  it('round-trips, also after an MTA upper-cased it or put it in angle brackets', () => {
    const address = bounceAddress('1042', '2026-11-24', SECRET, BOUNCES);
    const claims = { recipientId: '1042', edition: '2026-11-24' };
    expect(readBounceAddress(address, SECRET, BOUNCES)).toEqual(claims);
    expect(readBounceAddress(address.toUpperCase(), SECRET, BOUNCES)).toEqual(claims);
    expect(readBounceAddress(`<${address}>`, SECRET, BOUNCES)).toEqual(claims);
    expect(readBounceAddress(address, SECRET, 'Bounce@Bounces.Example.org')).toEqual(claims);
  });

  it('stays within 64 characters for the longest ids we make (15-digit subscriber ids)', () => {
    const address = bounceAddress('123456789012345', '2026-11-24', SECRET, BOUNCES);
    expect((address.split('@')[0] ?? '').length).toBeLessThanOrEqual(64);
    expect(readBounceAddress(address, SECRET, BOUNCES)).toEqual({
      recipientId: '123456789012345',
      edition: '2026-11-24',
    });
  });

  it('allows mail that is not an edition (empty edition)', () => {
    const address = bounceAddress('7', '', SECRET, BOUNCES);
    expect(readBounceAddress(address, SECRET, BOUNCES)).toEqual({ recipientId: '7', edition: '' });
  });

  it.each([
    ['an upper-case id', 'ABC', '2026-11-24'],
    ['a dot in the id', '1.2', '2026-11-24'],
    ['an = in the edition', '1', 'a=b'],
    ['an empty id', '', '2026-11-24'],
  ])('refuses %s (it could not survive case-folding or parsing)', (_label, id, edition) => {
    expect(() => bounceAddress(id, edition, SECRET, BOUNCES)).toThrow(RangeError);
  });

  it('refuses a base address with a + or without a domain', () => {
    expect(() => bounceAddress('1', 'e', SECRET, 'bounce+x@example.org')).toThrow(RangeError);
    expect(() => bounceAddress('1', 'e', SECRET, 'bounce')).toThrow(RangeError);
  });

  it('refuses a local part over 64 characters', () => {
    expect(() => bounceAddress('1'.repeat(32), 'e'.repeat(32), SECRET, BOUNCES)).toThrow(/longer than 64/);
  });
});

describe('readBounceAddress', () => {
  const good = bounceAddress('1042', '2026-11-24', SECRET, BOUNCES);
  const [local, domain] = good.split('@') as [string, string];
  const tag = local.split('=')[2] ?? '';

  it.each([
    ['another recipient with the same tag', `bounce+1043=2026-11-24=${tag}@${domain}`],
    ['another edition with the same tag', `bounce+1042=2026-11-25=${tag}@${domain}`],
    ['a changed tag', `bounce+1042=2026-11-24=${tag.slice(0, -1)}${tag.endsWith('a') ? 'b' : 'a'}@${domain}`],
    ['a short tag', `bounce+1042=2026-11-24=${tag.slice(0, 8)}@${domain}`],
    ['another domain', `${local}@evil.example`],
    ['another base local part', `${local.replace('bounce', 'other')}@${domain}`],
    ['no token', BOUNCES],
    ['garbage', 'not an address'],
    ['an empty string', ''],
    ['too many parts', `bounce+1042=2026-11-24=x=${tag}@${domain}`],
  ])('refuses %s', (_label, address) => {
    expect(readBounceAddress(address, SECRET, BOUNCES)).toBeNull();
  });

  it('refuses a token made with another secret', () => {
    expect(
      readBounceAddress(bounceAddress('1042', '2026-11-24', 'another-secret', BOUNCES), SECRET, BOUNCES),
    ).toBeNull();
  });
});

describe('unsubscribeAddress', () => {
  it('round-trips on its own base address', () => {
    const address = unsubscribeAddress('1042', '2026-11-24', SECRET, UNSUBSCRIBE);
    expect(address).toMatch(/^unsubscribe\+1042=2026-11-24=[a-z2-7]{16}@lists\.example\.org$/);
    expect(readUnsubscribeAddress(address, SECRET, UNSUBSCRIBE)).toEqual({
      recipientId: '1042',
      edition: '2026-11-24',
    });
  });

  it('is not interchangeable with a bounce token, even on the same base address', () => {
    const base = 'feedback@example.org';
    const bounce = bounceAddress('1042', '2026-11-24', SECRET, base);
    const unsubscribe = unsubscribeAddress('1042', '2026-11-24', SECRET, base);
    expect(bounce).not.toBe(unsubscribe);
    expect(readUnsubscribeAddress(bounce, SECRET, base)).toBeNull();
    expect(readBounceAddress(unsubscribe, SECRET, base)).toBeNull();
  });
});

describe('verpTokenIn and readVerpToken', () => {
  const address = bounceAddress('1042', '2026-11-24', SECRET, BOUNCES);
  const token = address.slice('bounce+'.length, address.indexOf('@'));

  it('finds the token in a Return-Path and verifies it', () => {
    expect(verpTokenIn(`<${address}>`)).toBe(token);
    expect(verpTokenIn(address.toUpperCase(), BOUNCES)).toBe(token);
    expect(readVerpToken('bounce', token, SECRET, BOUNCES)).toEqual({ recipientId: '1042', edition: '2026-11-24' });
    expect(readVerpToken('unsubscribe', token, SECRET, BOUNCES)).toBeNull();
  });

  it('finds nothing in other addresses', () => {
    expect(verpTokenIn('reader+news@example.net')).toBeNull();
    expect(verpTokenIn(address, 'bounce@other.example')).toBeNull();
    expect(verpTokenIn(null)).toBeNull();
    expect(verpTokenIn('<>')).toBeNull();
  });
});
