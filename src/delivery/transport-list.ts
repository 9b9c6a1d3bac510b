import { parseRateList, RateListError } from './pacing/destination-limits.ts';

/** One SMTP relay the service may send through. */
export interface TransportSpec {
  /** Names it in logs, metrics and Redis keys: `name=` or the URL's host:port (never its credentials). */
  name: string;
  url: string;
  /** Share of recipients it gets among the transports in rotation. */
  weight: number;
  /** Messages per second through it, across all workers (0: no limit of its own). */
  ratePerSecond: number;
  /** SMTP connections per worker process. */
  poolSize: number;
}

const OPTION = /^(name|weight|rate|pool)=(\S+)$/;

/**
 * SMTP_URLS: transports separated by commas or newlines, each a URL followed by options, e.g.
 * `smtp://relay-a:587 weight=3 rate=50/s pool=5, smtps://user:pass@relay-b:465 name=backup`.
 * A comma in a password must be written %2C (as in any URL). Throws RateListError naming the entry.
 */
export function parseTransportList(
  text: string,
  defaults: { poolSize: number },
  setting = 'SMTP_URLS',
): TransportSpec[] {
  const specs: TransportSpec[] = [];
  text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter(Boolean)
    .forEach((entry, index) => {
      const where = `${setting}: entry ${index + 1}`;
      const [url = '', ...options] = entry.split(/\s+/);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new RateListError(`${where} does not start with an smtp:// or smtps:// URL`);
      }
      if (!['smtp:', 'smtps:'].includes(parsed.protocol) || !parsed.hostname)
        throw new RateListError(`${where} does not start with an smtp:// or smtps:// URL`);
      const spec = transportOf(url, defaults.poolSize);
      for (const option of options) applyOption(spec, option, `${where} (${spec.name})`);
      if (specs.some((other) => other.name === spec.name))
        throw new RateListError(`${where}: two transports are named ${spec.name}; give one a name=`);
      specs.push(spec);
    });
  return specs;
}

/** One transport from its URL alone (SMTP_URL), named by its host and port. */
export function transportOf(url: string, poolSize: number): TransportSpec {
  const { hostname, port } = new URL(url);
  return { name: port ? `${hostname}:${port}` : hostname, url, weight: 1, ratePerSecond: 0, poolSize };
}

function applyOption(spec: TransportSpec, option: string, where: string): void {
  const [, key, value = ''] = OPTION.exec(option) ?? [];
  const count = Number(value);
  if (key === 'name' && /^[\w.-]{1,40}$/.test(value)) spec.name = value;
  else if (key === 'weight' && Number.isInteger(count) && count >= 1 && count <= 100) spec.weight = count;
  else if (key === 'pool' && Number.isInteger(count) && count >= 1 && count <= 100) spec.poolSize = count;
  else if (key === 'rate') spec.ratePerSecond = parseRateList(`x=${value}`, `${where} rate`).get('x') ?? 0;
  else
    throw new RateListError(
      `${where}: "${option}" is not one of name=<letters>, weight=1..100, rate=<number>/<s|min|h>, pool=1..100`,
    );
}
