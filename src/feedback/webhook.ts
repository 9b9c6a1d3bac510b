import { createHash, timingSafeEqual } from 'node:crypto';
import type { FeedbackEvent } from './event.ts';

/**
 * What every relay webhook receiver shares: the result shape, header lookup, safe JSON, the timestamp
 * window and constant-time comparison. A receiver first proves the request came from the relay, then
 * reads it; it never throws, so a hostile body can only earn a 4xx.
 *
 * Statuses: 400 the body is not what the relay sends; 401 it is not authentic (signature or credentials
 * missing or wrong); 403 it is authentic but refused (too old, another topic).
 */
export type WebhookResult =
  { ok: true; events: FeedbackEvent[] } | { ok: false; status: 400 | 401 | 403; reason: string };

/** Request headers as Node and Fastify give them; names are matched case-insensitively. */
export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** How far a signed timestamp may be from now, either way, before the request is refused as a replay. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface Clock {
  /** For tests; defaults to the real time. */
  now?: () => Date;
}

export function refuse(status: 400 | 401 | 403, reason: string): WebhookResult {
  return { ok: false, status, reason };
}

export function header(headers: WebhookHeaders, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower || value === undefined) continue;
    const first = typeof value === 'string' ? value : value[0];
    return first === undefined ? null : first.trim();
  }
  return null;
}

export function bodyBytes(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

export function parseJson(body: Buffer | string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(bodyBytes(body).toString('utf8')) as unknown };
  } catch {
    return { ok: false };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** A number, or a string holding one (relays are not consistent: Mailgun's timestamp is either). */
export function numeric(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return null;
}

/** True when `at` is more than the tolerance away from now, in the past or the future. */
export function outsideWindow(at: Date, toleranceSeconds: number | undefined, clock: Clock): boolean {
  const now = (clock.now ?? (() => new Date()))();
  return Math.abs(now.getTime() - at.getTime()) > (toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS) * 1000;
}

/**
 * Constant-time comparison of two strings of any lengths: both are hashed first, so neither the
 * content nor the length of the secret leaks through timing.
 */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The literal text of a number under a top-level key of a JSON object, e.g. Postmark's 64-bit `ID`:
 * JSON.parse rounds integers above 2^53, and two bounce ids rounded to the same number would make a
 * new bounce look like a replay. Walks the text once, tracking strings and depth; null when absent.
 */
export function topLevelNumberText(json: string, key: string): string | null {
  let depth = 0;
  for (let i = 0; i < json.length; i += 1) {
    const char = json[i];
    if (char === '"') {
      const end = stringEnd(json, i);
      if (end < 0) return null;
      if (depth === 1 && json.slice(i + 1, end) === key) {
        const value = /^\s*:\s*(-?\d+)(?=\s*[,}])/.exec(json.slice(end + 1, end + 64));
        if (value) return value[1] ?? null;
      }
      i = end;
    } else if (char === '{' || char === '[') depth += 1;
    else if (char === '}' || char === ']') depth -= 1;
  }
  return null;
}

function stringEnd(json: string, start: number): number {
  for (let i = start + 1; i < json.length; i += 1) {
    if (json[i] === '\\') i += 1;
    else if (json[i] === '"') return i;
  }
  return -1;
}

/**
 * Runs a receiver so that nothing escapes as an exception: whatever a body does to a parser it was
 * not written for ends as a 400, never as a crash of the route that called it.
 */
export function guarded(receive: () => WebhookResult): WebhookResult {
  try {
    return receive();
  } catch {
    return refuse(400, 'unreadable request');
  }
}
