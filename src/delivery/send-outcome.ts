import { classifySendError, type SendFailure } from './mail-sender.ts';
import { failureFactsOf, throttleSignalOf } from './pacing/throttle-signals.ts';

/** No reply at all because the relay cannot be reached: about the transport, not the recipient. */
const UNREACHABLE = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/;
/**
 * The connection broke under the message: reset, closed mid-session, or (nodemailer's pool) closed
 * before the message went out, as a relay closes a connection after its 421 to another recipient.
 * Nothing says the recipient or the message is at fault.
 */
const CONNECTION_BROKE =
  /ECONNRESET|EPIPE|connection closed unexpectedly|maximum number of retries after connection was closed/i;

/**
 * Why a send did not go, in the terms the send path acts on:
 * - `throttled`: the relay asks us to slow down for this destination (421, 454, 451 4.7.x, "rate",
 *   "too many"...): the recipient waits for the destination's pace, and no attempt is spent;
 * - `unreachable`: the transport cannot be reached or turns every session away at the greeting: it
 *   leaves the rotation for a while and the recipient goes through another one;
 * - `unsent`: the connection broke under the message: sent again (through a transport in rotation)
 *   at no attempt's cost; a transport whose connections keep breaking leaves the rotation;
 * - `deferred` / `failed`: what classifySendError says (temporary with backoff, or permanent).
 */
export type SendTrouble =
  | { kind: 'throttled'; code: number; reply: string; pauseMs: number | null }
  | { kind: 'unsent'; code: null; reply: string }
  | { kind: 'unreachable'; code: null | number; reply: string }
  | SendFailure;

export function troubleOf(error: unknown): SendTrouble {
  const failure = classifySendError(error);
  const facts = failureFactsOf(error);
  const message = error instanceof Error ? error.message : '';
  if (facts.code === null) {
    if (UNREACHABLE.test(`${facts.errorCode ?? ''} ${facts.text}`))
      return { kind: 'unreachable', code: null, reply: failure.reply };
    return CONNECTION_BROKE.test(`${facts.errorCode ?? ''} ${facts.text}`)
      ? { kind: 'unsent', code: null, reply: failure.reply }
      : failure;
  }
  // A relay that turns sessions away at the greeting takes nothing from us at all.
  if (/invalid greeting/i.test(message) && facts.code >= 400 && facts.code < 500)
    return { kind: 'unreachable', code: facts.code, reply: failure.reply };
  const signal = throttleSignalOf(facts);
  if (failure.kind === 'deferred' && signal.throttle)
    return { kind: 'throttled', code: facts.code, reply: failure.reply, pauseMs: signal.pauseMs };
  return failure;
}
