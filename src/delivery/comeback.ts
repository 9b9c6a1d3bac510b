/** What an attempt put aside, and what the paces and the ledger said of its destinations. */
export interface PutAsideAttempt {
  /** The soonest a recipient put aside for no pace (a refusal, no transport) may go again, ms from now. */
  soonestMs: number;
  /** The paces that asked destinations of this attempt to wait: how long, and their rate (messages per second). */
  paces: ReadonlyMap<string, { waitMs: number; rate: number }>;
  /** The recipients put aside, with their destinations. */
  aside: ReadonlyArray<{ destination: string }>;
  /** How many recipients of the edition wait for each of those destinations. */
  waitingFor: ReadonlyMap<string, number>;
}

/** When a refusal named no wait, the batch comes back after about this long (spread, so batches do not return all at once). */
const REFUSED_RETRY_MS = 250;
/** However long a destination's queue, a batch waiting for it comes back within this (the console's figures stay fresh). */
const LONGEST_TURN_MS = 30_000;

/**
 * When a batch whose recipients were put aside comes back: for the soonest of their destinations.
 * For one being paced, that is not when its pace next has room: every batch holding its recipients
 * would come back then, send one or two and put the rest aside again (measured: 14 claims per
 * message sent in the benchmark's relay profile; 4.6 now). It is about when this batch's turn comes: with
 * `waiting` recipients of the edition for the destination, sent in no particular order at `rate`,
 * the first of this batch's `mine` goes after waiting / (rate x (mine + 1)) on average. A random
 * quarter to three quarters of that brings back enough batches to keep the pace busy while each
 * comes back a few times, not hundreds.
 */
export function comebackMs(attempt: PutAsideAttempt): number {
  const mine = new Map<string, number>();
  for (const { destination } of attempt.aside) mine.set(destination, (mine.get(destination) ?? 0) + 1);
  let soonest = Number.POSITIVE_INFINITY;
  for (const [destination, count] of mine) {
    const pace = attempt.paces.get(destination);
    const waiting = attempt.waitingFor.get(destination);
    if (!pace || waiting === undefined || !(pace.rate > 0)) {
      // A refusal or no transport in rotation: the wait either named, or a short one.
      const named = Number.isFinite(attempt.soonestMs) ? attempt.soonestMs : REFUSED_RETRY_MS;
      soonest = Math.min(soonest, named + Math.floor(Math.random() * REFUSED_RETRY_MS));
      continue;
    }
    const turnMs = Math.min(LONGEST_TURN_MS, (1000 * waiting) / (pace.rate * (count + 1)));
    soonest = Math.min(soonest, Math.max(pace.waitMs, Math.floor(turnMs * (0.25 + Math.random() * 0.5))));
  }
  return Number.isFinite(soonest) ? soonest : REFUSED_RETRY_MS;
}
