import { describe, expect, it } from 'vitest';
import type { RefusedPart } from '../../../src/delivery/mail-sender.ts';
import { refusalReport } from '../../../src/feedback/send-refusal.ts';

const refusal = (refused: RefusedPart, code: number, reply: string) =>
  refusalReport({
    refused,
    code,
    reply,
    email: 'reader@example.test',
    edition: '2026-11-24',
    eventId: '2026-11-24/main/7',
    at: new Date('2026-11-24T18:31:00Z'),
  });

/** A refusal at send time, classified by the rules every bounce report follows (classify.ts); what was refused decides only where the reply says nothing. */
describe('refusalReport', () => {
  it.each<[string, RefusedPart, number, string, 'hard' | 'soft' | 'policy', string | null]>([
    [
      'a recipient policy at RCPT TO',
      'recipient',
      550,
      '550 5.7.1 Message rejected by recipient policy',
      'policy',
      '5.7.1',
    ],
    [
      "Microsoft's authentication block at RCPT TO",
      'recipient',
      550,
      '550 5.7.515 Access denied, sending domain example.test does not meet the required authentication level.',
      'policy',
      '5.7.515',
    ],
    ['a content block after DATA', 'message', 550, '550 5.7.1 Message content rejected by policy', 'policy', '5.7.1'],
    ['a message too big after DATA', 'message', 552, '552 5.3.4 Message size exceeds fixed limit', 'policy', '5.3.4'],
    ['a policy named only in words at RCPT TO', 'recipient', 554, '554 Rejected by recipient policy', 'policy', null],
    [
      'no such user at RCPT TO',
      'recipient',
      550,
      '550 5.1.1 <reader@example.test>: Recipient address rejected: User unknown',
      'hard',
      '5.1.1',
    ],
    ['no such user after DATA', 'message', 550, '550 5.1.1 No such user here', 'hard', '5.1.1'],
    ['a full mailbox at RCPT TO', 'recipient', 552, '552 5.2.2 Mailbox full', 'soft', '5.2.2'],
    [
      'an unexplained refusal at RCPT TO: the recipient',
      'recipient',
      550,
      '550 Requested action not taken',
      'hard',
      null,
    ],
    ['an unexplained refusal after DATA: the message', 'message', 554, '554 Transaction failed', 'policy', null],
  ])('reads %s', (_label, refused, code, reply, kind, status) => {
    expect(refusal(refused, code, reply)).toMatchObject({ kind, status, smtpCode: code });
  });

  it('keeps the reply as one line, with who and what it was about, as the source `smtp`', () => {
    expect(refusal('recipient', 550, '550-5.7.1 Message rejected\r\n550 5.7.1 by recipient policy')).toEqual({
      source: 'smtp',
      eventId: '2026-11-24/main/7',
      kind: 'policy',
      email: 'reader@example.test',
      status: '5.7.1',
      smtpCode: 550,
      diagnostic: '550-5.7.1 Message rejected by recipient policy',
      at: new Date('2026-11-24T18:31:00Z'),
      edition: '2026-11-24',
      messageId: null,
      verpToken: null,
    });
  });
});
