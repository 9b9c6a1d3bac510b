/**
 * The delivery baselines, run as their own process (like a worker) by bench/run.ts:
 *   raw:   one fully built message (Buffer) sent again and again as `{ envelope, raw, messageId }`;
 *   naive: `sendMail({ from, to, subject, html, text, headers })` per recipient, MIME composed each time.
 * Both use a pooled nodemailer transport with the settings of src/delivery/transports.ts (smtpSender)
 * and keep `inflight` sends queued so that the pool never idles. The result goes back over IPC.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { escapeHtml } from '../src/platform/html.ts';
import { fillPersonal, type PersonalizedText, PREVIEW_VALUES } from '../src/platform/personal-fields.ts';
import { TokenSigner } from '../src/platform/tokens.ts';
import { benchRecipient } from './fixtures.ts';

export interface BaselineSpec {
  mode: 'raw' | 'naive';
  count: number;
  smtpUrl: string;
  poolSize: number;
  timeoutMs: number;
  inflight: number;
  payloadFile: string;
}

export interface BaselinePayload {
  from: string;
  envelopeFrom: string;
  subject: string;
  html: PersonalizedText;
  text: PersonalizedText;
  listId: string;
  editionId: string;
  domain: string;
  publicUrl: string;
  appSecret: string;
  rawBase64: string;
  /** The prebuilt message's Message-ID, given to sendMail as smtpSender gives its own. */
  messageId: string;
}

export interface BaselineResult {
  mode: BaselineSpec['mode'];
  sent: number;
  failed: number;
  elapsedMs: number;
  /** CPU time of this process while sending, in seconds. */
  cpuSeconds: number;
  /** Peak resident memory of this process, bytes. */
  maxRssBytes: number;
  firstError: string | null;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as BaselineSpec;
  const payload = JSON.parse(readFileSync(spec.payloadFile, 'utf8')) as BaselinePayload;
  const transport = nodemailer.createTransport({
    url: spec.smtpUrl,
    pool: true,
    maxConnections: spec.poolSize,
    maxMessages: 1000,
    maxRequeues: 0,
    connectionTimeout: spec.timeoutMs,
    greetingTimeout: spec.timeoutMs,
    socketTimeout: spec.timeoutMs,
  });
  const raw = Buffer.from(payload.rawBase64, 'base64');
  const signer = new TokenSigner(payload.appSecret);

  const sendOne = async (id: number): Promise<void> => {
    const recipient = benchRecipient(id);
    if (spec.mode === 'raw') {
      await transport.sendMail({
        envelope: { from: payload.envelopeFrom, to: [recipient.email] },
        raw,
        messageId: payload.messageId,
      });
      return;
    }
    // The values the edition template asks for: the greeting, the address, and the reader's signed links.
    const token = signer.sign({ purpose: 'unsubscribe', subscriberId: recipient.id, version: 0 });
    const unsubscribeUrl = `${payload.publicUrl}/unsubscribe?token=${token}`;
    const values = {
      ...PREVIEW_VALUES,
      greeting: recipient.name ? `Good evening, ${recipient.name}` : 'Good evening',
      email: recipient.email,
      unsubscribe_url: unsubscribeUrl,
      preferences_url: `${payload.publicUrl}/preferences?token=${token}`,
    };
    const fill = (body: PersonalizedText, escape: boolean) =>
      fillPersonal(body, values, escape ? escapeHtml : undefined);
    await transport.sendMail({
      from: payload.from,
      to: recipient.email,
      subject: payload.subject,
      html: fill(payload.html, true),
      text: fill(payload.text, false),
      messageId: `<${payload.editionId}.main.${recipient.id}.${Math.random().toString(36).slice(2, 10)}@${payload.domain}>`,
      headers: {
        'List-Id': payload.listId,
        Precedence: 'bulk',
        'X-Edition': payload.editionId,
        'List-Unsubscribe': `<${unsubscribeUrl}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
  };

  let next = 1;
  let sent = 0;
  let failed = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const lane = async () => {
    for (;;) {
      const id = next;
      if (id > spec.count) return;
      next += 1;
      try {
        await sendOne(id);
        sent += 1;
      } catch (error) {
        failed += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.inflight }, lane));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  transport.close();
  const result: BaselineResult = {
    mode: spec.mode,
    sent,
    failed,
    elapsedMs,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    firstError,
  };
  await new Promise<void>((done) => process.send?.(result, () => done()) ?? done());
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`[baseline] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
process.on('disconnect', () => process.exit(1));
