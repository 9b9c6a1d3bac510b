import type { Redis } from 'ioredis';
import type { RedisKeys } from '../platform/redis-keys.ts';
import { withinRateLimit } from '../platform/rate-limit.ts';
import type { TokenSigner } from '../platform/tokens.ts';
import { type AddressProblem, checkAddress, checkName, type NameProblem } from './address.ts';
import type { Queryable } from '../platform/database.ts';
import {
  MAIL_FORMATS,
  type MailFormat,
  type Subscriber,
  SUPPRESSED_STATES,
  SubscriberStore,
} from './subscriber-store.ts';

export interface RequestContext {
  ip: string;
  userAgent: string;
}

export type SubscribeResult =
  | { ok: true }
  | { ok: false; field: 'email'; reason: string; problem: AddressProblem }
  | { ok: false; field: 'name'; reason: string; problem: NameProblem };
/** Why preferences were not saved: the link, the name, or the format. */
export type PreferencesProblem = { field: 'link' } | { field: 'name'; problem: NameProblem } | { field: 'format' };
export type LinkResult =
  | {
      ok: true;
      outcome: 'confirmable' | 'confirmed' | 'already-confirmed' | 'unsubscribed' | 'already-unsubscribed';
      email: string;
    }
  | { ok: false; reason: 'malformed' | 'forged' | 'expired' | 'superseded' | 'unknown' | 'not-allowed' };

export interface SubscriptionSettings {
  confirmTokenTtlHours: number;
  limitPerAddressPerHour: number;
  publicUrl: string;
}

/** A checked sign-up waiting to be applied (by a worker, see `processSignup`). */
export interface SignupRequest {
  email: string;
  name: string;
  consentAt: string;
  consentIp: string;
  consentUserAgent: string;
}

/** Where sign-ups wait (a queue the workers take from). */
export interface SignupQueue {
  enqueue(request: SignupRequest): Promise<void>;
}

/** Asks for the emails of signing up to be sent (the delivery side owns mail). */
export interface SubscriptionMail {
  /** A confirmation email, its link drawn when it is sent (so it has the newest version). */
  confirmation(subscriberId: string): Promise<void>;
  /** After a confirmation: what to expect, and how to leave (WELCOME_EMAIL). */
  welcome(subscriberId: string): Promise<void>;
}

/**
 * Double opt-in: sign-up, confirmation and leaving. Every answer to a sign-up is the same whether
 * the address is new, pending, confirmed or suppressed, so the form cannot be used to learn who
 * reads the newsletter.
 */
export class Subscriptions {
  constructor(
    private readonly store: SubscriberStore,
    private readonly signer: TokenSigner,
    private readonly redis: Redis,
    private readonly keys: Pick<RedisKeys, 'confirmationsByAddress'>,
    private readonly settings: SubscriptionSettings,
    private readonly mail: SubscriptionMail,
    private readonly signups: SignupQueue,
  ) {}

  /**
   * A sign-up as the form or the API receives it: checked, then handed over as a job. The answer
   * does the same work whatever the address's state (new, pending, confirmed, suppressed), so that
   * neither its content nor its timing tells who reads the newsletter.
   */
  async subscribe(input: { email: unknown; name?: unknown }, context: RequestContext): Promise<SubscribeResult> {
    const address = checkAddress(input.email);
    if (!address.ok) return { ok: false, field: 'email', reason: address.reason, problem: address.problem };
    const name = checkName(input.name);
    if (!name.ok) return { ok: false, field: 'name', reason: name.reason, problem: name.problem };
    await this.signups.enqueue({
      email: address.address,
      name: name.name,
      consentAt: new Date().toISOString(),
      consentIp: context.ip,
      consentUserAgent: context.userAgent.slice(0, 300),
    });
    return { ok: true };
  }

  /**
   * The sign-up job: a new address becomes pending, a pending one is asked again, one that left
   * starts over; confirmed or suppressed ones hear nothing. Only the newest confirmation link works:
   * a sign-up that is sent an email draws a new version, which voids the links sent before.
   */
  async processSignup(request: SignupRequest): Promise<void> {
    const address = checkAddress(request.email);
    if (!address.ok) return;
    const consent = {
      consentAt: request.consentAt,
      consentIp: request.consentIp,
      consentUserAgent: request.consentUserAgent,
    };
    const { id, created } = await this.store.create(address.lookupKey, {
      email: address.address,
      name: request.name,
      ...consent,
    });
    const state = created ? 'new' : (await this.store.get(id))?.state;
    if (state !== 'new' && state !== 'pending' && state !== 'unsubscribed') return;
    const underLimit = await withinRateLimit(
      this.redis,
      this.keys.confirmationsByAddress(address.lookupKey),
      this.settings.limitPerAddressPerHour,
      3600,
    );
    // Past the limit a pending address gets no email, so the link it was sent last must keep working.
    const renewing = state === 'unsubscribed' || (state === 'pending' && underLimit);
    if (renewing && !(await this.renew(id, state, request.name, consent))) return;
    if (underLimit) await this.mail.confirmation(id);
  }

  /**
   * A pending address is asked again, one that left starts a new subscription: either way with this
   * sign-up's name and consent, and a new version, so that links sent before cannot confirm it.
   */
  private async renew(
    id: string,
    state: 'pending' | 'unsubscribed',
    name: string,
    consent: Pick<SignupRequest, 'consentAt' | 'consentIp' | 'consentUserAgent'>,
  ): Promise<boolean> {
    const renewed = await this.store.transition({
      id,
      from: [state],
      to: 'pending',
      reason: state === 'pending' ? 'signed up again while pending' : 'subscribed again',
      fields: { name, ...consent },
      newVersion: true,
    });
    return renewed.ok;
  }

  /** What a confirmation link would do, without doing it: a GET shows this, and only the page's button confirms. */
  async checkConfirmation(token: string): Promise<LinkResult> {
    const found = await this.confirmationSubscriber(token);
    if (!found.ok) return found;
    return {
      ok: true,
      outcome: found.subscriber.state === 'confirmed' ? 'already-confirmed' : 'confirmable',
      email: found.subscriber.email,
    };
  }

  async confirm(token: string, context: RequestContext): Promise<LinkResult> {
    const found = await this.confirmationSubscriber(token);
    if (!found.ok) return found;
    const { subscriber } = found;
    if (subscriber.state === 'confirmed') return { ok: true, outcome: 'already-confirmed', email: subscriber.email };
    const result = await this.store.transition({
      id: subscriber.id,
      from: ['pending'],
      to: 'confirmed',
      reason: 'confirmed by link',
      fields: {
        confirmedAt: new Date().toISOString(),
        confirmIp: context.ip,
        confirmUserAgent: context.userAgent.slice(0, 300),
      },
    });
    if (!result.ok) return { ok: false, reason: 'not-allowed' };
    await this.mail.welcome(subscriber.id);
    return { ok: true, outcome: 'confirmed', email: subscriber.email };
  }

  private async confirmationSubscriber(
    token: string,
  ): Promise<{ ok: true; subscriber: Subscriber } | Extract<LinkResult, { ok: false }>> {
    const check = this.signer.verify(token, 'confirm');
    if (!check.ok) return check;
    const subscriber = await this.store.get(check.claims.subscriberId);
    if (!subscriber) return { ok: false, reason: 'unknown' };
    if (subscriber.version !== check.claims.version) return { ok: false, reason: 'superseded' };
    if (subscriber.state !== 'confirmed' && subscriber.state !== 'pending') return { ok: false, reason: 'not-allowed' };
    return { ok: true, subscriber };
  }

  /** Leaving never expires and never needs more than the link: RFC 8058 one-click and the page button both land here. */
  async unsubscribe(token: string, via: string): Promise<LinkResult> {
    const check = this.signer.verify(token, 'unsubscribe');
    if (!check.ok) return check;
    const subscriber = await this.store.get(check.claims.subscriberId);
    if (!subscriber) return { ok: false, reason: 'unknown' };
    const left = await this.leave(subscriber.id, `unsubscribed (${via})`);
    return { ok: true, outcome: left ? 'unsubscribed' : 'already-unsubscribed', email: subscriber.email };
  }

  /**
   * Leaving, by any door once the reader is known: a link, one-click, an admin, mail to the
   * List-Unsubscribe address, a relay's unsubscribe event. False when the reader was not subscribed.
   */
  async leave(id: string, reason: string, by?: string): Promise<boolean> {
    const result = await this.store.transition({
      id,
      from: ['pending', 'confirmed'],
      to: 'unsubscribed',
      reason,
      ...(by ? { by } : {}),
      fields: { unsubscribedAt: new Date().toISOString() },
    });
    return result.ok;
  }

  /** Whether a token is a valid unsubscribe link (for the page that shows the button). */
  checkUnsubscribeToken(token: string): boolean {
    return this.signer.verify(token, 'unsubscribe').ok;
  }

  confirmUrl(subscriberId: string, version: number): string {
    const expiresAt = new Date(Date.now() + this.settings.confirmTokenTtlHours * 3600_000);
    const token = this.signer.sign({ purpose: 'confirm', subscriberId, version }, expiresAt);
    return `${this.settings.publicUrl}/confirm?token=${token}`;
  }

  /**
   * A reader's own links, to leave and to manage the subscription: both carry the same
   * never-expiring token, signed once (every message of an edition has both).
   */
  readerUrls(subscriberId: string): { unsubscribeUrl: string; preferencesUrl: string } {
    const token = this.signer.sign({ purpose: 'unsubscribe', subscriberId, version: 0 });
    return {
      unsubscribeUrl: `${this.settings.publicUrl}/unsubscribe?token=${token}`,
      preferencesUrl: `${this.settings.publicUrl}/preferences?token=${token}`,
    };
  }

  /** The subscriber a preferences or unsubscribe link belongs to. */
  async fromLink(token: string): Promise<Subscriber | null> {
    const check = this.signer.verify(token, 'unsubscribe');
    return check.ok ? this.store.get(check.claims.subscriberId) : null;
  }

  async updatePreferences(
    token: string,
    input: { name?: unknown; format?: unknown },
  ): Promise<{ ok: true } | ({ ok: false; reason: string } & PreferencesProblem)> {
    const subscriber = await this.fromLink(token);
    if (!subscriber) return { ok: false, reason: 'This link is not valid.', field: 'link' };
    // Fields not sent are kept as they are.
    const name = input.name === undefined ? { ok: true as const, name: subscriber.name } : checkName(input.name);
    if (!name.ok) return { ok: false, reason: name.reason, field: 'name', problem: name.problem };
    const format = input.format ?? subscriber.format;
    if (!MAIL_FORMATS.includes(format as MailFormat))
      return { ok: false, reason: 'the email format must be html or text', field: 'format' };
    await this.store.updateFields(subscriber.id, { name: name.name, format: format as MailFormat });
    return { ok: true };
  }

  /** Pending sign-ups whose confirmation link has expired are removed (the DOMAIN's "expires"). */
  async expirePending(now = new Date()): Promise<number> {
    return this.store.expirePendingBefore(new Date(now.getTime() - this.settings.confirmTokenTtlHours * 3600_000));
  }

  /** An admin (or a permanent delivery failure) stops mail to an address until the suppression is lifted. */
  async suppress(id: string, state: 'bounced' | 'complained', reason: string, by = 'delivery'): Promise<boolean> {
    const result = await this.store.transition({
      id,
      from: ['pending', 'confirmed'],
      to: state,
      reason,
      by,
      fields: { suppressedAt: new Date().toISOString(), suppressionReason: reason.slice(0, 300) },
    });
    return result.ok;
  }

  /**
   * The same rules on one transaction's connection, so that a change and the record of why it was
   * made commit together (a feedback report is applied and kept as one).
   */
  within(tx: Queryable): Subscriptions {
    return new Subscriptions(
      new SubscriberStore(tx),
      this.signer,
      this.redis,
      this.keys,
      this.settings,
      this.mail,
      this.signups,
    );
  }

  async liftSuppression(id: string, by: string): Promise<boolean> {
    const result = await this.store.transition({
      id,
      from: SUPPRESSED_STATES,
      to: 'confirmed',
      reason: 'suppression lifted',
      by,
    });
    return result.ok;
  }
}
