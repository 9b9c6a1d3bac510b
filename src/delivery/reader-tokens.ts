import { createHmac, timingSafeEqual } from 'node:crypto';

const READER_BYTES = 12;
const TAG_BYTES = 9;

/**
 * Tracking tokens (TRACKING) that reveal nothing: a per-edition pseudonym of the reader (an HMAC of
 * edition and subscriber id, so neither the id nor the same reader across editions can be read from
 * it) followed by a tag that proves we issued it. Opens and clicks count the pseudonym; nobody, us
 * included, can turn a token or a count back into a reader.
 */
export class ReaderTokens {
  constructor(private readonly secret: string) {}

  token(edition: string, subscriberId: string): string {
    const reader = this.mac(`track-reader:${edition}:${subscriberId}`).subarray(0, READER_BYTES).toString('base64url');
    return reader + this.tag(reader);
  }

  /** The pseudonym inside a token we issued, or null for anything else. */
  reader(token: string): string | null {
    if (token.length !== 28 || !/^[\w-]+$/.test(token)) return null;
    const reader = token.slice(0, 16);
    const given = Buffer.from(token.slice(16));
    const expected = Buffer.from(this.tag(reader));
    return given.length === expected.length && timingSafeEqual(given, expected) ? reader : null;
  }

  private tag(reader: string): string {
    return this.mac(`track-tag:${reader}`).subarray(0, TAG_BYTES).toString('base64url');
  }

  private mac(text: string): Buffer {
    return createHmac('sha256', this.secret).update(text).digest();
  }
}
