import { describe, expect, it } from 'vitest';
import { classifyFailure, orProviderKind, readSmtpCode, readStatus } from '../../../src/feedback/classify.ts';
import { diagnosticLine } from '../../../src/feedback/event.ts';

// Replies as the big receivers and Postfix send them (status field empty unless a DSN carries one).
const replies: Array<[string, string, string | null, 'hard' | 'soft' | 'policy', string | null, number | null]> = [
  // label, reply text, Status field, kind, status found, code found
  [
    'Gmail: no such account',
    "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser - gsmtp",
    null,
    'hard',
    '5.1.1',
    550,
  ],
  [
    'Gmail: account disabled',
    '550-5.2.1 The email account that you tried to reach is disabled. https://support.google.com/mail/?p=DisabledUser - gsmtp',
    null,
    'hard',
    '5.2.1',
    550,
  ],
  [
    'Gmail: over quota',
    '552-5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm - gsmtp',
    null,
    'soft',
    '5.2.2',
    552,
  ],
  [
    'Gmail: receiving too fast',
    '450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered. - gsmtp',
    null,
    'soft',
    '4.2.1',
    450,
  ],
  [
    'Gmail: DMARC',
    "550-5.7.26 Unauthenticated email from example.org is not accepted due to domain's DMARC policy. - gsmtp",
    null,
    'policy',
    '5.7.26',
    550,
  ],
  [
    'Gmail: unsolicited (permanent)',
    '550-5.7.1 [203.0.113.9] Gmail has detected that this message is likely unsolicited mail. - gsmtp',
    null,
    'policy',
    '5.7.1',
    550,
  ],
  [
    'Gmail: rate limited (temporary)',
    '421-4.7.28 [203.0.113.9] Our system has detected an unusual rate of unsolicited mail originating from your IP address. - gsmtp',
    null,
    'policy',
    '4.7.28',
    421,
  ],
  [
    'Gmail: malformed message',
    '554 5.6.0 Mail message is malformed. Not accepted. - gsmtp',
    null,
    'policy',
    '5.6.0',
    554,
  ],
  [
    'Microsoft: authentication level',
    "550 5.7.515 Access denied, sending domain example.org does not meet the required authentication level. The sender's domain in the 5322.From address doesn't meet the authentication requirements defined for the sender.",
    null,
    'policy',
    '5.7.515',
    550,
  ],
  [
    'Microsoft: mailbox unavailable',
    '550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [BN1NAM02FT047.eop-nam02.prod.protection.outlook.com]',
    null,
    'hard',
    '5.5.0',
    550,
  ],
  [
    'Microsoft: recipient not in tenant',
    '550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors [DM6NAM12FT012.eop-nam12.prod.protection.outlook.com]',
    null,
    'hard',
    '5.4.1',
    550,
  ],
  [
    'Microsoft: recipient not found',
    '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient reader@contoso.example not found by SMTP address lookup',
    null,
    'hard',
    '5.1.10',
    550,
  ],
  [
    'Microsoft: banned IP',
    '550 5.7.606 Access denied, banned sending IP [203.0.113.9]. To request removal from this list please visit https://sender.office.com/',
    null,
    'policy',
    '5.7.606',
    550,
  ],
  [
    'Microsoft: IP reputation deferral',
    '451 4.7.650 The mail server [203.0.113.9] has been temporarily rate limited due to IP reputation.',
    null,
    'policy',
    '4.7.650',
    451,
  ],
  ['Microsoft: system resources', '452 4.3.1 Insufficient system resources', null, 'soft', '4.3.1', 452],
  ['Yahoo: mailbox not found', '552 1 Requested mail action aborted, mailbox not found', null, 'hard', null, 552],
  [
    'Yahoo: mailbox disabled',
    '554 delivery error: dd Sorry your message to reader@yahoo.com cannot be delivered. This mailbox is disabled (554.30). - mta1234.mail.bf1.yahoo.com',
    null,
    'hard',
    null,
    554,
  ],
  [
    'Yahoo: deferred for volume',
    '421 4.7.0 [TSS04] Messages from 203.0.113.9 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
    null,
    'policy',
    '4.7.0',
    421,
  ],
  [
    'Yahoo: permanently deferred',
    '553 5.7.2 [TSS09] All messages from 203.0.113.9 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes',
    null,
    'policy',
    '5.7.2',
    553,
  ],
  [
    'Yahoo: policy reasons',
    '554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes',
    null,
    'policy',
    '5.7.9',
    554,
  ],
  [
    'Postfix: user unknown',
    '550 5.1.1 <reader@example.net>: Recipient address rejected: User unknown in virtual mailbox table',
    '5.1.1',
    'hard',
    '5.1.1',
    550,
  ],
  [
    'Postfix: no such domain',
    'Host or domain name not found. Name service error for name=example.invalid type=A: Host not found',
    '5.4.4',
    'hard',
    '5.4.4',
    null,
  ],
  [
    'Postfix: mailbox full',
    '452 4.2.2 <reader@example.net>: Recipient address rejected: Mailbox full',
    '4.2.2',
    'soft',
    '4.2.2',
    452,
  ],
  [
    'Postfix: connection timed out',
    'delivery temporarily suspended: connect to mx.example.net[192.0.2.25]:25: Connection timed out',
    '4.4.1',
    'soft',
    '4.4.1',
    null,
  ],
  [
    'Postfix: relay access denied',
    '554 5.7.1 <reader@example.net>: Relay access denied',
    '5.7.1',
    'policy',
    '5.7.1',
    554,
  ],
  [
    'Postfix: greylisted',
    '450 4.7.1 <reader@example.net>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.net.html',
    '4.7.1',
    'policy',
    '4.7.1',
    450,
  ],
  [
    'Postfix: too big',
    'message size 31457280 exceeds size limit 10240000 of server mx.example.net[192.0.2.25]',
    '5.3.4',
    'policy',
    '5.3.4',
    null,
  ],
  ['Postfix: mail loops', 'mail for example.net loops back to myself', '5.4.6', 'soft', '5.4.6', null],
  [
    'Postfix: sender rejected',
    '553 5.1.0 <bounce@example.org>: Sender address rejected: Domain not found',
    null,
    'policy',
    '5.1.0',
    553,
  ],
  [
    'Spamhaus block',
    '554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org',
    null,
    'policy',
    '5.7.1',
    554,
  ],
  ['new owner (RFC 7293)', '550 5.7.17 Mailbox owner has changed', null, 'hard', '5.7.17', 550],
  ['bare 550 with a known text', '550 Requested action not taken: mailbox unavailable', null, 'hard', null, 550],
  ['bare 554 nothing known', '554 Transaction failed', null, 'soft', null, 554],
  ['generic status field, specific text', '550 5.1.1 No such user', '5.0.0', 'hard', '5.1.1', 550],
  ['status field with comment', 'smtp; 550 No such user here', '5.0.0 (permanent failure)', 'hard', '5.0.0', 550],
];

describe('classifyFailure', () => {
  it.each(replies)('%s', (_label, diagnostic, status, kind, foundStatus, foundCode) => {
    const result = classifyFailure({ status, diagnostic });
    expect(result).toMatchObject({ kind, status: foundStatus, smtpCode: foundCode });
  });

  it.each([
    ['5.1.1', 'hard'],
    ['5.1.2', 'hard'],
    ['5.1.3', 'hard'],
    ['5.1.6', 'hard'],
    ['5.1.7', 'policy'],
    ['5.1.8', 'policy'],
    ['5.2.1', 'hard'],
    ['5.2.2', 'soft'],
    ['5.2.3', 'policy'],
    ['5.3.1', 'soft'],
    ['5.3.4', 'policy'],
    ['5.4.4', 'hard'],
    ['5.4.7', 'soft'],
    ['5.5.3', 'policy'],
    ['5.6.1', 'policy'],
    ['5.7.1', 'policy'],
    ['5.7.26', 'policy'],
    ['5.7.18', 'hard'],
    ['4.2.2', 'soft'],
    ['4.4.7', 'soft'],
    ['4.7.0', 'policy'],
  ] as const)('status %s alone is %s', (status, kind) => {
    expect(classifyFailure({ status }).kind).toBe(kind);
  });

  it('marks an unexplained permanent failure as uncertain soft, so a provider label can decide', () => {
    const unexplained = classifyFailure({ status: '5.0.0', diagnostic: 'Transaction failed' });
    expect(unexplained).toMatchObject({ kind: 'soft', certain: false });
    expect(orProviderKind(unexplained, 'hard').kind).toBe('hard');
    const known = classifyFailure({ status: '5.7.515' });
    expect(orProviderKind(known, 'hard').kind).toBe('policy');
  });

  it('ignores a success status in a failure report', () => {
    expect(classifyFailure({ status: '2.0.0', diagnostic: '550 5.1.1 user unknown' })).toMatchObject({
      kind: 'hard',
      status: '5.1.1',
    });
  });

  it('takes an explicit SMTP code over one in the text', () => {
    expect(classifyFailure({ smtpCode: 552, diagnostic: 'mailbox full' })).toMatchObject({
      kind: 'soft',
      smtpCode: 552,
    });
  });

  it('defaults to an uncertain soft bounce with nothing to go on', () => {
    expect(classifyFailure({})).toEqual({ kind: 'soft', status: null, smtpCode: null, certain: false });
  });
});

describe('readStatus and readSmtpCode', () => {
  it.each([
    ['smtp; 550-5.1.1 The email account', '5.1.1', 550],
    ['550 5.7.515 Access denied', '5.7.515', 550],
    ['#5.1.1 user unknown', '5.1.1', null],
    ['connect to 192.0.2.1 failed', null, null],
    ['Invalid recipient <a@b.example> (#5.1.1)', '5.1.1', null],
    ['This mailbox is disabled (554.30)', null, null],
    ['', null, null],
  ])('%j', (text, status, code) => {
    expect(readStatus(text)).toBe(status);
    expect(readSmtpCode(text)).toBe(code);
  });
});

describe('diagnosticLine', () => {
  it('joins a multi-line reply into one line and drops the repeated code prefixes', () => {
    const reply =
      "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n550-5.1.1 double-checking the recipient's email address for typos or\r\n550 5.1.1 unnecessary spaces. - gsmtp";
    expect(diagnosticLine(reply)).toBe(
      "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. - gsmtp",
    );
  });

  it('removes control characters and keeps at most 300 characters', () => {
    const line = diagnosticLine(`bad\u0000 news\u2028${'x'.repeat(400)}`);
    expect(line.startsWith('bad news x')).toBe(true);
    expect(line).toHaveLength(300);
    expect(line.endsWith('…')).toBe(true);
  });

  it('is empty for nothing', () => {
    expect(diagnosticLine(null)).toBe('');
    expect(diagnosticLine('  \r\n ')).toBe('');
  });
});
