import { describe, expect, it } from 'vitest';
import { parseDestinationLimits, parseRateList } from '../../src/delivery/pacing/destination-limits.ts';
import { destinationOf } from '../../src/delivery/pacing/destinations.ts';

describe('destinationOf', () => {
  it.each([
    ['reader@example.org', 'example.org'],
    ['Reader@Example.ORG', 'example.org'],
    ['reader@example.org.', 'example.org'],
    ['"odd@name"@example.org', 'example.org'],
    ['a@gmail.com', 'gmail.com'],
    ['a@googlemail.com', 'gmail.com'],
    ['a@outlook.com', 'outlook.com'],
    ['a@outlook.fr', 'outlook.com'],
    ['a@hotmail.com', 'outlook.com'],
    ['a@hotmail.co.uk', 'outlook.com'],
    ['a@hotmail.com.br', 'outlook.com'],
    ['a@live.com', 'outlook.com'],
    ['a@live.de', 'outlook.com'],
    ['a@msn.com', 'outlook.com'],
    ['a@yahoo.com', 'yahoo.com'],
    ['a@yahoo.co.uk', 'yahoo.com'],
    ['a@yahoo.fr', 'yahoo.com'],
    ['a@ymail.com', 'yahoo.com'],
    ['a@rocketmail.com', 'yahoo.com'],
    ['a@aol.com', 'yahoo.com'],
    ['a@icloud.com', 'icloud.com'],
    ['a@me.com', 'icloud.com'],
    ['a@mac.com', 'icloud.com'],
    // Yahoo! JAPAN runs its own servers; look-alikes and subdomains stay themselves.
    ['a@yahoo.co.jp', 'yahoo.co.jp'],
    ['a@mail.gmail.com', 'mail.gmail.com'],
    ['a@notgmail.com', 'notgmail.com'],
    ['a@live.example.org', 'live.example.org'],
    ['a@hotmail.example.com', 'hotmail.example.com'],
  ])('%s goes to %s', (address, destination) => {
    expect(destinationOf(address)).toBe(destination);
  });

  it('refuses an address without a domain', () => {
    expect(() => destinationOf('nobody')).toThrow(/"nobody" has no domain/);
    expect(() => destinationOf('nobody@')).toThrow(/has no domain/);
  });
});

describe('parseDestinationLimits (SMTP_DESTINATION_LIMITS)', () => {
  it('reads messages per second, minute or hour per destination', () => {
    expect(
      parseDestinationLimits('gmail.com=50/s, outlook.com=20/s,\n example.org = 600/min,slow.test=3600/h'),
    ).toEqual(
      new Map([
        ['gmail.com', 50],
        ['outlook.com', 20],
        ['example.org', 10],
        ['slow.test', 1],
      ]),
    );
  });

  it('reads an empty setting as no limits', () => {
    expect(parseDestinationLimits('')).toEqual(new Map());
    expect(parseDestinationLimits('  ')).toEqual(new Map());
  });

  it('reads names as destinations: hotmail.com limits outlook.com', () => {
    expect(parseDestinationLimits('Hotmail.com=20/s,GoogleMail.com=40/s')).toEqual(
      new Map([
        ['outlook.com', 20],
        ['gmail.com', 40],
      ]),
    );
  });

  it.each([
    ['gmail.com=50', /entry 1 "gmail.com=50" is not <domain>=<number>\/<unit>/],
    [
      'gmail.com=50/s,outlook.com=fast',
      /entry 2 "outlook.com=fast" is not <domain>=<number>\/<unit>, e.g. gmail.com=50\/s/,
    ],
    ['gmail.com=50/s,,outlook.com=20/s', /entry 2 "" is not/],
    ['gmail.com=50/day', /entry 1 "gmail.com=50\/day": unit "day" is not one of s, min, h/],
    ['gmail.com=0/s', /entry 1 "gmail.com=0\/s": the rate must be above 0/],
    ['gmail.com=-5/s', /entry 1 "gmail.com=-5\/s" is not/],
    ['gm@il.com=5/s', /"gm@il.com" is not a domain name/],
    ['gmail.com=5/s,gmail.com=6/s', /entry 2 "gmail.com=6\/s": gmail.com is listed twice/],
    ['hotmail.com=5/s,outlook.com=6/s', /"outlook.com" and "hotmail.com" are the same destination \(outlook.com\)/],
  ])('refuses %j, naming the entry', (text, message) => {
    expect(() => parseDestinationLimits(text)).toThrow(message);
  });

  it('names the setting it reads', () => {
    expect(() => parseRateList('x', 'RELAY_LIMITS')).toThrow(/^RELAY_LIMITS: entry 1 "x"/);
    expect(() => parseDestinationLimits('x')).toThrow(/^SMTP_DESTINATION_LIMITS: entry 1 "x"/);
  });
});
