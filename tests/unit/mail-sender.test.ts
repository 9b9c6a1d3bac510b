import { describe, expect, it } from 'vitest';
import { type SendFailure, classifySendError } from '../../src/delivery/mail-sender.ts';

/** The shape of the errors nodemailer rejects with. */
const smtpError = (responseCode: number, command: string, response: string) =>
  Object.assign(new Error(`Can't send mail - ${response}`), { responseCode, command, response, code: 'EENVELOPE' });

describe('classifySendError', () => {
  it.each<[string, unknown, Partial<SendFailure>]>([
    [
      '550 to RCPT TO (no such mailbox)',
      smtpError(550, 'RCPT TO', '550 5.1.1 <x@example.test>: user unknown'),
      { kind: 'failed', refused: 'recipient', code: 550 },
    ],
    [
      '553 to RCPT TO',
      smtpError(553, 'RCPT TO', '553 5.1.3 bad address'),
      { kind: 'failed', refused: 'recipient', code: 553 },
    ],
    [
      '554 to DATA (message refused)',
      smtpError(554, 'DATA', '554 5.7.1 message rejected as spam'),
      { kind: 'failed', refused: 'message', code: 554 },
    ],
    [
      '552 to DATA',
      smtpError(552, 'DATA', '552 5.3.4 message too big'),
      { kind: 'failed', refused: 'message', code: 552 },
    ],
    ['421 to RCPT TO', smtpError(421, 'RCPT TO', '421 4.7.0 try again later'), { kind: 'deferred', code: 421 }],
    ['451 to DATA', smtpError(451, 'DATA', '451 4.3.0 local error'), { kind: 'deferred', code: 451 }],
    [
      '450 to RCPT TO (greylisting)',
      smtpError(450, 'RCPT TO', '450 4.2.0 greylisted'),
      { kind: 'deferred', code: 450 },
    ],
    [
      '535 to AUTH PLAIN',
      smtpError(535, 'AUTH PLAIN', '535 5.7.8 authentication failed'),
      { kind: 'deferred', code: 535 },
    ],
    [
      '550 to MAIL FROM (our sender refused)',
      smtpError(550, 'MAIL FROM', '550 5.7.1 sender rejected'),
      { kind: 'deferred', code: 550 },
    ],
    ['554 to the greeting', smtpError(554, 'CONN', '554 no service'), { kind: 'deferred', code: 554 }],
  ])('treats %s', (_label, error, expected) => {
    expect(classifySendError(error)).toMatchObject(expected);
  });

  it('keeps the server reply', () => {
    expect(classifySendError(smtpError(550, 'RCPT TO', '550 5.1.1 user unknown')).reply).toBe('550 5.1.1 user unknown');
  });

  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ECONNECTION' }),
      'ECONNECTION: connect ECONNREFUSED 127.0.0.1:25',
    ],
    [
      'a timeout',
      Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' }),
      'ETIMEDOUT: Connection timeout',
    ],
    ['a socket error', Object.assign(new Error('read ECONNRESET'), { code: 'ESOCKET' }), 'ESOCKET: read ECONNRESET'],
  ])('defers %s without a response code, naming the error', (_label, error, reply) => {
    expect(classifySendError(error)).toEqual({ kind: 'deferred', code: null, reply });
  });

  it.each([
    ['a plain Error', new Error('boom'), 'boom'],
    ['a string', 'something odd', 'something odd'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
  ])('defers %s', (_label, error, reply) => {
    expect(classifySendError(error)).toEqual({ kind: 'deferred', code: null, reply });
  });

  it('ignores a response code that is not a number', () => {
    expect(classifySendError({ responseCode: '550', command: 'RCPT TO', response: '550 no' })).toMatchObject({
      kind: 'deferred',
      code: null,
    });
  });

  it('keeps at most 500 characters of the reply', () => {
    const failure = classifySendError(smtpError(550, 'RCPT TO', `550 ${'x'.repeat(2000)}`));
    expect(failure.reply).toHaveLength(500);
    expect(failure.reply.startsWith('550 xxx')).toBe(true);
  });
});
