import { isIP } from 'node:net';
import { checkAddress, checkName } from './address.ts';
import { SUBSCRIBER_STATES, type SubscriberState } from './subscriber-store.ts';

/**
 * Reading one row of a subscriber list: our own `email,name`, or a Mailchimp or listmonk export.
 * Columns are found by their header; what a row says about a person's status is kept, so that
 * people who left (unsubscribed) or whose address bounced (Mailchimp's "cleaned") are imported as
 * such and never as confirmed.
 */
export type ImportedState = Exclude<SubscriberState, 'pending'>;
export const IMPORTED_STATES = SUBSCRIBER_STATES.filter((state): state is ImportedState => state !== 'pending');

export interface ImportColumns {
  email: number;
  name: number | null;
  firstName: number | null;
  status: number | null;
  consentAt: number | null;
  consentIp: number | null;
  changedAt: number | null;
}

export interface ImportRow {
  email: string;
  emailKey: string;
  name: string;
  state: ImportedState;
  consentAt: Date | null;
  consentIp: string | null;
  changedAt: Date | null;
}

/** Header names as they appear in exports, compared without case, spaces or punctuation. */
const HEADERS: Record<Exclude<keyof ImportColumns, 'email'> | 'email', string[]> = {
  email: ['email', 'emailaddress', 'mail', 'address'],
  name: ['name', 'fullname'],
  firstName: ['firstname', 'fname', 'givenname'],
  status: ['status', 'subscriptionstatus', 'state'],
  consentAt: ['optintime', 'confirmtime', 'consentat', 'subscribedat', 'createdat', 'timestampsignup'],
  consentIp: ['optinip', 'confirmip', 'consentip', 'ip', 'ipsignup'],
  changedAt: ['unsubtime', 'cleantime', 'unsubscribedat', 'lastchanged', 'updatedat'],
};

/** What a status cell (or a Mailchimp file's kind) means here. */
const STATUSES: Record<string, ImportedState> = {
  '': 'confirmed',
  subscribed: 'confirmed',
  confirmed: 'confirmed',
  enabled: 'confirmed',
  active: 'confirmed',
  unsubscribed: 'unsubscribed',
  disabled: 'unsubscribed',
  blocklisted: 'unsubscribed',
  blacklisted: 'unsubscribed',
  cleaned: 'bounced',
  bounced: 'bounced',
  complained: 'complained',
  spam: 'complained',
};

const normalizeHeader = (cell: string) => cell.toLowerCase().replace(/[^a-z0-9]/g, '');

/** The columns of a header row, or null when the first row is already data (it holds an address in its first cell). */
export function readHeader(row: string[]): ImportColumns | { error: string } | null {
  if (checkAddress(row[0] ?? '').ok) return null;
  const cells = row.map(normalizeHeader);
  const find = (names: string[]) => {
    const index = cells.findIndex((cell) => names.includes(cell));
    return index === -1 ? null : index;
  };
  const email = find(HEADERS.email);
  if (email === null)
    return { error: `no email column in the header (found: ${row.slice(0, 12).join(', ').slice(0, 200)})` };
  return {
    email,
    name: find(HEADERS.name),
    firstName: find(HEADERS.firstName),
    status: find(HEADERS.status),
    consentAt: find(HEADERS.consentAt),
    consentIp: find(HEADERS.consentIp),
    changedAt: find(HEADERS.changedAt),
  };
}

/** Without a header: an address and a name. */
export const HEADERLESS: ImportColumns = {
  email: 0,
  name: 1,
  firstName: null,
  status: null,
  consentAt: null,
  consentIp: null,
  changedAt: null,
};

/**
 * The status of rows whose file has no status column. Mailchimp exports one file per status; its
 * unsubscribed and cleaned files say so by their columns.
 */
export function fileState(header: string[] | null, chosen: ImportedState): ImportedState {
  const cells = (header ?? []).map(normalizeHeader);
  if (cells.includes('cleantime')) return 'bounced';
  if (cells.includes('unsubtime')) return 'unsubscribed';
  return chosen;
}

export function parseImportedState(value: string): ImportedState | null {
  return STATUSES[value.trim().toLowerCase()] ?? null;
}

/** One data row: a row to import, or why it is rejected. */
export function readRow(
  cells: string[],
  columns: ImportColumns,
  defaultState: ImportedState,
): ImportRow | { reason: string } {
  const cell = (index: number | null) => (index === null ? '' : (cells[index] ?? '').trim());
  const address = checkAddress(cell(columns.email));
  if (!address.ok) return { reason: address.reason };
  const name = checkName(cell(columns.name) || cell(columns.firstName));
  if (!name.ok) return { reason: name.reason };
  const statusCell = cell(columns.status);
  const state = statusCell ? parseImportedState(statusCell) : defaultState;
  if (state === null) {
    return {
      reason: `status "${statusCell.slice(0, 40)}" is not one of subscribed, unsubscribed, cleaned, bounced, complained (unconfirmed sign-ups must confirm themselves)`,
    };
  }
  const ip = cell(columns.consentIp);
  return {
    email: address.address,
    emailKey: address.lookupKey,
    name: name.name,
    state,
    consentAt: dateOf(cell(columns.consentAt)),
    consentIp: ip && isIP(ip) ? ip : null,
    changedAt: dateOf(cell(columns.changedAt)),
  };
}

/** A time cell as exports write it (ISO, or Mailchimp's `2024-05-01 10:11:12`); anything else is no time. */
function dateOf(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return null;
  const date = new Date(value.includes('T') || !value.includes(' ') ? value : `${value.replace(' ', 'T')}Z`);
  return Number.isNaN(date.getTime()) || date.getTime() > Date.now() + 86_400_000 ? null : date;
}
