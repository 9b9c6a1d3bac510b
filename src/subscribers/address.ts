import { domainToASCII } from 'node:url';
import { hasInvisibleFormatting } from '../platform/invisible-characters.ts';

/**
 * Email address rules for sign-up. Deliberately stricter than RFC 5321 where real mailboxes never
 * go (quoted local parts, IP literals, comments), because every accepted address is later written
 * into an SMTP envelope and a `To:` header.
 */
/** What is wrong with an address, for pages that say it in the reader's language (locale keys `problem.email.*`). */
export type AddressProblem = 'required' | 'tooLong' | 'characters' | 'oneAt' | 'localPart' | 'domain';
export type AddressCheck =
  { ok: true; address: string; lookupKey: string } | { ok: false; reason: string; problem: AddressProblem };
/** What is wrong with a name (locale keys `problem.name.*`). */
export type NameProblem = 'notText' | 'tooLong' | 'control' | 'invisible';

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether text holds a control character (C0 or DEL): no address or console name has one, and PostgreSQL refuses a NUL byte. */
export function hasControlCharacter(text: string): boolean {
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  return /[\u0000-\u001f\u007f]/.test(text);
}

export function checkAddress(input: unknown): AddressCheck {
  if (typeof input !== 'string') return { ok: false, reason: 'email is required', problem: 'required' };
  const trimmed = input.trim();
  if (trimmed.length === 0) return { ok: false, reason: 'email is required', problem: 'required' };
  if (trimmed.length > 254) return { ok: false, reason: 'email is longer than 254 characters', problem: 'tooLong' };
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\s<>(),;:"[\]\\]/.test(trimmed)) {
    return { ok: false, reason: 'email contains characters that are not allowed', problem: 'characters' };
  }
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || trimmed.indexOf('@') !== at) return { ok: false, reason: 'email must have one @', problem: 'oneAt' };
  const local = trimmed.slice(0, at);
  const domain = domainToASCII(trimmed.slice(at + 1).toLowerCase());
  if (local.length > 64 || !LOCAL_PART.test(local))
    return { ok: false, reason: 'the part before @ is not valid', problem: 'localPart' };
  const labels = domain.split('.');
  if (!domain || domain.length > 253 || labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label))) {
    return { ok: false, reason: 'the domain is not valid', problem: 'domain' };
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? ''))
    return { ok: false, reason: 'the domain is not valid', problem: 'domain' };
  const address = `${local}@${domain}`;
  if (address.length > 254) return { ok: false, reason: 'email is longer than 254 characters', problem: 'tooLong' };
  return { ok: true, address, lookupKey: address.toLowerCase() };
}

/**
 * A display name for greetings: one line of printable text, or nothing. Refused rather than
 * cleaned, as addresses are: a name with a bidi override or a zero-width space was made to look
 * like something it is not, and the reader can type it again.
 */
export function checkName(
  input: unknown,
): { ok: true; name: string } | { ok: false; reason: string; problem: NameProblem } {
  if (input === undefined || input === null) return { ok: true, name: '' };
  if (typeof input !== 'string') return { ok: false, reason: 'name must be text', problem: 'notText' };
  const name = input.trim();
  if (name.length > 100) return { ok: false, reason: 'name is longer than 100 characters', problem: 'tooLong' };
  // eslint-disable-next-line no-control-regex -- CR/LF and other controls (C1 too: U+009B starts a terminal sequence) would break headers and layout
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name))
    return { ok: false, reason: 'name contains control characters', problem: 'control' };
  if (hasInvisibleFormatting(name))
    return { ok: false, reason: 'name contains invisible formatting characters', problem: 'invisible' };
  return { ok: true, name };
}
