import type { Logger } from '../platform/logger.ts';
import type { MailSender } from './mail-sender.ts';
import type { Messages } from './messages.ts';
import type { AlertJob } from './queues.ts';

const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * Delivers a notice to the desk. The webhook gets JSON with a `text` field, as Slack, Mattermost and
 * Teams incoming webhooks read it (plus the edition, the kind and whether it was raised or resolved
 * for anything that reads more); the email is a short plain-text message. A failure throws, and the
 * queue tries again later.
 */
export class AlertNotices {
  constructor(private readonly deps: { messages: Messages; sender: MailSender; logger: Logger }) {}

  async webhook(job: AlertJob): Promise<void> {
    const { notice } = job;
    const response = await fetch(job.to, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: notice.text, edition: notice.edition, kind: notice.kind, event: notice.event }),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`the alert webhook answered HTTP ${response.status}`);
    this.deps.logger.info(
      { edition: notice.edition, alert: notice.kind, event: notice.event },
      'alert sent to the webhook',
    );
  }

  async email(job: AlertJob): Promise<void> {
    const message = this.deps.messages.alert(job.to, job.notice);
    await this.deps.sender.send(message.envelope, message.raw, message.messageId);
    this.deps.logger.info(
      { edition: job.notice.edition, alert: job.notice.kind, event: job.notice.event },
      'alert sent by email',
    );
  }
}
