/**
 * How the destination pacer finds and follows a destination's rate. Rates are messages per second,
 * times are milliseconds. The defaults were tuned against tests/support/throttling-relay.ts (fixed
 * one-second windows, 421 beyond the limit) with real SMTP sends; tests/delivery/pacer-relay.test.ts
 * holds them to >= 90 % of what the relay allows and a few percent refused. Why each number:
 */
export interface PacerSettings {
  /** Ceiling for destinations without their own (SMTP_DESTINATION_LIMITS). */
  defaultCeiling: number;
  /** Ceiling per destination (`parseDestinationLimits`): never sent faster, whatever the feedback. */
  ceilings: ReadonlyMap<string, number>;
  /** Rate of a destination not seen recently (no state in Redis). */
  startRate: number;
  /** Slow start: before a destination's first throttle, the rate is multiplied by this each busy second. */
  slowStartFactor: number;
  /** Additive increase: after the first throttle, added to the rate each busy second without throttling. */
  increaseStep: number;
  /** Multiplicative decrease on a throttle (0..1). */
  decreaseFactor: number;
  /** The rate never falls below this (a ceiling below it still wins). */
  floor: number;
  /** A measured cut keeps at least this share of what the destination took in the last second (0..1). */
  keepDeliveredShare: number;
  /** After a decrease, the rate does not grow for this long. */
  holdMs: number;
  /** Throttle reports within this long after a decrease belong to the same burst and do not cut again. */
  coalesceMs: number;
  /** GCRA tolerance: a message may go this much before its due time, so late callers catch up. */
  toleranceMs: number;
  /** A stated pause is honoured up to this long. */
  maxPauseMs: number;
  /** A destination's state expires after this long without sending (and it starts over at startRate). */
  idleTtlMs: number;
  /** `snapshot()` calls a destination throttled while its last signal is at most this old. */
  throttledRecentlyMs: number;
}

export const DEFAULT_PACER_SETTINGS: PacerSettings = {
  // Well above what relays grant one destination (tens a second), low enough that a destination
  // nobody configured cannot be flooded while the pacer looks for its limit.
  defaultCeiling: 100,
  ceilings: new Map(),
  // Low enough that even a strict destination (10/s) refuses little at first; slow start takes it
  // from 10 to 50/s in four seconds (10, 15, 22.5, 34, 51).
  startRate: 10,
  // 1.5 rather than TCP's 2: the overshoot past the limit, in the second before the first 421 comes
  // back, is half the limit instead of all of it (2 measured the same throughput, more refusals).
  slowStartFactor: 1.5,
  // Probing above the limit found costs a refusal or two each time it hits it; +1/s per second
  // takes a 50/s destination from 45 back to 50 in five seconds. +3 measured 3.4 % refused against
  // 2.4 % (the 10/s destination: 6.6 % against ~3 %), for no more throughput.
  increaseStep: 1,
  // A relay counting in fixed windows accepts exactly its limit a second, and the cut is also held
  // to what was accepted (throttled.lua), which handles big drops; so the factor only needs to step
  // just below the limit. Measured throughput of what the relay allowed: 0.9: 93-99 %; 0.7: 83-89 %;
  // 0.5: 73-88 % (and no fewer refusals: most refusals come from probing, not from the cut).
  decreaseFactor: 0.9,
  floor: 1,
  // Measured on the bench's relay profile (a 40/s domain lowered to 20/s on the critical path): a
  // cut to a whole decrease below the limit and +1/s back averaged ~19/s at a 20/s limit; keeping
  // 95 % of what was delivered averages closer to the limit for the same refusals (one probe over
  // the limit per cycle either way).
  keepDeliveredShare: 0.95,
  // The rest of the relay's window is spent after a refusal; growing again before the next windows
  // have shown whether the new rate fits refuses more: 0 measured 3.0 % refused (6.3 % for the
  // 10/s destination) against ~2.3 % (~3 %).
  holdMs: 2000,
  // Reports of one over-run arrive within milliseconds of each other (every worker's sends on the
  // wire). Near the limit a fixed window's budget runs out late in the window, so little of it is
  // left after a cut; a report 500 ms after a cut means the first cut was far from enough (we sent
  // at twice the limit), and a second cut is right. With a full second, a relay dropping from 50 to
  // 20/s refused 62 messages before the pace matched it; with 500 ms, 22-38.
  coalesceMs: 500,
  // Timers fire a few ms late; 20 ms of catch-up keeps the average rate on target at 50/s (one
  // message per 20 ms) and adds at most one message to any second. 0 measured ~2 points less throughput.
  toleranceMs: 20,
  // Relays state seconds to minutes; a longer stated pause (an hour) should not stall an edition.
  maxPauseMs: 10 * 60_000,
  idleTtlMs: 60 * 60_000,
  throttledRecentlyMs: 60_000,
};

export class PacerSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid pacer settings: ${problems.join('; ')}`);
    this.name = 'PacerSettingsError';
  }
}

/** Every problem at once, like the config module. */
export function checkPacerSettings(settings: PacerSettings): PacerSettings {
  const problems: string[] = [];
  const positive: Array<keyof PacerSettings> = [
    'defaultCeiling',
    'startRate',
    'increaseStep',
    'floor',
    'coalesceMs',
    'idleTtlMs',
    'throttledRecentlyMs',
  ];
  for (const name of positive) {
    const value = settings[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      problems.push(`${name} must be a number above 0`);
  }
  for (const name of ['holdMs', 'toleranceMs', 'maxPauseMs'] as const) {
    if (!Number.isFinite(settings[name]) || settings[name] < 0) problems.push(`${name} must be a number >= 0`);
  }
  if (!(settings.decreaseFactor > 0 && settings.decreaseFactor < 1))
    problems.push('decreaseFactor must be between 0 and 1');
  if (!(settings.slowStartFactor >= 1)) problems.push('slowStartFactor must be at least 1');
  if (!(settings.keepDeliveredShare >= 0 && settings.keepDeliveredShare < 1))
    problems.push('keepDeliveredShare must be at least 0 and below 1');
  if (settings.floor > settings.startRate)
    problems.push(`floor (${settings.floor}) is above startRate (${settings.startRate})`);
  for (const [destination, ceiling] of settings.ceilings) {
    if (!(ceiling > 0)) problems.push(`the ceiling of ${destination} must be above 0`);
  }
  if (problems.length > 0) throw new PacerSettingsError(problems);
  return settings;
}
