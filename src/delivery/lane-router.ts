import { performance } from 'node:perf_hooks';
import { sleep } from './concurrency.ts';
import { PacedTurns } from './paced-turns.ts';
import type { Pacing } from './pacing/pacing.ts';
import type { SendRate } from './send-rate.ts';
import type { Transport, Transports } from './transports.ts';

export interface InlineWaitSettings {
  /**
   * How long after its claim a batch may wait for destinations' paces while batches of the edition
   * not yet tried once remain (`busyInlineWaitMs`), or once every batch was (`idleInlineWaitMs`,
   * within the lease); past that, the recipients left for a destination that asks for a wait are put
   * aside (`waiting`) and the batch comes back for them later. So the first pass over the edition is
   * not held up by strict destinations, and after it the batches keep their destinations' paces busy
   * by waiting for them, not by coming back again and again (each return claims the whole batch).
   * While destinations of the batch that need no wait are still being sent, the paced ones wait
   * on (a batch busy anyway holds nothing up), until `busyInlineWaitMs` after those are done.
   */
  busyInlineWaitMs: number;
  idleInlineWaitMs: number;
}

/** What routing reads and keeps of an attempt at a batch (see `EditionBatchSender`). */
export interface RoutedAttempt {
  /** No send starts after this (performance.now()): it could not end inside the lease. */
  lastStart: number;
  /** Waiting for a destination's pace ends here (performance.now()) at the earliest; see InlineWaitSettings. */
  inlineUntil: number;
  /** Lanes still sending without having been asked to wait for a pace; when the last of them ended. */
  unpacedLanes: number;
  unpacedDoneAt: number;
  /** Destinations put aside for the rest of this attempt. */
  asideDestinations: Set<string>;
}

/**
 * One destination's recipients in an attempt. They are routed side by side until the destination's
 * pace first asks for a wait; from then on one at a time, in turn with every other paced lane of
 * the destination in this process (see `PacedTurns`), until the batch's `inlineDeadline`.
 */
export interface Lane {
  destination: string;
  paced: boolean;
}

/**
 * A transport to send through now, or how long to wait: for the destination's pace (its `rate`), or
 * for a transport; `aside`: another recipient of the lane was put aside, and so is this one.
 */
export type Route = { transport: Transport; release: () => void } | { waitMs: number; rate?: number } | 'aside';

export interface LaneRouterDeps {
  settings: InlineWaitSettings;
  transports: Transports;
  pacing: Pacing;
  rate: SendRate;
}

/**
 * Finds each recipient of a batch's lanes a transport and the moment to send: the transports in
 * rotation, the destination's pace, then the overall and the transports' rates. One per process:
 * its `PacedTurns` are shared by the batches the process sends.
 */
export class LaneRouter {
  private readonly pacedTurns = new PacedTurns();

  constructor(private readonly deps: LaneRouterDeps) {}

  /** The attempt's lanes, one per destination; one this process knows to be paced queues for its turn from the first recipient. */
  lanes(attempt: RoutedAttempt, destinations: Iterable<string>): Lane[] {
    const lanes = [...destinations].map((destination) => ({
      destination,
      paced: this.deps.pacing.knownPaced(destination),
    }));
    attempt.unpacedLanes = lanes.filter((lane) => !lane.paced).length;
    return lanes;
  }

  /** The lane has no recipient left to route. */
  laneDone(attempt: RoutedAttempt, lane: Lane): void {
    if (!lane.paced) this.unpacedLaneDone(attempt);
  }

  /**
   * A connection to a transport in rotation, held once that transport's pace for this destination
   * lets a message go (then the overall and the transport's own rates): the message goes on the
   * wire right when the pace allows, so a relay counting in windows sees the pace, not bursts. A
   * short pace wait is waited out inside the batch (see `inlineDeadline`); otherwise the answer is
   * how long until the destination (or a transport) may take mail again. A paced lane's senders
   * take turns with those of the destination's other paced lanes in this process (see PacedTurns),
   * and leave the queue when their batch may wait no longer.
   */
  async route(attempt: RoutedAttempt, lane: Lane): Promise<Route> {
    if (!lane.paced) {
      const route = await this.routeOnce(attempt, lane);
      // 'again': the pace asked this lane to wait (it is paced from now on), and the wait is over.
      if (route !== 'again') return route;
    }
    const turn = await this.pacedTurns.take(
      lane.destination,
      () => this.routeUntilDone(attempt, lane),
      () => this.inlineDeadline(attempt),
    );
    // Null: the batch may wait no longer, and no answer of the pace is known to tell its recipients.
    return turn ?? 'aside';
  }

  /** `routeOnce` until it has an answer: the sender whose turn it is keeps it while it waits out the pace. */
  private async routeUntilDone(attempt: RoutedAttempt, lane: Lane): Promise<Route> {
    for (;;) {
      const route = await this.routeOnce(attempt, lane);
      if (route !== 'again') return route;
    }
  }

  /** One try at `route`: 'again' after waiting out the destination's pace. */
  private async routeOnce(attempt: RoutedAttempt, lane: Lane): Promise<Route | 'again'> {
    const { transports, pacing, rate } = this.deps;
    if (attempt.asideDestinations.has(lane.destination)) return 'aside';
    const open = await transports.inRotation();
    if (open.transports.length === 0) return { waitMs: open.waitMs };
    let waitMs = Number.POSITIVE_INFINITY;
    let paceRate = 0;
    for (const transport of open.transports) {
      // A paced lane asks with one sender at a time and most answers are "wait": it goes ahead of
      // the unpaced lanes' senders, or each of its questions would wait behind all of theirs
      // (measured: over a second in the first pass) and its pace would go unused meanwhile.
      const release = await transport.connections.acquire(lane.paced);
      const acquired = await pacing.acquire(transport.name, lane.destination);
      if (acquired.ok) {
        const taking = rate.take(transport);
        if (taking) await taking;
        return { transport, release };
      }
      release();
      waitMs = Math.min(waitMs, acquired.waitMs);
      paceRate += acquired.rate;
    }
    if (!lane.paced) {
      lane.paced = true;
      this.unpacedLaneDone(attempt);
    }
    this.pacedTurns.answered(lane.destination, { waitMs, rate: paceRate });
    if (performance.now() + waitMs > this.inlineDeadline(attempt)) return { waitMs, rate: paceRate };
    await sleep(waitMs);
    return 'again';
  }

  /**
   * Until when a paced lane may wait for its pace: its `inlineUntil`, or while lanes that need no
   * wait still send (a short wait at a time), or `busyInlineWaitMs` after they are done; never so
   * late that a send could not end inside the lease.
   */
  private inlineDeadline(attempt: RoutedAttempt): number {
    const { busyInlineWaitMs, idleInlineWaitMs } = this.deps.settings;
    const othersBusy =
      attempt.unpacedLanes > 0 ? performance.now() + idleInlineWaitMs : attempt.unpacedDoneAt + busyInlineWaitMs;
    return Math.min(Math.max(attempt.inlineUntil, othersBusy), attempt.lastStart);
  }

  private unpacedLaneDone(attempt: RoutedAttempt): void {
    attempt.unpacedLanes -= 1;
    if (attempt.unpacedLanes === 0) attempt.unpacedDoneAt = performance.now();
  }
}
