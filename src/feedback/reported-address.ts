/**
 * The recipient address as a report gives it: `rfc822; reader@example.net` (DSN and ARF fields),
 * `<reader@example.net>`, or `Reader <reader@example.net>` (a returned To header). Null when there is
 * none, or when the reporter redacted it (Microsoft's and AOL's complaint reports do: "redacted",
 * "xxxxxxxx@hotmail.com"), so that a placeholder never reaches the subscriber store as an address.
 */
export function reportedAddress(value: string | null | undefined): string | null {
  if (!value) return null;
  let address = value.trim();
  const typed = /^([A-Za-z0-9-]+)\s*;\s*(.*)$/.exec(address);
  if (typed) {
    // Address types of RFC 3464 and RFC 6533; an "x400;" address is nobody we mail.
    if (!['rfc822', 'utf-8'].includes((typed[1] ?? '').toLowerCase())) return null;
    address = typed[2] ?? '';
  }
  const bracketed = /<([^<>]*)>/.exec(address);
  if (bracketed) address = bracketed[1] ?? '';
  address = address.trim();
  // A single address only: no spaces, lists or comments, one @, a dotted domain.
  const match = /^([^\s@<>(),;:"]{1,64})@([^\s@<>(),;:"]{1,253}\.[^\s@<>(),;:".]{1,63})$/.exec(address);
  if (!match) return null;
  const [, local = '', domain = ''] = match;
  if (/redacted|^(x+|\*+|#+|-+|_+|\.+|anonymous|unknown|hidden)$/i.test(local) || /redacted/i.test(domain)) return null;
  return address;
}
