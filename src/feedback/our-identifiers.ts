import type { OurIdentifiers } from './event.ts';
import type { HeaderFields } from './mime.ts';
import { verpTokenIn } from './verp.ts';

/**
 * Our own identifiers in what a report gives back of the message we sent: the X-Edition header, the
 * Message-ID, and the VERP token in the Return-Path (the receiving MTA writes our envelope sender
 * there). Reports are outside input: a value that is not shaped like ours is dropped, not passed on.
 */
export function messageIdOf(value: string | null | undefined): string | null {
  if (!value) return null;
  const bare = value
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .trim();
  return /^[^\s<>@]{1,200}@[^\s<>@]{1,200}$/.test(bare) ? bare : null;
}

export function editionOf(value: string | null | undefined): string | null {
  const trimmed = value?.trim() ?? '';
  return /^[A-Za-z0-9._-]{1,64}$/.test(trimmed) ? trimmed : null;
}

export interface IdentifierOptions {
  /** Our configured bounce base address; when given, only a Return-Path on it counts. */
  bounceAddress?: string;
}

export function identifiersIn(headers: HeaderFields | null, options: IdentifierOptions = {}): OurIdentifiers {
  if (!headers) return { edition: null, messageId: null, verpToken: null };
  return {
    edition: editionOf(headers.get('x-edition')),
    messageId: messageIdOf(headers.get('message-id')),
    verpToken: verpTokenIn(headers.get('return-path'), options.bounceAddress),
  };
}

/** Fills the gaps of the first set of identifiers from the second (e.g. the envelope before the returned headers). */
export function mergeIdentifiers(first: OurIdentifiers, second: OurIdentifiers): OurIdentifiers {
  return {
    edition: first.edition ?? second.edition,
    messageId: first.messageId ?? second.messageId,
    verpToken: first.verpToken ?? second.verpToken,
  };
}
