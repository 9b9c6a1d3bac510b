import { CronExpressionParser } from 'cron-parser';

/** When editions are cut: the DIGEST_CRON schedule read in DIGEST_TZ. */
export class CutoffSchedule {
  constructor(
    private readonly cron: string,
    readonly timeZone: string,
  ) {
    CronExpressionParser.parse(cron, { tz: timeZone }); // throws early on a bad expression
  }

  /** The latest scheduled cut-off at or before `now`. */
  latestAtOrBefore(now: Date): Date {
    // cron-parser works in whole seconds: probe from the next whole second so a cut-off exactly at `now` counts.
    const probe = new Date(Math.floor(now.getTime() / 1000) * 1000 + 1000);
    return CronExpressionParser.parse(this.cron, { tz: this.timeZone, currentDate: probe }).prev().toDate();
  }

  /** The scheduled cut-off before `cutoff`: where the very first window starts. */
  previous(cutoff: Date): Date {
    return CronExpressionParser.parse(this.cron, { tz: this.timeZone, currentDate: cutoff }).prev().toDate();
  }

  next(now: Date): Date {
    return CronExpressionParser.parse(this.cron, { tz: this.timeZone, currentDate: now }).next().toDate();
  }

  /** The time of day of the next cut-off for readers, e.g. `18:30 UTC` or `19:00 Europe/Berlin`. */
  sendTime(now = new Date(), intl = 'en-GB'): string {
    const time = new Intl.DateTimeFormat(intl, {
      timeZone: this.timeZone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(this.next(now));
    return `${time} ${this.timeZone}`;
  }

  /** An edition is named by the calendar date of its cut-off in DIGEST_TZ, e.g. `2026-11-24`. */
  editionId(cutoff: Date): string {
    return new Intl.DateTimeFormat('en-CA', {
      timeZone: this.timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    }).format(cutoff);
  }
}

export interface EditionWindow {
  start: Date;
  end: Date;
}

/**
 * The window an edition covers: from the previous edition's cut-off (whenever that was, so a
 * skipped day is folded into the next edition) to this cut-off. Windows are half-open, [start, end),
 * so an article published exactly at a cut-off belongs to the next edition and never to two.
 */
export function windowFor(cutoff: Date, previousCutoff: Date | null, schedule: CutoffSchedule): EditionWindow {
  return { start: previousCutoff ?? schedule.previous(cutoff), end: cutoff };
}
