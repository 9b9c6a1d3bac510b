import type { Edition } from '../editions/edition-store.ts';
import type { EmailTemplates } from '../platform/email-template.ts';
import type { Locale } from '../platform/locale.ts';
import {
  type PersonalField,
  type PersonalizedText,
  type PersonalValues,
  PersonalMarks,
  plainPersonalized,
  PREVIEW_VALUES,
  previewValues,
} from '../platform/personal-fields.ts';
import type { AlertNotice } from '../editions/alerts.ts';
import type { MailFormat } from '../subscribers/subscriber-store.ts';
import type { Claimed } from './ledger.ts';
import { BufferPool } from './buffer-pool.ts';
import { bounceAddress, unsubscribeAddress } from '../feedback/verp.ts';
import type { Envelope } from './mail-sender.ts';
import { MessageTemplate } from './message-template.ts';
import { formatMailbox, parseMailbox } from './mime-encoding.ts';

export interface MailIdentity {
  /** The MAIL_FROM setting, `Name <address>`. */
  from: string;
  listId: string;
  /** Our domain, for Message-IDs. */
  domain: string;
  newsletterName: string;
  confirmHours: number;
  publicUrl: string;
  /** When editions go out, e.g. `18:30 UTC` (for the welcome email). */
  sendTime: string;
  /**
   * BOUNCE_ADDRESS and the secret its VERP tokens are signed with: each reader's message then goes
   * out with its own envelope sender and a mailto unsubscribe address. Unset: MAIL_FROM's address.
   */
  bounce?: { address: string; unsubscribeAddress: string; secret: string };
  /** FEEDBACK_ID_SENDER, the last field of the Feedback-ID header (Gmail's feedback loop); unset: no header. */
  feedbackIdSender?: string;
  /** The readers' language (DIGEST_LOCALE): subjects and greetings; the templates take the rest from it too. */
  locale: Locale;
}

export interface ReaderUrls {
  unsubscribeUrl: string;
  preferencesUrl: string;
}

export interface Links {
  readerUrls(subscriberId: string): ReaderUrls;
  confirmUrl(subscriberId: string, version: number): string;
}

export interface TrackingTokens {
  token(edition: string, subscriberId: string): string;
}

/** What an edition's templates may place: everything a reader of the digest has (never a confirmation link). */
const EDITION_FIELDS: readonly PersonalField[] = [
  'greeting',
  'email',
  'unsubscribe_url',
  'preferences_url',
  'track_token',
];

/** Why an edition cannot become email; found when it is cut, before anyone is sent anything. */
export class EditionNotComposable extends Error {
  constructor(reason: string) {
    super(`the edition cannot be composed: ${reason}`);
    this.name = 'EditionNotComposable';
  }
}

/** What a test send and the edition check compose: the rendered edition, not a stored one. */
export interface EditionContent {
  id: string;
  subject: string;
  html: PersonalizedText;
  text: PersonalizedText;
}

export interface OutgoingMessage {
  envelope: Envelope;
  raw: Buffer;
  /** The Message-ID in its header, given to the transport so that it reports that one rather than making one up. */
  messageId: string;
  /** The buffer is lent by the pool and goes back with `recycle`. */
  pooled?: boolean;
}

/** A VERP token may only carry an edition id of [a-z0-9-] (MTAs fold case); any other id is left out of it. */
function verpEdition(edition: string): string {
  return /^[a-z0-9-]{0,32}$/.test(edition) ? edition : '';
}

function greeting(locale: Locale, name: string, salutation: 'greeting.evening' | 'greeting.hello'): string {
  return name ? locale.t('greeting.withName', { salutation: locale.t(salutation), name }) : locale.t(salutation);
}

/** Builds every outgoing message from a template composed once (per edition, or once per process). */
export class Messages {
  private readonly sender: { header: string; address: string };
  /** The envelope sender of mail to people who are not readers (alerts, test sends): bounces come back, naming nobody. */
  private readonly returnPath: string;
  private readonly editions = new Map<string, MessageTemplate>();
  private readonly buffers = new BufferPool(128);
  private readonly transactional = new Map<'confirm' | 'welcome', Promise<MessageTemplate>>();

  constructor(
    private readonly identity: MailIdentity,
    private readonly links: Links,
    private readonly tracking: TrackingTokens,
    private readonly templates: EmailTemplates,
  ) {
    const mailbox = parseMailbox(identity.from);
    this.sender = { header: formatMailbox(mailbox.address, mailbox.name), address: mailbox.address };
    this.returnPath = identity.bounce?.address ?? mailbox.address;
  }

  edition(edition: Edition, recipient: Claimed, run: string): OutgoingMessage {
    const template = this.editionTemplate(edition, recipient.format);
    const urls = this.links.readerUrls(recipient.id);
    const messageId = this.messageId(`${edition.id}.${run}.${recipient.id}`);
    const raw = template.render(
      {
        to: recipient.email,
        messageId,
        headers: this.listHeaders(recipient.id, edition.id, urls.unsubscribeUrl),
      },
      {
        ...this.readerLinks(recipient, 'greeting.evening', urls),
        ...(template.fields.includes('track_token')
          ? { track_token: this.tracking.token(edition.id, recipient.id) }
          : {}),
      },
      new Date(),
      this.buffers,
    );
    return { envelope: this.readerEnvelope(recipient, edition.id), raw, messageId, pooled: true };
  }

  /**
   * Composes a rendered edition in every format with stand-in values, so that an edition that cannot
   * become email fails when it is cut, before any recipient is claimed, never while sending.
   */
  checkEdition(content: EditionContent): void {
    const unknown = [...content.html.fields, ...content.text.fields].filter((field) => !EDITION_FIELDS.includes(field));
    if (unknown.length > 0)
      throw new EditionNotComposable(
        `the digest template places ${[...new Set(unknown)].join(', ')}, which an edition has no value for`,
      );
    try {
      for (const html of [content.html, undefined]) {
        this.compose(content, html).render(
          { to: 'check@example.invalid', messageId: '<check@example.invalid>' },
          PREVIEW_VALUES,
        );
      }
    } catch (error) {
      throw new EditionNotComposable(error instanceof Error ? error.message : String(error));
    }
  }

  async confirmation(recipient: Claimed, version: number): Promise<OutgoingMessage> {
    const { locale, newsletterName } = this.identity;
    const template = await this.composedOnce(
      'confirm',
      locale.t('confirm.subject', { newsletter: newsletterName }),
      locale.t('confirm.preheader'),
    );
    const messageId = this.messageId(`confirm.${recipient.id}.${version}.${Date.now()}`);
    const raw = template.render(
      { to: recipient.email, messageId },
      {
        greeting: greeting(locale, recipient.name, 'greeting.hello'),
        email: recipient.email,
        confirm_url: this.links.confirmUrl(recipient.id, version),
      },
    );
    return { envelope: this.readerEnvelope(recipient, ''), raw, messageId };
  }

  /** After the confirmation: what to expect, and how to change or leave it (with one-click unsubscribe, as in every edition). */
  async welcome(recipient: Claimed): Promise<OutgoingMessage> {
    const { locale, newsletterName, sendTime } = this.identity;
    const template = await this.composedOnce(
      'welcome',
      locale.t('welcome.subject', { newsletter: newsletterName }),
      locale.t('welcome.preheader', { time: sendTime }),
    );
    const urls = this.links.readerUrls(recipient.id);
    const messageId = this.messageId(`welcome.${recipient.id}.${Date.now()}`);
    const raw = template.render(
      { to: recipient.email, messageId, headers: this.listHeaders(recipient.id, '', urls.unsubscribeUrl) },
      this.readerLinks(recipient, 'greeting.hello', urls),
    );
    return { envelope: this.readerEnvelope(recipient, ''), raw, messageId };
  }

  /** A notice to the desk (ALERT_EMAIL): plain text, with a link to the edition in the console. */
  alert(to: string, notice: AlertNotice): OutgoingMessage {
    const subject = `[${this.identity.newsletterName}] ${notice.event === 'resolved' ? 'Resolved: ' : ''}edition ${notice.edition}: ${notice.kind}`;
    const text = `${notice.text}\n\n${this.identity.publicUrl}/console/editions/${notice.edition}\n`;
    const template = new MessageTemplate({ from: this.sender.header, subject, text: plainPersonalized(text) });
    const messageId = this.messageId(`alert.${notice.edition}.${notice.kind}.${Date.now()}`);
    const raw = template.render({ to, messageId }, {});
    return { envelope: { from: this.returnPath, to }, raw, messageId };
  }

  /** Returns an edition message's buffer for reuse once the SMTP server has answered for it. */
  recycle(message: OutgoingMessage): void {
    if (message.pooled) this.buffers.give(message.raw);
  }

  /** A one-off test of the preview; personal parts are filled as for a reader without a name. */
  test(to: string, content: EditionContent): OutgoingMessage {
    const template = new MessageTemplate({
      from: this.sender.header,
      subject: `[Test] ${content.subject}`,
      html: content.html,
      text: content.text,
    });
    const values: PersonalValues = {
      ...previewValues(this.identity.locale),
      email: to,
      unsubscribe_url: `${this.identity.publicUrl}/`,
      preferences_url: `${this.identity.publicUrl}/`,
    };
    const messageId = this.messageId(`test.${Date.now()}`);
    const raw = template.render({ to, messageId }, values);
    return { envelope: { from: this.returnPath, to }, raw, messageId };
  }

  /** Composed once per edition and format (the variants of one rendered edition, never another MJML compile). */
  private editionTemplate(edition: Edition, format: MailFormat): MessageTemplate {
    const key = `${edition.id}/${format}`;
    let template = this.editions.get(key);
    if (!template) {
      template = this.compose(edition, format === 'html' ? edition.html : undefined);
      // A worker only ever sends the latest few editions, in two formats; keep memory flat.
      if (this.editions.size >= 6) this.editions.delete(this.editions.keys().next().value ?? '');
      this.editions.set(key, template);
    }
    return template;
  }

  private compose(edition: EditionContent, html: PersonalizedText | undefined): MessageTemplate {
    return new MessageTemplate({
      from: this.sender.header,
      subject: edition.subject,
      ...(html ? { html } : {}),
      text: edition.text,
      headers: {
        'List-Id': this.identity.listId,
        Precedence: 'bulk',
        'X-Edition': edition.id,
        ...this.feedbackId(edition.id, 'edition'),
      },
    });
  }

  /**
   * Gmail's feedback loop groups complaints by the fields of Feedback-ID: `<campaign>:<kind>:<sender>`,
   * e.g. `2026-11-24:edition:digest`. The same for every recipient (no personal data), so it is part
   * of the template composed once.
   */
  private feedbackId(campaign: string, kind: string): Record<string, string> {
    const sender = this.identity.feedbackIdSender;
    return sender ? { 'Feedback-ID': `${campaign}:${kind}:${sender}` } : {};
  }

  /** The envelope of a reader's message: its own VERP return path with BOUNCE_ADDRESS, so that a bounce names the reader and the edition. */
  private readerEnvelope(recipient: Claimed, edition: string): Envelope {
    const { bounce } = this.identity;
    const from = bounce
      ? bounceAddress(recipient.id, verpEdition(edition), bounce.secret, bounce.address)
      : this.sender.address;
    return { from, to: recipient.email };
  }

  /**
   * RFC 8058 one-click over HTTPS, and with BOUNCE_ADDRESS also RFC 2369's mailto (the bounce
   * listener honours it) for mail programs that only send mail.
   */
  private listHeaders(recipientId: string, edition: string, unsubscribeUrl: string): Record<string, string> {
    const { bounce } = this.identity;
    const mailto = bounce
      ? `, <mailto:${unsubscribeAddress(recipientId, verpEdition(edition), bounce.secret, bounce.unsubscribeAddress)}?subject=unsubscribe>`
      : '';
    return {
      'List-Unsubscribe': `<${unsubscribeUrl}>${mailto}`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    };
  }

  private readerLinks(
    recipient: Claimed,
    salutation: 'greeting.evening' | 'greeting.hello',
    urls: ReaderUrls,
  ): Record<string, string> {
    return {
      greeting: greeting(this.identity.locale, recipient.name, salutation),
      email: recipient.email,
      unsubscribe_url: urls.unsubscribeUrl,
      preferences_url: urls.preferencesUrl,
    };
  }

  /** The confirmation and welcome templates are compiled on first use and kept for the process. */
  private composedOnce(name: 'confirm' | 'welcome', subject: string, preheader: string): Promise<MessageTemplate> {
    let composed = this.transactional.get(name);
    if (!composed) {
      const context = {
        title: subject,
        preheader,
        newsletterName: this.identity.newsletterName,
        confirmHours: this.identity.confirmHours,
        sendTime: this.identity.sendTime,
        fromAddress: this.sender.address,
      };
      const marks = new PersonalMarks();
      composed = this.templates.html(name, context, marks).then(
        (html) =>
          new MessageTemplate({
            from: this.sender.header,
            subject,
            html,
            text: this.templates.text(name, context, marks),
            headers: this.feedbackId('transactional', name),
          }),
      );
      this.transactional.set(name, composed);
    }
    return composed;
  }

  /**
   * The edition one of our edition Message-IDs (`<edition>.<run>.<subscriber>.<random>@<domain>`,
   * brackets removed) belongs to, or null: what a relay that gives back only the Message-ID says.
   */
  editionOfMessageId(messageId: string): string | null {
    const match = /^([A-Za-z0-9_-]{1,40})\.(?:main|r\d{1,6})\.\d{1,18}\.[a-z0-9]{1,10}@([^@\s]+)$/.exec(
      messageId.trim(),
    );
    return match && match[2]?.toLowerCase() === this.identity.domain.toLowerCase() ? (match[1] ?? null) : null;
  }

  private messageId(local: string): string {
    return `<${local}.${Math.random().toString(36).slice(2, 10)}@${this.identity.domain}>`;
  }
}
