import nodemailer from 'nodemailer';

/**
 * Reports as mail servers and mailbox providers write them, about a message we really sent (its raw
 * text as the SMTP sink received it), and a real SMTP client to deliver them to the bounce listener.
 */

const CRLF = '\r\n';

/** Our message's header block, with the Return-Path the receiving server wrote from our envelope sender. */
function returnedHeaders(sent: { from: string; raw: string }, redactTo?: string): string {
  let headers = sent.raw.slice(0, sent.raw.indexOf('\r\n\r\n'));
  if (redactTo) headers = headers.replace(/^To: .*$/m, `To: <${redactTo}>`);
  return `Return-Path: <${sent.from}>${CRLF}Received: from relay.example.test (192.0.2.20) by mx.receiver.test; Tue, 25 Feb 2020 18:35:06 +0000${CRLF}${headers}`;
}

export interface DsnFailure {
  recipient: string;
  status: string;
  diagnostic: string;
  action?: 'failed' | 'delayed';
}

/** A Postfix DSN (RFC 3464): notification text, delivery-status per recipient, the returned message's headers. */
export function postfixDsn(
  sent: { from: string; raw: string },
  failure: DsnFailure,
  id = `${Date.now()}.${Math.random().toString(36).slice(2)}`,
): string {
  const boundary = `${id}/relay1.example.test`;
  return [
    `Date: Tue, 25 Feb 2020 18:35:07 +0000 (UTC)`,
    'From: MAILER-DAEMON@relay1.example.test (Mail Delivery System)',
    'Subject: Undelivered Mail Returned to Sender',
    `To: ${sent.from}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;${CRLF}\tboundary="${boundary}"`,
    'Content-Transfer-Encoding: 8bit',
    `Message-Id: <${id}@relay1.example.test>`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host relay1.example.test.',
    '',
    "I'm sorry to have to inform you that your message could not",
    'be delivered to one or more recipients.',
    '',
    `<${failure.recipient}>: host mx.receiver.test[198.51.100.25] said: ${failure.diagnostic} (in reply to RCPT TO command)`,
    '',
    `--${boundary}`,
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; relay1.example.test',
    `X-Postfix-Queue-ID: ${id.slice(0, 12)}`,
    `X-Postfix-Sender: rfc822; ${sent.from}`,
    'Arrival-Date: Tue, 25 Feb 2020 18:35:04 +0000 (UTC)',
    '',
    `Final-Recipient: rfc822; ${failure.recipient}`,
    `Original-Recipient: rfc822;${failure.recipient}`,
    `Action: ${failure.action ?? 'failed'}`,
    `Status: ${failure.status}`,
    'Remote-MTA: dns; mx.receiver.test',
    `Diagnostic-Code: smtp; ${failure.diagnostic}`,
    '',
    `--${boundary}`,
    'Content-Description: Undelivered Message Headers',
    'Content-Type: text/rfc822-headers',
    '',
    returnedHeaders(sent),
    '',
    `--${boundary}--`,
    '',
  ].join(CRLF);
}

/**
 * An ARF complaint (RFC 5965) as a feedback loop sends it: Yahoo's names the recipient; Microsoft's
 * JMRP redacts it, leaving the envelope sender (our VERP address) and the returned message.
 */
export function arfComplaint(
  sent: { from: string; raw: string },
  options: { recipient: string; style: 'yahoo' | 'jmrp'; id?: string },
): string {
  const id = options.id ?? `${Date.now()}.${Math.random().toString(36).slice(2)}`;
  const boundary = `--arf_${id}`;
  const yahoo = options.style === 'yahoo';
  return [
    `From: ${yahoo ? 'feedback@arf.mail.yahoo.com' : 'staff@hotmail.com'}`,
    'To: fbl@bounces.example.test',
    'Subject: complaint about message from 192.0.2.20',
    'Date: Wed, 26 Feb 2020 08:01:15 +0000',
    `Message-ID: <${id}@${yahoo ? 'yahoo.com' : 'hotmail.com'}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report;${CRLF} boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset="us-ascii"',
    '',
    'This is an email abuse report for an email message received from IP 192.0.2.20.',
    '',
    `--${boundary}`,
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    `User-Agent: ${yahoo ? 'Yahoo!-Mail-Feedback/2.0' : 'Microsoft JMRP'}`,
    'Version: 1',
    `Original-Mail-From: <${sent.from}>`,
    ...(yahoo ? [`Original-Rcpt-To: <${options.recipient}>`] : []),
    'Arrival-Date: Tue, 25 Feb 2020 18:35:06 +0000',
    'Source-IP: 192.0.2.20',
    'Reported-Domain: example.test',
    '',
    `--${boundary}`,
    'Content-Type: message/rfc822',
    'Content-Transfer-Encoding: 7bit',
    '',
    returnedHeaders(sent, yahoo ? undefined : 'redacted@hotmail.com'),
    '',
    'The message body was removed.',
    '',
    `--${boundary}--`,
    '',
  ].join(CRLF);
}

/** What a mail program (or Gmail's unsubscribe button) sends to a List-Unsubscribe mailto address. */
export function unsubscribeMail(from: string, to: string, extraHeaders: string[] = []): string {
  return [
    `From: ${from}`,
    `To: ${to}`,
    'Subject: unsubscribe',
    'Date: Wed, 26 Feb 2020 09:00:00 +0000',
    `Message-ID: <${Math.random().toString(36).slice(2)}@mail.example.test>`,
    ...extraHeaders,
    '',
    'unsubscribe',
    '',
  ].join(CRLF);
}

/** Delivers a message over SMTP as an MTA does; `from: ''` is the null sender of DSNs (MAIL FROM:<>). */
export async function deliverBySmtp(
  port: number,
  envelope: { from: string; to: string[] },
  raw: string,
): Promise<string> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    connectionTimeout: 5000,
    socketTimeout: 5000,
  });
  try {
    const info = await transport.sendMail({ envelope, raw });
    return String(info.response);
  } finally {
    transport.close();
  }
}
