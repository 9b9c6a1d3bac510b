/** What time it is, for everything that decides by the time (cut-offs, freshness, deadlines). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that starts at `start` and runs at the normal pace (CLOCK_START, for tests and demos only):
 * a process can be started "at 22:58" without anyone waiting for 22:58.
 */
export function clockStartingAt(start: Date): Clock {
  const offset = start.getTime() - Date.now();
  return { now: () => new Date(Date.now() + offset) };
}
