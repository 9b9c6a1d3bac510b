import { parseArf } from './arf.ts';
import { parseDsn } from './dsn.ts';
import type { FeedbackEvent } from './event.ts';
import { parseUnsubscribeMail } from './mailto.ts';
import { readBounceAddress, readVerpToken, type VerpClaims, verpTokenIn } from './verp.ts';

/**
 * One entry point for mail our SMTP listener accepts for the feedback addresses: it tells by the
 * envelope recipient which kind of mail it is and checks the VERP token before anything is believed.
 *
 * - To the unsubscribe address: an unsubscribe request (`mailto.ts`).
 * - To the bounce address: a DSN (`dsn.ts`), else an ARF complaint (`arf.ts`; feedback loops send
 *   them to the Return-Path or a registered address on the same domain).
 *
 * `recipient` is the reader a verified token names (the envelope's, else the one in the returned
 * message); the caller should apply a report to that reader only, and check that a reported `email`
 * is theirs. A token that does not verify is a forgery: the mail gives nothing. Mail to the plain
 * bounce address (no token) comes back with `recipient: null`, for the caller to match by address.
 */
export interface InboundMailSettings {
  secret: string;
  bounceAddress: string;
  unsubscribeAddress: string;
  receivedAt?: Date;
}

export interface InboundFeedback {
  events: FeedbackEvent[];
  recipient: VerpClaims | null;
}

const NOTHING: InboundFeedback = { events: [], recipient: null };

export function readInboundMail(
  raw: Buffer | string,
  envelopeTo: string,
  settings: InboundMailSettings,
): InboundFeedback {
  const base = (address: string) => address.trim().replace(/^<|>$/g, '').toLowerCase();
  const [unsubscribeLocal, unsubscribeDomain] = base(settings.unsubscribeAddress).split('@');
  const to = base(envelopeTo);
  if (to.endsWith(`@${unsubscribeDomain}`) && to.startsWith(`${unsubscribeLocal}+`)) {
    const events = parseUnsubscribeMail(raw, { ...settings, envelopeTo });
    const token = events[0]?.verpToken;
    return token
      ? { events, recipient: readVerpToken('unsubscribe', token, settings.secret, settings.unsubscribeAddress) }
      : NOTHING;
  }

  const envelopeToken = verpTokenIn(envelopeTo, settings.bounceAddress);
  const envelopeClaims = envelopeToken ? readBounceAddress(envelopeTo, settings.secret, settings.bounceAddress) : null;
  if (envelopeToken && !envelopeClaims) return NOTHING; // a made-up bounce address
  const options = {
    envelopeTo,
    bounceAddress: settings.bounceAddress,
    ...(settings.receivedAt ? { receivedAt: settings.receivedAt } : {}),
  };
  const dsn = parseDsn(raw, options);
  const events = dsn.length > 0 ? dsn : parseArf(raw, options);
  if (envelopeClaims) return { events, recipient: envelopeClaims };
  const reportedToken = events.find((event) => event.verpToken)?.verpToken ?? null;
  if (!reportedToken) return { events, recipient: null };
  const reportedClaims = readVerpToken('bounce', reportedToken, settings.secret, settings.bounceAddress);
  return reportedClaims ? { events, recipient: reportedClaims } : NOTHING;
}
