import { describe, expect, it } from 'vitest';
import { troubleOf } from '../../src/delivery/send-outcome.ts';

/** The shapes of the errors nodemailer rejects with (measured against smtp-server and the throttling relay). */
const smtpError = (responseCode: number, command: string, response: string, code = 'EENVELOPE') =>
  Object.assign(new Error(`Can't send mail - ${response}`), { responseCode, command, response, code });
const noReply = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('troubleOf: what the send path does with a failed send', () => {
  it.each<[string, unknown, string]>([
    [
      '421 at RCPT (the relay closes the connection after it)',
      smtpError(421, 'CONN', '421 4.7.0 Try again later', 'ECONNECTION'),
      'throttled',
    ],
    [
      '454 (SES throttling)',
      smtpError(454, 'RCPT TO', '454 Throttling failure: Maximum sending rate exceeded.'),
      'throttled',
    ],
    ['451 4.7.x (policy deferral)', smtpError(451, 'RCPT TO', '451 4.7.1 Please try again later'), 'throttled'],
    ['450 with rate words', smtpError(450, 'RCPT TO', '450 4.4.2 too many messages, slow down'), 'throttled'],
    [
      '451 greylisting (a delay per message, not a rate)',
      smtpError(451, 'DATA', '451 4.7.1 Greylisted, try later'),
      'deferred',
    ],
    ['452 4.2.2 mailbox full (one recipient)', smtpError(452, 'RCPT TO', '452 4.2.2 Mailbox full'), 'deferred'],
    ['550 at RCPT', smtpError(550, 'RCPT TO', '550 5.1.1 user unknown'), 'failed'],
    ['a refused connection', noReply('connect ECONNREFUSED 127.0.0.1:25', 'ECONNECTION'), 'unreachable'],
    ['an unknown host', noReply('getaddrinfo ENOTFOUND relay.example.test', 'EDNS'), 'unreachable'],
    [
      '421 at the greeting',
      Object.assign(new Error('Invalid greeting. response=421 4.3.2 Service not available'), {
        code: 'EPROTOCOL',
        responseCode: 421,
        response: '421 4.3.2 Service not available',
        command: 'CONN',
      }),
      'unreachable',
    ],
    [
      'a connection the pool lost before the message went out',
      noReply('Reached maximum number of retries after connection was closed', 'ECONNECTION'),
      'unsent',
    ],
    ['a reset connection', noReply('read ECONNRESET', 'ESOCKET'), 'unsent'],
    ['a connection closed mid-session', noReply('Connection closed unexpectedly', 'ECONNECTION'), 'unsent'],
    ['a stalled server (timeout)', noReply('Timeout', 'ETIMEDOUT'), 'deferred'],
    ['a failed login', smtpError(535, 'AUTH PLAIN', '535 5.7.8 authentication failed', 'EAUTH'), 'deferred'],
  ])('%s: %s', (_label, error, kind) => {
    expect(troubleOf(error).kind).toBe(kind);
  });

  it('keeps a pause the relay stated', () => {
    expect(
      troubleOf(smtpError(421, 'CONN', '421 4.7.0 Too many messages, try again in 30 seconds', 'ECONNECTION')),
    ).toMatchObject({ kind: 'throttled', code: 421, pauseMs: 30_000 });
  });
});
