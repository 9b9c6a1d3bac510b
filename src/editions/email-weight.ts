import { longestSize, type PersonalizedText } from '../platform/personal-fields.ts';

/**
 * Gmail shows only the first ~102 KB of a message's HTML and hides the rest behind "View entire
 * message": the footer with the unsubscribe and preferences links, and the open pixel, disappear.
 */
export const GMAIL_CLIP_BYTES = 102_000;

/**
 * An edition's email HTML stays within this many bytes as sent to any reader (their name, address
 * and links at their longest): under Gmail's clip, with room for what forwarding and Gmail's own
 * rewriting add. An edition that would be heavier leaves its last articles to the browser version.
 */
export const EMAIL_HTML_BUDGET = 90_000;

/** About what the "N more stories in the browser version" link adds once some articles are left out. */
const MORE_LINK_BYTES = 400;

/** The most the email HTML weighs for any reader. */
export function emailWeight(html: PersonalizedText, publicUrl: string): number {
  return longestSize(html, publicUrl);
}

/**
 * How many of the first articles to keep so that `excess` bytes go, dropping from the end (the
 * editors' order puts the least important last). `weights` are the articles' sizes before MJML,
 * close to what each adds to the compiled email; the caller compiles again and checks, so an
 * estimate that falls short only costs one more compile. Always keeps fewer than `keep`.
 */
export function keepWithin(weights: number[], keep: number, excess: number, firstCut = false): number {
  let saved = firstCut ? -MORE_LINK_BYTES : 0;
  let kept = keep;
  while (kept > 0 && (kept === keep || saved < excess)) {
    kept -= 1;
    saved += weights[kept] ?? 0;
  }
  return kept;
}
