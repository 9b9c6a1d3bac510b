import type { DeliveryLedger, LedgerEntry } from '../delivery/ledger.ts';
import { csvField } from '../platform/csv.ts';
import type { EditionStore } from '../editions/edition-store.ts';
import type { FeedbackStore, KeptReport } from '../feedback/feedback-store.ts';
import { checkAddress } from '../subscribers/address.ts';
import type { Subscriber, SubscriberEvent, SubscriberStore } from '../subscribers/subscriber-store.ts';
import type { Subscriptions } from '../subscribers/subscriptions.ts';

export interface SubscriberRecord {
  subscriber: Subscriber;
  history: SubscriberEvent[];
  /** Bounces, complaints and unsubscribes reported about this reader, newest first, with what each did. */
  feedback: KeptReport[];
  deliveries: Array<{ edition: string } & LedgerEntry>;
}

/** What admins do to subscribers: look up, change state, export, erase (imports: src/subscribers/imports.ts). */
export class SubscriberAdmin {
  constructor(
    private readonly store: SubscriberStore,
    private readonly subscriptions: Subscriptions,
    private readonly ledger: DeliveryLedger,
    private readonly editions: EditionStore,
    private readonly feedback: Pick<FeedbackStore, 'ofSubscriber'>,
  ) {}

  async findByEmail(email: string): Promise<Subscriber | null> {
    const address = checkAddress(email);
    if (!address.ok) return null;
    const id = await this.store.findIdByEmail(address.lookupKey);
    return id ? this.store.get(id) : null;
  }

  /** The subscriber, its consent record and history, and what it was sent in the last 30 editions. */
  async record(id: string): Promise<SubscriberRecord | null> {
    const subscriber = await this.store.get(id);
    if (!subscriber) return null;
    const editionIds = await this.editions.list(30);
    const entries = await Promise.all(editionIds.map((edition) => this.ledger.entry(edition, id)));
    const deliveries = editionIds.flatMap((edition, index) => {
      const entry = entries[index];
      return entry ? [{ edition, ...entry }] : [];
    });
    const [history, feedback] = await Promise.all([this.store.history(id), this.feedback.ofSubscriber(id)]);
    return { subscriber, history, feedback, deliveries };
  }

  async act(id: string, action: 'unsubscribe' | 'suppress' | 'lift', by: string): Promise<boolean> {
    if (action === 'suppress') return this.subscriptions.suppress(id, 'complained', `suppressed by ${by}`, by);
    if (action === 'lift') return this.subscriptions.liftSuppression(id, by);
    return this.subscriptions.leave(id, 'unsubscribed by an admin', by);
  }

  erase(id: string): Promise<boolean> {
    return this.store.erase(id);
  }

  /** Every subscriber as CSV, read page by page (never all in memory). */
  async *exportCsv(): AsyncGenerator<string> {
    yield 'id,email,name,state,created_at,confirmed_at,unsubscribed_at,suppression_reason,format\n';
    let after: string | undefined;
    for (;;) {
      const page = await this.store.page({ limit: 1000, ...(after ? { after } : {}) });
      yield page.subscribers
        .map(
          (s) =>
            [
              s.id,
              s.email,
              s.name,
              s.state,
              s.createdAt,
              s.confirmedAt ?? '',
              s.unsubscribedAt ?? '',
              s.suppressionReason ?? '',
              s.format,
            ]
              .map(csvField)
              .join(',') + '\n',
        )
        .join('');
      if (!page.next) return;
      after = page.next;
    }
  }
}
