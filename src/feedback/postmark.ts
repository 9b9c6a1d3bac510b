import { type Classification, classifyFailure, orProviderKind } from './classify.ts';
import { dateOr, diagnosticLine, type FeedbackEvent, type FeedbackKind } from './event.ts';
import { identifiersIn } from './our-identifiers.ts';
import { returnedHeadersInReport } from './returned-headers.ts';
import {
  bodyBytes,
  header,
  isRecord,
  parseJson,
  refuse,
  sameSecret,
  text,
  topLevelNumberText,
  type Clock,
  type WebhookHeaders,
  type WebhookResult,
  guarded,
} from './webhook.ts';

/**
 * Postmark's bounce and spam-complaint webhooks. Postmark does not sign its webhooks; it sends the
 * HTTP basic-auth credentials put in the webhook URL, so those are the proof (compared in constant
 * time). There is no signed timestamp to refuse replays by: a replayed request carries the same
 * `ID`, which the caller has already seen.
 */
export interface PostmarkSettings extends Clock {
  user: string;
  password: string;
}

type Mapping = FeedbackKind | 'classify' | 'ignore';

/**
 * Postmark bounce `Type` → what it means for the reader. `classify` lets the Details decide, with the
 * type as the label for what the Details do not pin down (HardBounce carrying Microsoft's 5.7.515 is
 * a policy block). Types about our sending or our account are `policy`; replies that are no bounce
 * at all (auto-responders, challenge mails, address-change notices) are ignored.
 */
export const POSTMARK_BOUNCE_TYPES: Readonly<Record<string, { kind: Mapping; label?: 'hard' | 'soft' }>> = {
  HardBounce: { kind: 'classify', label: 'hard' },
  BadEmailAddress: { kind: 'hard' },
  SoftBounce: { kind: 'classify', label: 'soft' },
  Transient: { kind: 'classify', label: 'soft' },
  DnsError: { kind: 'soft' },
  Unknown: { kind: 'classify', label: 'soft' },
  SpamNotification: { kind: 'policy' },
  Blocked: { kind: 'policy' },
  DMARCPolicy: { kind: 'policy' },
  VirusNotification: { kind: 'policy' },
  SMTPApiError: { kind: 'policy' },
  TemplateRenderingFailed: { kind: 'policy' },
  Unconfirmed: { kind: 'policy' },
  SpamComplaint: { kind: 'complaint' },
  Unsubscribe: { kind: 'unsubscribe' },
  AutoResponder: { kind: 'ignore' },
  Subscribe: { kind: 'ignore' },
  AddressChange: { kind: 'ignore' },
  ChallengeVerification: { kind: 'ignore' },
  OpenRelayTest: { kind: 'ignore' },
  InboundError: { kind: 'ignore' },
  ManuallyDeactivated: { kind: 'ignore' }, // our own action in Postmark's console
};

function authentic(headers: WebhookHeaders, settings: PostmarkSettings): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header(headers, 'authorization') ?? '');
  if (!match) return false;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both compared every time, so timing does not tell which one was wrong.
  const userOk = sameSecret(decoded.slice(0, colon), settings.user);
  const passwordOk = sameSecret(decoded.slice(colon + 1), settings.password);
  return userOk && passwordOk;
}

function eventOf(
  record: Record<string, unknown>,
  eventId: string,
  kind: FeedbackKind,
  classified: Classification | null,
  clock: Clock,
): FeedbackEvent {
  const content = text(record.Content);
  const ours = identifiersIn(content ? returnedHeadersInReport(content) : null);
  return {
    source: 'postmark',
    eventId,
    kind,
    email: text(record.Email),
    status: classified?.status ?? null,
    smtpCode: classified?.smtpCode ?? null,
    diagnostic: diagnosticLine(text(record.Details) ?? text(record.Description) ?? String(record.Type ?? '')),
    at: dateOr(record.BouncedAt, (clock.now ?? (() => new Date()))()),
    ...ours,
  };
}

function receivePostmarkUnguarded(
  body: Buffer | string,
  headers: WebhookHeaders,
  settings: PostmarkSettings,
): WebhookResult {
  if (!authentic(headers, settings)) return refuse(401, 'missing or wrong basic-auth credentials');
  const parsed = parseJson(body);
  if (!parsed.ok || !isRecord(parsed.value)) return refuse(400, 'the body is not a JSON object');
  const record = parsed.value;
  const recordType = text(record.RecordType);
  if (recordType !== 'Bounce' && recordType !== 'SpamComplaint') return { ok: true, events: [] }; // deliveries, opens, clicks
  if ((typeof record.ID !== 'number' && !text(record.ID)) || !text(record.Email))
    return refuse(400, 'a bounce needs ID and Email');

  // The id as Postmark wrote it: 64-bit ids do not survive JSON.parse.
  const eventId = topLevelNumberText(bodyBytes(body).toString('utf8'), 'ID') ?? String(record.ID);
  const type = recordType === 'SpamComplaint' ? 'SpamComplaint' : (text(record.Type) ?? 'Unknown');
  // A type Postmark adds later: the Details decide.
  const mapping = POSTMARK_BOUNCE_TYPES[type] ?? { kind: 'classify' };
  if (mapping.kind === 'ignore') return { ok: true, events: [] };
  const details = text(record.Details) ?? text(record.Description);
  if (mapping.kind === 'classify') {
    const classification = classifyFailure({ diagnostic: details });
    const classified = mapping.label ? orProviderKind(classification, mapping.label) : classification;
    return { ok: true, events: [eventOf(record, eventId, classified.kind, classified, settings)] };
  }
  const withCodes =
    mapping.kind === 'complaint' || mapping.kind === 'unsubscribe' ? null : classifyFailure({ diagnostic: details });
  return { ok: true, events: [eventOf(record, eventId, mapping.kind, withCodes, settings)] };
}

export function receivePostmark(
  body: Buffer | string,
  headers: WebhookHeaders,
  settings: PostmarkSettings,
): WebhookResult {
  return guarded(() => receivePostmarkUnguarded(body, headers, settings));
}
