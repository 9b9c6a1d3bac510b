import { describe, expect, it } from 'vitest';
import { ReplyScanner } from '../../src/platform/embedded-postgres/session-queue.ts';

/** One backend message: type, length (counting itself), body. */
function message(type: string, body: number[] = []): number[] {
  const length = Buffer.alloc(4);
  length.writeInt32BE(4 + body.length);
  return [type.charCodeAt(0), ...length, ...body];
}

const bytes = (...messages: number[][]) => Uint8Array.from(messages.flat());
const ready = (status: string) => message('Z', [status.charCodeAt(0)]);

describe('ReplyScanner', () => {
  it('finds the ReadyForQuery status at the end of a reply', () => {
    const scanner = new ReplyScanner();
    scanner.push(bytes(message('1'), message('2'), message('C', [...Buffer.from('SELECT 1\0')]), ready('T')));
    expect(scanner.readyStatus).toBe('T');
  });

  it('has none while a reply has no ReadyForQuery (Parse answered, Sync still to come)', () => {
    const scanner = new ReplyScanner();
    scanner.push(bytes(message('1')));
    expect(scanner.readyStatus).toBeNull();
  });

  it('follows messages split anywhere across chunks, and is not fooled by a Z inside a row', () => {
    const reply = bytes(
      message('D', [0, 1, 0, 0, 0, 1, 'Z'.charCodeAt(0)]),
      message('C', [...Buffer.from('SELECT 1\0')]),
      ready('I'),
    );
    for (let size = 1; size <= reply.length; size += 1) {
      const scanner = new ReplyScanner();
      const seen: Array<string | null> = [];
      for (let at = 0; at < reply.length; at += size) {
        scanner.push(reply.subarray(at, at + size));
        seen.push(scanner.readyStatus);
      }
      // Known only once the last byte is in.
      expect(seen, `chunks of ${size}`).toEqual([...Array<null>(seen.length - 1).fill(null), 'I']);
    }
  });
});
