import type { DeliveryLedger, LedgerEntry } from '../delivery/ledger.ts';
import type { EditionStore } from '../editions/edition-store.ts';
import { checkAddress, checkName } from '../subscribers/address.ts';
import type { Subscriber, SubscriberEvent, SubscriberStore } from '../subscribers/subscriber-store.ts';
import type { Subscriptions } from '../subscribers/subscriptions.ts';

export interface SubscriberRecord {
  subscriber: Subscriber;
  history: SubscriberEvent[];
  deliveries: Array<{ edition: string } & LedgerEntry>;
}

export interface ImportReport {
  rows: number;
  imported: number;
  confirmedExisting: number;
  skipped: Array<{ line: number; email: string; reason: string }>;
  rejected: Array<{ line: number; text: string; reason: string }>;
}

export const IMPORT_MAX_BYTES = 5 * 1024 * 1024;

/** What admins do to subscribers: look up, change state, export, erase, import. */
export class SubscriberAdmin {
  constructor(
    private readonly store: SubscriberStore,
    private readonly subscriptions: Subscriptions,
    private readonly ledger: DeliveryLedger,
    private readonly editions: EditionStore,
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
    return { subscriber, history: await this.store.history(id), deliveries };
  }

  async act(id: string, action: 'unsubscribe' | 'suppress' | 'lift', by: string): Promise<boolean> {
    if (action === 'suppress') return this.subscriptions.suppress(id, 'complained', `suppressed by ${by}`, by);
    if (action === 'lift') return this.subscriptions.liftSuppression(id, by);
    const result = await this.store.transition({
      id,
      from: ['pending', 'confirmed'],
      to: 'unsubscribed',
      reason: 'unsubscribed by an admin',
      by,
      fields: { unsubscribedAt: new Date().toISOString() },
    });
    return result.ok;
  }

  erase(id: string): Promise<boolean> {
    return this.store.erase(id);
  }

  /**
   * Imports already-consented addresses (`email[,name]` per line, an optional header line). Each row is
   * validated; new addresses become confirmed with an import consent record; addresses that left or
   * were suppressed are not re-subscribed.
   */
  async importCsv(csv: string, by: string): Promise<ImportReport> {
    const report: ImportReport = { rows: 0, imported: 0, confirmedExisting: 0, skipped: [], rejected: [] };
    const lines = csv.replace(/^\uFEFF/, '').split(/\r?\n/);
    const at = new Date().toISOString();
    for (const [index, line] of lines.entries()) {
      const lineNumber = index + 1;
      if (!line.trim() || (index === 0 && /^\s*"?email"?\s*(,|$)/i.test(line))) continue;
      report.rows += 1;
      const [rawEmail = '', rawName = ''] = parseCsvLine(line);
      const address = checkAddress(rawEmail);
      if (!address.ok) {
        report.rejected.push({ line: lineNumber, text: line.slice(0, 200), reason: address.reason });
        continue;
      }
      const name = checkName(rawName);
      if (!name.ok) {
        report.rejected.push({ line: lineNumber, text: line.slice(0, 200), reason: name.reason });
        continue;
      }
      const { id, created } = await this.store.create(address.lookupKey, { email: address.address, name: name.name, consentAt: at, consentIp: `import by ${by}` });
      const result = await this.store.transition({ id, from: ['pending'], to: 'confirmed', reason: 'imported with consent', by, fields: { confirmedAt: at } });
      if (created) report.imported += 1;
      else if (result.ok) report.confirmedExisting += 1;
      else report.skipped.push({ line: lineNumber, email: address.address, reason: `already ${result.current ?? 'present'}` });
    }
    return report;
  }

  /** Every subscriber as CSV, read page by page (never all in memory). */
  async *exportCsv(): AsyncGenerator<string> {
    yield 'id,email,name,state,created_at,confirmed_at,unsubscribed_at,suppression_reason,format\n';
    let after: string | undefined;
    for (;;) {
      const page = await this.store.page({ limit: 1000, ...(after ? { after } : {}) });
      yield page.subscribers
        .map((s) => [s.id, s.email, s.name, s.state, s.createdAt, s.confirmedAt ?? '', s.unsubscribedAt ?? '', s.suppressionReason ?? '', s.format].map(csvField).join(',') + '\n')
        .join('');
      if (!page.next) return;
      after = page.next;
    }
  }
}

/**
 * A cell that starts with = + - @ (or a tab or CR) runs as a formula in a spreadsheet. Such a start is
 * neutralised with a `'` at the beginning of the value and after every `,` or `;` inside it: a
 * spreadsheet set to the other separator, or one that ignores quotes, splits there and would find a
 * formula. Values with separators, quotes or line breaks are quoted.
 */
export function csvField(value: string): string {
  const safe = value.replace(/(^|[,;\t\r\n])(\s*)(?=[=+\-@\t\r])/g, "$1$2'");
  return /[",;\n\r\t]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV line into fields: RFC 4180 quoting, `,` or `;` between fields (spreadsheets in many locales write `;`). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index];
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        current += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else current += char;
    } else if (char === '"') quoted = true;
    else if (char === ',' || char === ';') {
      fields.push(current.trim());
      current = '';
    } else current += char;
  }
  fields.push(current.trim());
  return fields;
}
