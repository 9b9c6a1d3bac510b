/**
 * Which pace a recipient's mail shares. Providers that take several domains into the same mail
 * servers, and count them against one limit, are one destination; every other domain is its own.
 *
 * Kept short on purpose: only the large consumer providers whose sibling domains share their MX
 * hosts. Country variants are matched by pattern (`hotmail.fr`, `live.co.uk`, `yahoo.com.br`); a
 * stray domain caught by a pattern only shares that provider's pace, which costs speed, never mail.
 */
const GROUPS: ReadonlyArray<readonly [RegExp, string]> = [
  // Google: googlemail.com is the old name of gmail.com (Germany, UK), same mailboxes and MX.
  [/^(?:gmail|googlemail)\.com$/, 'gmail.com'],
  // Microsoft consumer mail (Outlook.com): every one of these is served by *.olc.protection.outlook.com.
  [/^(?:outlook|hotmail|live)\.(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})$|^msn\.com$/, 'outlook.com'],
  // Yahoo: its country domains, ymail.com, rocketmail.com, and aol.com (AOL mail is served by Yahoo's
  // MX, mx-aol.mail.gm0.yahoodns.net). yahoo.co.jp is Yahoo! JAPAN, another company with its own servers.
  [/^yahoo\.(?!co\.jp$)(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})$|^(?:ymail|rocketmail|aol)\.com$/, 'yahoo.com'],
  // Apple: me.com and mac.com are iCloud Mail addresses.
  [/^(?:icloud|me|mac)\.com$/, 'icloud.com'],
];

/** The destination of an address: its lower-cased domain, or the provider group the domain belongs to. */
export function destinationOf(address: string): string {
  const destination = destinationIfAny(address);
  if (destination === null) throw new Error(`"${address}" has no domain`);
  return destination;
}

/** As `destinationOf`, or null for a text without a domain (a report from outside may name anything). */
export function destinationIfAny(address: string): string | null {
  const at = address.lastIndexOf('@');
  const domain = address
    .slice(at + 1)
    .trim()
    .toLowerCase()
    .replace(/\.$/, '');
  if (at < 0 || domain === '') return null;
  for (const [pattern, destination] of GROUPS) if (pattern.test(domain)) return destination;
  return domain;
}
