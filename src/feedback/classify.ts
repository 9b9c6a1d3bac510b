import type { BounceKind } from './event.ts';

/**
 * What a failed delivery says about the reader's address, from the enhanced status code (RFC 3463)
 * first, the reply text second, the SMTP reply code last:
 *
 * - `hard`: the address is gone (suppress at once),
 * - `soft`: the address may work later (suppress only after SOFT_BOUNCE_LIMIT of them in 30 days),
 * - `policy`: the receiver refused *us* (authentication, reputation, content, our configuration); the
 *   reader did nothing wrong and must never be suppressed for it. Operations need to see these instead.
 *
 * Deliberate choices beyond "5 is hard, 4 is soft":
 * - 4.7.x is `policy`, not `soft`: temporary blocks (Gmail 4.7.28 rate limits, Microsoft 4.7.650
 *   reputation, greylisting) are about our sending; counting them as soft bounces would suppress every
 *   reader of a provider that throttles us for a week.
 * - 5.2.2 (mailbox full) and 5.2.4 are `soft`; 5.2.3 and 5.3.4 (message too big) are `policy`: our
 *   edition's size, not the reader's address.
 * - 5.3.x (the receiving system's own trouble: full, not accepting mail, misconfigured) is `soft`, except
 *   5.3.3/5.3.4 (features or size we sent) which are `policy`.
 * - 5.4.4 (unable to route: the domain has no mail servers) is `hard`; other 5.4.x (timeouts, loops,
 *   expired after retrying, congestion) are `soft`: the address may be fine. 5.4.1 is officially "no
 *   answer from host" but Microsoft uses it for "Recipient address rejected: Access denied" (no such
 *   mailbox in the tenant), so its text decides.
 * - 5.5.x are protocol errors of our client or relay: `policy`; 5.5.0 is used by Microsoft for "mailbox
 *   unavailable" (no such user), so its text decides.
 * - 5.6.x (media, conversion, malformed message) is `policy`: the content we sent.
 * - 5.7.x is `policy`, except 5.7.17/5.7.18 (RFC 7293: the mailbox or domain has a new owner): `hard`.
 * - 5.1.7/5.1.8 are about our *sender* address: `policy`.
 * - A permanent failure nothing recognises is `soft` and `certain: false`: one unexplained failure
 *   should not cost a reader, repeated ones still suppress through the soft-bounce limit, and a
 *   provider that labels it (e.g. "HardBounce") decides instead (see `orProviderKind`).
 */
export interface Classification {
  kind: BounceKind;
  /** The enhanced status code used or found, e.g. "5.1.1". */
  status: string | null;
  smtpCode: number | null;
  /** False when nothing specific was recognised and `kind` is only a default. */
  certain: boolean;
}

export interface FailureReport {
  status?: string | null;
  smtpCode?: number | null;
  diagnostic?: string | null;
}

interface Status {
  klass: 2 | 4 | 5;
  subject: number;
  detail: number;
}

/** A kind from the status table; `ambiguous` lets the reply text overrule it. */
interface Verdict {
  kind: BounceKind;
  ambiguous: boolean;
}

const STATUS = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])/;
// A reply code where a reply starts: at the beginning, or after "smtp;" / "#" / a quote.
const SMTP_CODE = /(?:^|[\s;:#"'(])([245]\d\d)(?=[\s-]|$)/;

export function readStatus(text: string | null | undefined): string | null {
  const match = text ? STATUS.exec(text) : null;
  return match ? `${match[1]}.${Number(match[2])}.${Number(match[3])}` : null;
}

export function readSmtpCode(text: string | null | undefined): number | null {
  const match = text ? SMTP_CODE.exec(text.trimStart()) : null;
  return match ? Number(match[1]) : null;
}

function parseStatus(status: string | null): Status | null {
  const match = status ? /^([245])\.(\d{1,3})\.(\d{1,3})$/.exec(status) : null;
  if (!match) return null;
  return { klass: Number(match[1]) as 2 | 4 | 5, subject: Number(match[2]), detail: Number(match[3]) };
}

const certain = (kind: BounceKind): Verdict => ({ kind, ambiguous: false });
const unsure = (kind: BounceKind): Verdict => ({ kind, ambiguous: true });

/** RFC 3463 subjects and details for class 5 (class 4 is handled before). */
function permanentVerdict({ subject, detail }: Status): Verdict {
  switch (subject) {
    case 1: // addressing
      if (detail === 7 || detail === 8) return certain('policy'); // our sender address
      return detail === 0 ? unsure('hard') : certain('hard');
    case 2: // mailbox
      if (detail === 1) return certain('hard'); // disabled, not accepting messages
      if (detail === 2 || detail === 4) return certain('soft'); // full; mailing-list expansion
      if (detail === 3) return certain('policy'); // message longer than the mailbox accepts
      return unsure('soft');
    case 3: // the receiving mail system
      if (detail === 3 || detail === 4) return certain('policy'); // features or size we sent
      return detail === 0 ? unsure('soft') : certain('soft');
    case 4: // network and routing
      if (detail === 4) return certain('hard'); // no route to the domain
      return detail === 0 || detail === 1 ? unsure('soft') : certain('soft');
    case 5: // protocol
      return detail === 0 ? unsure('soft') : unsure('policy');
    case 6: // media and content
      return certain('policy');
    case 7: // security and policy
      return detail === 17 || detail === 18 ? certain('hard') : certain('policy');
    default:
      return unsure('soft');
  }
}

// Reply texts, checked in this order. Sender and relay refusals come first: "Sender address rejected"
// must not read as a dead recipient.
const SENDER_REFUSED =
  /\bsender\b.{0,40}\b(rejected|denied|blocked|invalid|not allowed)|\brelay(ing)?\b.{0,20}\b(denied|not permitted)/i;
const MAILBOX_FULL =
  /\b(mailbox|inbox|storage|quota|disk)\b.{0,30}\b(full|exceeded)\b|over ?quota|insufficient (system )?storage/i;
const ADDRESS_GONE = new RegExp(
  [
    String.raw`\b(user|mailbox|recipient|address|account)( name)? (is )?(unknown|not found|does ?n[o']t exist|disabled|deactivated|inactive|invalid|unavailable|not valid)`,
    String.raw`\bno such (user|mailbox|recipient|address|account|person)`,
    String.raw`\bunknown (user|recipient|mailbox|address|account)`,
    String.raw`\binvalid (recipient|mailbox|address|user)`,
    String.raw`\bdoes ?n[o']t exist\b`,
    String.raw`\b(user|recipient|mailbox) (not found|unknown)\b`,
    String.raw`\brecipient address rejected\b`,
    String.raw`\bmailbox (is )?(disabled|unavailable|not found)\b`,
    String.raw`\baccount (has been )?(disabled|closed|terminated|deleted|suspended)\b`,
    String.raw`\bnot (a valid|our) (recipient|customer|user|mailbox)\b`,
    String.raw`\brecipientnotfound\b`,
  ].join('|'),
  'i',
);
const REFUSED_US =
  /spam|\bblock(ed|list)?\b|black ?list|\blisted (on|in|at|by)\b|reputation|\bpolicy\b|dmarc|dkim|\bspf\b|unauthenticated|authentication|unsolicited|rate limit|too many|throttl|banned|not accepted|\bvirus\b|\bcontent\b/i;

function byText(diagnostic: string): BounceKind | null {
  if (SENDER_REFUSED.test(diagnostic)) return 'policy';
  if (MAILBOX_FULL.test(diagnostic)) return 'soft';
  if (ADDRESS_GONE.test(diagnostic)) return 'hard';
  if (REFUSED_US.test(diagnostic)) return 'policy';
  return null;
}

/** The bare SMTP reply code when there is no enhanced status and the text says nothing we know. */
function byCode(code: number): Verdict {
  if (code === 551 || code === 553) return unsure('hard'); // user not local; mailbox name not allowed
  return unsure('soft'); // 550 and 554 are used for everything from "no such user" to "blocked"
}

/**
 * Classifies one failed delivery. `status` is the report's own Status field when it has one; the
 * status and code are also looked for in the diagnostic text ("smtp; 550 5.1.1 …"). A success status
 * (2.x.x) in a failure report says nothing and is ignored.
 */
export function classifyFailure(report: FailureReport): Classification {
  const diagnostic = report.diagnostic ?? '';
  const given = report.status?.trim() ?? '';
  // Some relays put the reply code into the status field ("550"); it is a code, not a status.
  const givenCode = /^[245]\d\d$/.test(given) ? Number(given) : null;
  const fromField = parseStatus(readStatus(given));
  const fromText = parseStatus(readStatus(diagnostic));
  const usable = (status: Status | null) => (status && status.klass !== 2 ? status : null);
  const isGeneric = (status: Status | null) => status !== null && status.subject === 0 && status.detail === 0;
  // A specific status in the text beats a generic one in the field (SendGrid's "5.0.0" with "550 5.1.1 …").
  const status =
    usable(fromField && !(isGeneric(fromField) && usable(fromText)) ? fromField : fromText) ?? usable(fromField);
  const smtpCode = report.smtpCode ?? givenCode ?? readSmtpCode(diagnostic);
  const statusText = status ? `${status.klass}.${status.subject}.${status.detail}` : null;
  const klass = status?.klass ?? (smtpCode !== null ? Math.floor(smtpCode / 100) : null);
  const result = (verdict: Verdict): Classification => ({
    kind: verdict.kind,
    status: statusText,
    smtpCode,
    certain: !verdict.ambiguous,
  });

  if (klass === 4) {
    // Temporary: soft, unless the receiver says it is refusing us (4.7.x, or the text says so).
    if (status) return result(certain(status.subject === 7 ? 'policy' : 'soft'));
    return result(byText(diagnostic) === 'policy' ? certain('policy') : certain('soft'));
  }
  const verdict = status ? permanentVerdict(status) : smtpCode !== null ? byCode(smtpCode) : unsure('soft');
  if (!verdict.ambiguous) return result(verdict);
  const text = byText(diagnostic);
  return result(text ? certain(text) : verdict);
}

/**
 * A relay's own label ("HardBounce", severity "permanent") combined with our classification: where
 * we could not pin the failure down, the label decides; where the status or text is specific, it
 * wins, so a "hard bounce" that is really Microsoft's 5.7.515 authentication block stays `policy`
 * and a full mailbox stays `soft`. A failure the relay calls temporary is never made hard: the relay
 * is still trying.
 */
export function orProviderKind(classification: Classification, providerKind: BounceKind): Classification {
  if (!classification.certain) return { ...classification, kind: providerKind };
  if (providerKind === 'soft' && classification.kind === 'hard') return { ...classification, kind: 'soft' };
  return classification;
}
