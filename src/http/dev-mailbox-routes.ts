import type { FastifyInstance, FastifyRequest } from 'fastify';
import { simpleParser } from 'mailparser';
import type { DevMailbox } from '../delivery/mail-sender.ts';
import { html } from '../platform/html.ts';
import { localeFor } from '../platform/locale.ts';
import { noStore } from './no-store.ts';
import { page } from './pages.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Headers that proxies add to what they pass on (RFC 7239, and the de facto ones nginx, Caddy and tunnels send). */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'via'];

/**
 * Whether a request comes from this machine itself, not through a proxy: the dev mailbox holds every
 * reader's link tokens, so only a person at the machine (or logged into the console) may read it.
 * A proxy on this machine connects from loopback for anybody, so a request that carries a proxy's
 * header is never "this machine", whatever TRUST_PROXY says: even a trusted proxy may pass on a
 * client's own `X-Forwarded-For: 127.0.0.1` as it came, and Fastify does not read `Forwarded`.
 */
export function fromThisMachine(request: FastifyRequest): boolean {
  if (PROXY_HEADERS.some((name) => request.headers[name] !== undefined)) return false;
  return LOOPBACK.has(request.socket.remoteAddress ?? '') && LOOPBACK.has(request.ip);
}

/** A message's number in a URL: digits only, within the kept mailbox (`1e21`, `-1`, `0x1` are not numbers here). */
function messageIndex(request: FastifyRequest): number | null {
  const { index } = request.params as { index: string };
  return /^\d{1,3}$/.test(index) ? Number(index) : null;
}

/**
 * The development mailbox under `base`: every message the workers "sent", newest first, with a
 * rendered view, never kept in a cache (it holds every reader's link tokens). Registered twice: at
 * /dev/mailbox for this machine only, and in the console.
 */
export function registerDevMailboxRoutes(
  server: FastifyInstance,
  mailbox: DevMailbox,
  newsletterName: string,
  base: string,
): void {
  server.get(base, { onRequest: noStore }, async (_request, reply) => {
    const messages = await mailbox.list(100);
    const rows = await Promise.all(
      messages.map(async (message, index) => {
        const parsed = await simpleParser(message.raw);
        return html`<tr><td>${message.at.replace('T', ' ').slice(0, 19)}</td><td>${message.envelope.to}</td>
<td><a href="${base}/${index}">${parsed.subject ?? '(no subject)'}</a></td></tr>`;
      }),
    );
    const body = html`<h1>Dev mailbox</h1>
<p class="note">No SMTP_URL is set, so mail is kept here instead of being sent. Newest first; the last 500 are kept.</p>
<table style="width:100%;font:14px Helvetica,Arial,sans-serif;border-collapse:collapse" cellpadding="6">
<tr style="text-align:left"><th>When</th><th>To</th><th>Subject</th></tr>${rows}</table>
${messages.length === 0 ? html`<p>Empty so far. Subscribe at <a href="/">/</a>, or run <code>npm run demo</code>.</p>` : ''}`;
    return reply
      .type('text/html; charset=utf-8')
      .send(page('Dev mailbox', body, { newsletterName, locale: localeFor('en') }));
  });

  server.get(`${base}/:index`, { onRequest: noStore }, async (request, reply) => {
    const index = messageIndex(request);
    const [message] = index === null ? [] : await mailbox.list(1, index);
    if (!message) return reply.code(404).send({ error: 'no such message' });
    const parsed = await simpleParser(message.raw);
    const headers = [
      'from',
      'to',
      'subject',
      'date',
      'message-id',
      'list-unsubscribe',
      'list-unsubscribe-post',
      'list-id',
    ].map(
      (name) =>
        html`<tr><th style="text-align:left;padding-right:12px">${name}</th><td>${headerText(parsed.headers.get(name))}</td></tr>`,
    );
    const body = html`<p><a href="${base}">← Dev mailbox</a></p>
<table style="font:13px Helvetica,Arial,sans-serif">${headers}</table>
<iframe sandbox="" style="width:100%;height:1200px;border:1px solid #ddd;margin-top:16px" srcdoc="${parsed.html || ''}"></iframe>
<h2>Plain text</h2><pre style="white-space:pre-wrap;font-size:13px">${parsed.text ?? ''}</pre>`;
    return reply
      .type('text/html; charset=utf-8')
      .send(page('Message', body, { newsletterName, locale: localeFor('en') }));
  });

  server.get(`${base}/:index/raw`, { onRequest: noStore }, async (request, reply) => {
    const index = messageIndex(request);
    const [message] = index === null ? [] : await mailbox.list(1, index);
    if (!message) return reply.code(404).send({ error: 'no such message' });
    return reply.type('message/rfc822').send(message.raw);
  });
}

function headerText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && 'text' in value) return String((value as { text: unknown }).text);
  if (typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value);
  return String(value);
}
