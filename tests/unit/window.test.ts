import { describe, expect, it } from 'vitest';
import { CutoffSchedule, windowFor } from '../../src/editions/window.ts';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;

describe('CutoffSchedule at 18:30 UTC', () => {
  const schedule = new CutoffSchedule('30 18 * * *', 'UTC');

  it.each([
    ['just after midnight', '2026-11-25T00:00:01Z', '2026-11-24T18:30:00Z'],
    ['a minute before', '2026-11-25T18:29:00Z', '2026-11-24T18:30:00Z'],
    ['a second before', '2026-11-25T18:29:59Z', '2026-11-24T18:30:00Z'],
    ['exactly at', '2026-11-25T18:30:00Z', '2026-11-25T18:30:00Z'],
    ['a millisecond after', '2026-11-25T18:30:00.001Z', '2026-11-25T18:30:00Z'],
    ['a second after', '2026-11-25T18:30:01Z', '2026-11-25T18:30:00Z'],
    ['late in the evening', '2026-11-25T23:59:59Z', '2026-11-25T18:30:00Z'],
    ['on New Year’s Day', '2027-01-01T10:00:00Z', '2026-12-31T18:30:00Z'],
  ])('latestAtOrBefore %s the cut-off', (_label, now, expected) => {
    expect(schedule.latestAtOrBefore(at(now)).toISOString()).toBe(at(expected).toISOString());
  });

  it('never returns a cut-off after the time it is asked about', () => {
    for (let minute = 0; minute < 24 * 60; minute += 7) {
      const now = new Date(Date.UTC(2026, 10, 25, 0, minute, 13));
      const cutoff = schedule.latestAtOrBefore(now);
      expect(cutoff.getTime()).toBeLessThanOrEqual(now.getTime());
      expect(now.getTime() - cutoff.getTime()).toBeLessThan(24 * HOUR);
    }
  });

  it('finds the previous and next cut-offs', () => {
    expect(schedule.previous(at('2026-11-25T18:30:00Z')).toISOString()).toBe('2026-11-24T18:30:00.000Z');
    expect(schedule.previous(at('2026-03-01T18:30:00Z')).toISOString()).toBe('2026-02-28T18:30:00.000Z');
    expect(schedule.next(at('2026-11-25T12:00:00Z')).toISOString()).toBe('2026-11-25T18:30:00.000Z');
    expect(schedule.next(at('2026-11-25T18:30:00Z')).toISOString()).toBe('2026-11-26T18:30:00.000Z');
  });

  it.each([
    ['2026-11-25T18:30:00Z', '2026-11-25'],
    ['2026-01-05T18:30:00Z', '2026-01-05'],
    ['2026-12-31T23:59:59Z', '2026-12-31'],
    ['2027-01-01T00:00:00Z', '2027-01-01'],
  ])('names the edition cut at %s %s', (cutoff, id) => {
    expect(schedule.editionId(at(cutoff))).toBe(id);
  });

  it("tells readers the time of day editions go out, in the schedule's time zone", () => {
    expect(schedule.sendTime(at('2026-11-25T10:00:00Z'))).toBe('18:30 UTC');
    expect(new CutoffSchedule('0 19 * * *', 'Europe/Berlin').sendTime(at('2026-07-01T10:00:00Z'))).toBe(
      '19:00 Europe/Berlin',
    );
    expect(new CutoffSchedule('5 7 * * 1-5', 'America/New_York').sendTime(at('2026-11-25T10:00:00Z'))).toBe(
      '07:05 America/New_York',
    );
  });

  it('refuses a bad cron expression at once', () => {
    expect(() => new CutoffSchedule('not a cron', 'UTC')).toThrow();
    expect(() => new CutoffSchedule('99 18 * * *', 'UTC')).toThrow();
  });
});

describe('windowFor', () => {
  const schedule = new CutoffSchedule('30 18 * * *', 'UTC');
  const cutoff = at('2026-11-25T18:30:00Z');

  it('runs from the previous edition’s cut-off to this one', () => {
    expect(windowFor(cutoff, at('2026-11-24T18:30:00Z'), schedule)).toEqual({
      start: at('2026-11-24T18:30:00Z'),
      end: cutoff,
    });
  });

  it('folds a skipped day into the next edition (48 hours)', () => {
    const window = windowFor(cutoff, at('2026-11-23T18:30:00Z'), schedule);
    expect(window.end.getTime() - window.start.getTime()).toBe(48 * HOUR);
  });

  it('starts at whatever time the previous edition was actually cut', () => {
    const late = at('2026-11-24T19:02:17Z');
    expect(windowFor(cutoff, late, schedule)).toEqual({ start: late, end: cutoff });
  });

  it('starts the very first window at the scheduled cut-off before', () => {
    expect(windowFor(cutoff, null, schedule)).toEqual({ start: at('2026-11-24T18:30:00Z'), end: cutoff });
  });

  it('makes consecutive windows meet without overlap', () => {
    const first = windowFor(cutoff, null, schedule);
    const second = windowFor(at('2026-11-26T18:30:00Z'), first.end, schedule);
    expect(second.start).toEqual(first.end);
  });
});

describe('CutoffSchedule in Europe/Berlin', () => {
  const berlin = new CutoffSchedule('30 18 * * *', 'Europe/Berlin');

  it.each([
    ['summer time, the day before the change', '2026-10-24T20:00:00Z', '2026-10-24T16:30:00Z', '2026-10-24'],
    ['the day summer time ends', '2026-10-25T20:00:00Z', '2026-10-25T17:30:00Z', '2026-10-25'],
    ['winter time', '2026-10-26T20:00:00Z', '2026-10-26T17:30:00Z', '2026-10-26'],
    ['the day summer time begins', '2026-03-29T20:00:00Z', '2026-03-29T16:30:00Z', '2026-03-29'],
    ['a second before the local cut-off', '2026-10-25T17:29:59Z', '2026-10-24T16:30:00Z', '2026-10-24'],
  ])('cuts at local 18:30 on %s', (_label, now, cutoff, id) => {
    const latest = berlin.latestAtOrBefore(at(now));
    expect(latest.toISOString()).toBe(at(cutoff).toISOString());
    expect(berlin.editionId(latest)).toBe(id);
  });

  it('covers 25 hours in the edition where summer time ends and 23 where it begins', () => {
    const autumn = at('2026-10-25T17:30:00Z');
    const spring = at('2026-03-29T16:30:00Z');
    const length = (cutoff: Date) => {
      const window = windowFor(cutoff, null, berlin);
      return (window.end.getTime() - window.start.getTime()) / HOUR;
    };
    expect(length(autumn)).toBe(25);
    expect(length(spring)).toBe(23);
  });

  it('names editions by the local date, not the UTC date', () => {
    expect(berlin.editionId(at('2026-11-25T23:30:00Z'))).toBe('2026-11-26');
    const losAngeles = new CutoffSchedule('30 18 * * *', 'America/Los_Angeles');
    const cutoff = losAngeles.latestAtOrBefore(at('2026-11-26T03:00:00Z'));
    expect(cutoff.toISOString()).toBe('2026-11-26T02:30:00.000Z');
    expect(losAngeles.editionId(cutoff)).toBe('2026-11-25');
  });
});

describe('latestAtOrBefore just before a cut-off', () => {
  it.each(['2026-11-25T18:29:59.001Z', '2026-11-25T18:29:59.500Z', '2026-11-25T18:29:59.999Z'])(
    '%s gives the previous day',
    (now) => {
      expect(new CutoffSchedule('30 18 * * *', 'UTC').latestAtOrBefore(new Date(now)).toISOString()).toBe(
        '2026-11-24T18:30:00.000Z',
      );
    },
  );
});
