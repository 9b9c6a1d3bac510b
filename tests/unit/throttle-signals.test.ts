import { describe, expect, it } from 'vitest';
import {
  failureFactsOf,
  type SendFailureFacts,
  statedPauseMs,
  throttleSignalOf,
} from '../../src/delivery/pacing/throttle-signals.ts';

const reply = (code: number, text: string): SendFailureFacts => ({ code, text });

describe('throttleSignalOf', () => {
  // Replies as providers send them (addresses and ids shortened); `pause` is the stated pause in ms.
  it.each<[string, SendFailureFacts, boolean, number | null]>([
    ['our relay', reply(421, '421 4.7.0 Try again later'), true, null],
    ['our relay, stating a pause', reply(421, '421 4.7.0 Too many messages, try again in 30 seconds'), true, 30_000],
    [
      'Gmail 4.7.28 (IP rate limited)',
      reply(
        421,
        '421-4.7.28 [192.0.2.1 15] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. - gsmtp',
      ),
      true,
      null,
    ],
    ['Gmail 4.7.0', reply(421, '421-4.7.0 Try again later, closing connection. (EHLO) - gsmtp'), true, null],
    [
      'Microsoft 4.7.500 server busy',
      reply(
        451,
        '451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77714) [BL6PEPF0001AB50.namprd04.prod.outlook.com]',
      ),
      true,
      null,
    ],
    [
      'Microsoft 4.7.650 (IP reputation rate limit)',
      reply(
        451,
        '451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)',
      ),
      true,
      null,
    ],
    [
      'Yahoo TSS04',
      reply(
        421,
        '421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
      ),
      true,
      null,
    ],
    ['SES sending rate', reply(454, '454 Throttling failure: Maximum sending rate exceeded'), true, null],
    ['SES daily quota', reply(454, '454 Throttling failure: Daily message quota exceeded'), true, null],
    ['Postfix anvil message rate', reply(450, '450 4.7.1 Error: too much mail from 192.0.2.1'), true, null],
    [
      'Postfix anvil connections',
      reply(421, '421 4.7.0 mx.example.org Error: too many connections from 192.0.2.1'),
      true,
      null,
    ],
    ['Postfix too many recipients', reply(452, '452 4.5.3 Error: too many recipients'), true, null],
    [
      'a relay asking for minutes',
      reply(450, '450 4.7.1 Rate limit reached. Try again later in 5 minutes'),
      true,
      300_000,
    ],
    ['a relay saying retry after', reply(451, '451 4.7.1 Sending rate exceeded, retry after 60s'), true, 60_000],
    ['a relay saying throttled', reply(450, '450 Requested action not taken: throttled'), true, null],
    ['a generic try later at DATA', reply(451, '451 4.3.2 Please try again later'), true, null],
    // Not about our rate:
    [
      'Gmail, one user receiving too fast',
      reply(
        450,
        '450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.',
      ),
      false,
      null,
    ],
    ['a full mailbox', reply(452, '452 4.2.2 Mailbox full'), false, null],
    [
      'Postfix greylisting',
      reply(
        450,
        '450 4.2.0 <a@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html',
      ),
      false,
      null,
    ],
    ['postgrey with a 4.7.1', reply(451, '451 4.7.1 Greylisting in action, please come back in 00:05:00'), false, null],
    ['a local error', reply(451, '451 4.3.0 Error: queue file write error'), false, null],
    ['insufficient storage', reply(452, '452 4.3.1 Insufficient system storage'), false, null],
    [
      'a missing reverse DNS',
      reply(450, '450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]'),
      false,
      null,
    ],
    ['a permanent refusal that mentions a rate', reply(550, '550 5.7.1 Too many invalid recipients'), false, null],
    ['an unknown user', reply(550, '550 5.1.1 <a@example.org>: Recipient address rejected: User unknown'), false, null],
  ])('%s', (_label, facts, throttle, pause) => {
    const signal = throttleSignalOf(facts);
    expect(signal.throttle, signal.reason).toBe(throttle);
    expect(signal.pauseMs).toBe(pause);
  });

  it.each<[string, SendFailureFacts, boolean]>([
    [
      'a refused connection',
      { code: null, text: 'connect ECONNREFUSED 127.0.0.1:25', errorCode: 'ECONNREFUSED' },
      true,
    ],
    ['a reset connection', { code: null, text: 'read ECONNRESET', errorCode: 'ECONNRESET' }, true],
    ['a timeout', { code: null, text: 'Connection timeout', errorCode: 'ETIMEDOUT' }, true],
    [
      'a connection closed by the server',
      { code: null, text: 'Connection closed unexpectedly', errorCode: 'ECONNECTION' },
      true,
    ],
    [
      'the pool giving up on closing connections',
      { code: null, text: 'Reached maximum number of retries after connection was closed', errorCode: 'ECONNECTION' },
      true,
    ],
    ['our own pool closing', { code: null, text: 'Connection pool was closed', errorCode: 'ECONNECTION' }, false],
    ['a DNS failure', { code: null, text: 'getaddrinfo ENOTFOUND smtp.example.org', errorCode: 'EDNS' }, false],
    ['bad credentials', { code: null, text: 'Invalid login', errorCode: 'EAUTH' }, false],
  ])('without a reply: %s', (_label, facts, throttle) => {
    expect(throttleSignalOf(facts).throttle).toBe(throttle);
  });

  it('takes the enhanced code when given, and the code from the text when not', () => {
    expect(throttleSignalOf({ code: 451, enhanced: '4.7.1', text: 'deferred' }).throttle).toBe(true);
    expect(throttleSignalOf({ code: null, text: '421 4.7.0 Try again later' }).throttle).toBe(true);
  });
});

describe('statedPauseMs', () => {
  it.each<[string, number | null]>([
    ['try again in 30 seconds', 30_000],
    ['Try again in 1 second', 1000],
    ['retry after 60s', 60_000],
    ['Retry in 2.5 s', 2500],
    ['Try again later in 5 minutes', 300_000],
    ['please try again in 10 min', 600_000],
    ['retry after 2m', 120_000],
    ['wait 10 minutes before retrying', 600_000],
    ['try again in 1 hour', 3_600_000],
    ['try again after 500 ms', 500],
    ['please come back in 00:05:00', 300_000],
    ['try again in 0 seconds', null],
    ['Try again later', null],
    ['Server busy. Please try again later from [192.0.2.1]. (S77714)', null],
    ['421-4.7.28 [192.0.2.1 15] Our system has detected an unusual rate', null],
    ['temporarily deferred - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes', null],
  ])('%j', (text, ms) => {
    expect(statedPauseMs(text)).toBe(ms);
  });
});

describe('failureFactsOf', () => {
  it('reads what nodemailer rejects with', () => {
    const refused = Object.assign(
      new Error("Can't send mail - all recipients were rejected: 421 4.7.0 Try again later"),
      {
        code: 'ECONNECTION',
        responseCode: 421,
        response: '421 4.7.0 Try again later',
        command: 'CONN',
      },
    );
    expect(failureFactsOf(refused)).toEqual({ code: 421, text: '421 4.7.0 Try again later', errorCode: 'ECONNECTION' });
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), {
      code: 'ECONNECTION',
      originalCode: 'ECONNREFUSED',
    });
    expect(failureFactsOf(down)).toEqual({
      code: null,
      text: 'connect ECONNREFUSED 127.0.0.1:25',
      errorCode: 'ECONNREFUSED',
    });
    expect(failureFactsOf('odd')).toEqual({ code: null, text: 'odd', errorCode: null });
  });
});
