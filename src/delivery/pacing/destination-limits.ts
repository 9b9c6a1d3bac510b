import { destinationOf } from './destinations.ts';

/** A rate list that cannot be read; the message names the setting and the entry. */
export class RateListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RateListError';
  }
}

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3600,
  hour: 3600,
};
const ENTRY = /^([^=\s]+)\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*\/\s*([a-z]+)$/i;
const NAME = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;

/**
 * Reads `name=50/s,other=1200/min` into messages per second by name. The unit is required: an hourly
 * quota written as a bare `3000` would otherwise be read as 3000 a second. Entries are separated by
 * commas (whitespace and newlines around them are ignored); an empty text is an empty list.
 * `setting` names the source in error messages (e.g. `SMTP_DESTINATION_LIMITS`).
 */
export function parseRateList(text: string, setting: string): Map<string, number> {
  const rates = new Map<string, number>();
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.length === 1 && entries[0] === '') return rates;
  entries.forEach((entry, index) => {
    const where = `${setting}: entry ${index + 1} "${entry}"`;
    const match = ENTRY.exec(entry);
    if (!match) throw new RateListError(`${where} is not <domain>=<number>/<unit>, e.g. gmail.com=50/s`);
    const [, rawName = '', rawNumber = '', rawUnit = ''] = match;
    const name = rawName.toLowerCase().replace(/\.$/, '');
    if (!NAME.test(name)) throw new RateListError(`${where}: "${rawName}" is not a domain name`);
    const seconds = UNIT_SECONDS[rawUnit.toLowerCase()];
    if (seconds === undefined) throw new RateListError(`${where}: unit "${rawUnit}" is not one of s, min, h`);
    const perSecond = Number(rawNumber) / seconds;
    if (!(perSecond > 0)) throw new RateListError(`${where}: the rate must be above 0`);
    if (rates.has(name)) throw new RateListError(`${where}: ${name} is listed twice`);
    rates.set(name, perSecond);
  });
  return rates;
}

/**
 * SMTP_DESTINATION_LIMITS, e.g. `gmail.com=50/s,outlook.com=20/s`: the ceiling in messages per second
 * per destination. Names are read as destinations (`destinationOf`), so `hotmail.com=20/s` is the
 * ceiling of outlook.com; two entries for one destination are an error rather than a silent choice.
 */
export function parseDestinationLimits(text: string, setting = 'SMTP_DESTINATION_LIMITS'): Map<string, number> {
  const limits = new Map<string, number>();
  const named = new Map<string, string>();
  for (const [name, perSecond] of parseRateList(text, setting)) {
    const destination = destinationOf(`postmaster@${name}`);
    const earlier = named.get(destination);
    if (earlier !== undefined) {
      throw new RateListError(
        `${setting}: "${name}" and "${earlier}" are the same destination (${destination}); give it one limit`,
      );
    }
    named.set(destination, name);
    limits.set(destination, perSecond);
  }
  return limits;
}
