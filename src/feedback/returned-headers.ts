import { findEntity, type HeaderFields, type MimeEntity, readMessage } from './mime.ts';

/**
 * The headers of our message as a report returns it: the `message/rfc822` (or RFC 6532
 * `message/global`) copy, or just its headers (`text/rfc822-headers`, `message/global-headers`).
 */
const RETURNED_TYPES = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers']);

export function returnedHeaders(report: MimeEntity): HeaderFields | null {
  const returned = report.parts.find((part) => RETURNED_TYPES.has(part.type));
  return returned ? readMessage(returned.body).headers : null;
}

/** The returned headers in a whole report message (a relay's dump of the bounce it got), if any. */
export function returnedHeadersInReport(raw: Buffer | string): HeaderFields | null {
  const report = findEntity(readMessage(raw), (entity) => entity.type === 'multipart/report');
  return report ? returnedHeaders(report) : null;
}
