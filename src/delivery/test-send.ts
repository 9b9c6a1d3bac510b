import type { Logger } from '../platform/logger.ts';
import { emailsSent } from '../platform/metrics.ts';
import { classifySendError, type MailSender } from './mail-sender.ts';
import type { EditionContent, Messages } from './messages.ts';

export type TestSendResult = { ok: true; reply: string } | { ok: false; reason: string };

/**
 * An editor's "send a test to …": composed and sent while the editor waits, so that the answer is
 * what the SMTP server really said (a queued job could only say that it was queued).
 */
export class TestSends {
  constructor(private readonly deps: { messages: Messages; sender: MailSender; logger: Logger }) {}

  async send(to: string, content: EditionContent): Promise<TestSendResult> {
    let message;
    try {
      message = this.deps.messages.test(to, content);
    } catch (error) {
      return this.failed(
        to,
        `the edition could not be composed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    try {
      const { reply } = await this.deps.sender.send(message.envelope, message.raw, message.messageId);
      emailsSent.inc({ kind: 'test' });
      this.deps.logger.info({ edition: content.id, reply }, 'test email sent');
      return { ok: true, reply };
    } catch (error) {
      return this.failed(to, classifySendError(error).reply);
    }
  }

  private failed(to: string, reason: string): TestSendResult {
    this.deps.logger.warn({ reason, domain: to.slice(to.lastIndexOf('@') + 1) }, 'test email not sent');
    return { ok: false, reason };
  }
}
