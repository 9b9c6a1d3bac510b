/**
 * Is a failed send a request to slow down? The pacer lowers a destination's rate on these and only
 * these: a refused address or a full mailbox says nothing about how fast we send.
 */

/** What a failed send tells, in the terms SMTP and Node use. */
export interface SendFailureFacts {
  /** The SMTP reply code, e.g. 421; null when no reply came (refused or dropped connection, timeout). */
  code: number | null;
  /** The enhanced status code, e.g. `4.7.0`; read from the reply text when not given. */
  enhanced?: string | null;
  /** The server's reply (e.g. `421 4.7.0 Try again later`), or the error's message when there was none. */
  text: string;
  /** Node's or nodemailer's error code, e.g. `ECONNREFUSED` or `ECONNECTION`. */
  errorCode?: string | null;
}

export interface ThrottleSignal {
  /** Slow down for this destination. */
  throttle: boolean;
  /** The pause the reply asked for, in ms (`try again in 30 seconds`); null when it named none. */
  pauseMs: number | null;
  /** Which rule decided, for logs and tests. */
  reason: string;
}

/** Words relays use when they throttle (Postfix anvil, Gmail, Microsoft, Yahoo, SES, generic MTAs). */
const THROTTLE_WORDS =
  /too (?:many|much)|rate[- ]?limit|sending rate|unusual rate|\brate\b|throttl|try (?:again )?later|slow down|server busy|temporarily deferred|unexpected volume/i;
/** Greylisting is a per-message delay (come back once, then it passes), not a rate; slowing down does not help. */
const GREYLISTING = /gr[ae]y ?list/i;
/** Errors without a reply that mean the server does not take us now: slowing down is the right answer. */
const CONNECTION_TROUBLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNECTION']);
/** nodemailer's own "the pool was closed" is our shutdown, not the server's answer. */
const OUR_OWN_CLOSE = /pool was closed/i;

function enhancedOf(facts: SendFailureFacts): string | null {
  if (facts.enhanced) return facts.enhanced;
  return /^\s*\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(facts.text)?.[1] ?? null;
}

function codeOf(facts: SendFailureFacts): number | null {
  if (facts.code !== null) return facts.code;
  const parsed = /^\s*([2-5]\d\d)[ -]/.exec(facts.text)?.[1];
  return parsed === undefined ? null : Number(parsed);
}

/** Decides whether a failed send is a throttling signal, and reads the pause it states, if any. */
export function throttleSignalOf(facts: SendFailureFacts): ThrottleSignal {
  const code = codeOf(facts);
  const pauseMs = statedPauseMs(facts.text);
  const signal = (throttle: boolean, reason: string): ThrottleSignal => ({
    throttle,
    pauseMs: throttle ? pauseMs : null,
    reason,
  });
  if (code === null) {
    const errorCode = facts.errorCode ?? '';
    const named = [...CONNECTION_TROUBLE].find((name) => errorCode === name || facts.text.includes(name));
    if (named && !OUR_OWN_CLOSE.test(facts.text)) return signal(true, `no reply: ${named}`);
    // nodemailer's pool gives up with this after the server closed one connection after another.
    if (/maximum number of retries after connection was closed/i.test(facts.text))
      return signal(true, 'no reply: connections kept closing');
    return signal(false, 'no reply, not a refusal (DNS, TLS, authentication)');
  }
  if (code < 400 || code >= 500) return signal(false, `${code}: not a temporary failure`);
  if (GREYLISTING.test(facts.text)) return signal(false, 'greylisting');
  const enhanced = enhancedOf(facts);
  // X.2.X is about one mailbox (full, or Gmail's "this user receives mail at a rate..."): defer that
  // recipient, but the destination as a whole is fine.
  if (enhanced?.split('.')[1] === '2') return signal(false, `${code} ${enhanced}: about one mailbox`);
  if (code === 421) return signal(true, '421: service not available (throttling or overload)');
  if (code === 454) return signal(true, '454: temporary refusal (SES throttling)');
  if (code === 451 && enhanced?.startsWith('4.7.')) return signal(true, `451 ${enhanced}: policy deferral`);
  if (THROTTLE_WORDS.test(facts.text)) return signal(true, `${code}: reply says slow down`);
  return signal(false, `${code}: temporary, not about our rate`);
}

const UNIT_MS: Array<[RegExp, number]> = [
  [/^(?:ms|milliseconds?)$/i, 1],
  [/^(?:s|secs?|seconds?)$/i, 1000],
  [/^(?:m|mins?|minutes?)$/i, 60_000],
  [/^(?:h|hrs?|hours?)$/i, 3_600_000],
];
// "try again in 30 seconds", "retry after 60s", "Try again later in 5 minutes", "wait 10 minutes"
const PAUSE_IN_UNITS =
  /\b(?:try(?: again)?(?: later)?|retry|come back|wait|resend)(?:\s+(?:in|after|for))?\s+(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\b/i;
// "please come back in 00:05:00"
const PAUSE_AS_CLOCK =
  /\b(?:try(?: again)?(?: later)?|retry|come back|wait|resend)(?:\s+(?:in|after|for))?\s+(\d{1,2}):(\d{2}):(\d{2})\b/i;

/** The pause a reply asks for, in milliseconds; null when it names none (or names zero). */
export function statedPauseMs(text: string): number | null {
  const clock = PAUSE_AS_CLOCK.exec(text);
  if (clock) {
    const [, hours = '0', minutes = '0', seconds = '0'] = clock;
    const ms = ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
    return ms > 0 ? ms : null;
  }
  const match = PAUSE_IN_UNITS.exec(text);
  if (!match) return null;
  const [, amount = '0', unit = ''] = match;
  const perUnit = UNIT_MS.find(([pattern]) => pattern.test(unit))?.[1] ?? 1000;
  const ms = Math.round(Number(amount) * perUnit);
  return ms > 0 ? ms : null;
}

interface NodemailerError {
  responseCode?: unknown;
  response?: unknown;
  code?: unknown;
  originalCode?: unknown;
  message?: unknown;
}

/** The facts of an error nodemailer rejected `sendMail` with (or any thrown value). */
export function failureFactsOf(error: unknown): SendFailureFacts {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as NodemailerError;
  const text =
    typeof shape.response === 'string'
      ? shape.response
      : typeof shape.message === 'string'
        ? shape.message
        : String(error);
  // nodemailer keeps the system error (ECONNREFUSED) as originalCode when it sets its own (ECONNECTION).
  const errorCode =
    typeof shape.originalCode === 'string' ? shape.originalCode : typeof shape.code === 'string' ? shape.code : null;
  return { code: typeof shape.responseCode === 'number' ? shape.responseCode : null, text, errorCode };
}
