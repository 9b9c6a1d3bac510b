import type { KeyObject } from 'node:crypto';
import type { Config } from '../platform/config.ts';
import type { FeedbackEvent } from './event.ts';
import { receiveMailgun } from './mailgun.ts';
import { receivePostmark } from './postmark.ts';
import { readSendgridKey, receiveSendgrid } from './sendgrid.ts';
import { receiveSesNotification } from './ses-sns.ts';
import { SnsCertificates } from './sns.ts';
import type { WebhookHeaders } from './webhook.ts';

/** The relays whose webhooks we take, each at POST /feedback/<relay>. */
export const RELAYS = ['ses', 'sendgrid', 'mailgun', 'postmark'] as const;
export type Relay = (typeof RELAYS)[number];

/** A webhook request as checked: its reports, or why it is refused (404: that relay is not configured). */
export type Received =
  | { ok: true; events: FeedbackEvent[]; subscribeUrl?: string }
  | { ok: false; status: 400 | 401 | 403 | 404; reason: string };

/** GETs a small text document from Amazon SNS (a signing certificate, a subscription confirmation). */
export type SnsFetch = (url: string) => Promise<string>;

const SNS_TIMEOUT_MS = 10_000;
/** SNS certificates are ~2 KB and confirmation answers smaller: anything bigger is not SNS. */
const SNS_MAX_BYTES = 64 * 1024;

/**
 * The real SnsFetch: no redirects (the URL was checked to be on SNS's own host; a redirect could lead
 * anywhere), a timeout, and a size limit read as the body arrives.
 */
export async function fetchFromSns(url: string): Promise<string> {
  const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(SNS_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`SNS answered HTTP ${response.status}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > SNS_MAX_BYTES) throw new Error(`SNS sent more than ${SNS_MAX_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type Settings = Pick<
  Config,
  | 'SES_SNS_TOPIC_ARNS'
  | 'SENDGRID_WEBHOOK_PUBLIC_KEY'
  | 'MAILGUN_SIGNING_KEY'
  | 'POSTMARK_WEBHOOK_USER'
  | 'POSTMARK_WEBHOOK_PASSWORD'
  | 'bounce'
>;

/**
 * The relay webhooks configured in the settings, checked with src/feedback's receivers: each proves
 * the request came from its relay before anything in it is read. A relay without settings answers 404,
 * as if the route were not there.
 */
export class RelayWebhooks {
  private readonly certificates: SnsCertificates;
  private readonly sendgridKey: KeyObject | null;

  constructor(
    private readonly settings: Settings,
    private readonly snsFetch: SnsFetch = fetchFromSns,
  ) {
    this.certificates = new SnsCertificates(snsFetch);
    // Read once here (the config check already proved it readable), not per request.
    this.sendgridKey = settings.SENDGRID_WEBHOOK_PUBLIC_KEY
      ? readSendgridKey(settings.SENDGRID_WEBHOOK_PUBLIC_KEY)
      : null;
  }

  configured(relay: Relay): boolean {
    switch (relay) {
      case 'ses':
        return this.settings.SES_SNS_TOPIC_ARNS.length > 0;
      case 'sendgrid':
        return this.sendgridKey !== null;
      case 'mailgun':
        return this.settings.MAILGUN_SIGNING_KEY !== undefined;
      case 'postmark':
        return (
          this.settings.POSTMARK_WEBHOOK_USER !== undefined && this.settings.POSTMARK_WEBHOOK_PASSWORD !== undefined
        );
    }
  }

  async receive(relay: Relay, body: Buffer, headers: WebhookHeaders): Promise<Received> {
    if (!this.configured(relay)) return { ok: false, status: 404, reason: `the ${relay} webhook is not configured` };
    const { settings } = this;
    switch (relay) {
      case 'ses':
        return receiveSesNotification(body, headers, {
          topicArns: settings.SES_SNS_TOPIC_ARNS,
          certificates: this.certificates,
          ...(settings.bounce ? { bounceAddress: settings.bounce.address } : {}),
        });
      case 'sendgrid':
        return this.sendgridKey
          ? receiveSendgrid(body, headers, { publicKey: this.sendgridKey })
          : { ok: false, status: 404, reason: 'not configured' };
      case 'mailgun':
        return receiveMailgun(body, headers, { signingKey: settings.MAILGUN_SIGNING_KEY ?? '' });
      case 'postmark':
        return receivePostmark(body, headers, {
          user: settings.POSTMARK_WEBHOOK_USER ?? '',
          password: settings.POSTMARK_WEBHOOK_PASSWORD ?? '',
        });
    }
  }

  /** Confirms an SNS subscription (the URL was checked by receiveSesNotification): SNS sends nothing until this GET. */
  async confirmSubscription(subscribeUrl: string): Promise<void> {
    await this.snsFetch(subscribeUrl);
  }
}
