import { performance } from 'node:perf_hooks';

/** A pace's "wait" as a sender that leaves the queue is told it: how long from now, and the pace's rate (messages per second). */
export interface PaceWait {
  waitMs: number;
  rate: number;
}

/** When a queued sender stops waiting for its turn (performance.now()); it may move later while the sender waits. */
export type TurnDeadline = () => number;

/**
 * The queue, per destination, of this process's senders waiting to ask the destination's pace. One
 * asks at a time, and waits out the pace's answer before the next asks: the batches of a process
 * hold one question to the pacer open per paced destination, not one per batch (measured: ~10
 * questions per paced message, most of them answered "wait", at ~70 µs of Redis each), and that
 * question holds one connection while it is answered, not one per batch.
 *
 * A sender whose batch may wait no longer leaves the queue before its turn (it would otherwise
 * wait out the paces of other batches' senders ahead of it, and its batch conclude late), told the
 * destination's latest answer in this process, so that its batch comes back about when the
 * destination's pace has room for it.
 */
export class PacedTurns {
  private readonly last = new Map<string, Promise<unknown>>();
  private readonly answers = new Map<string, { until: number; rate: number }>();

  /**
   * `step` once the destination's earlier steps in this process have settled, or, when `deadline`
   * passes before that, the destination's latest wait (null when none is known) and `step` never runs.
   */
  take<T>(destination: string, step: () => Promise<T>, deadline: TurnDeadline): Promise<T | PaceWait | null> {
    const before = this.last.get(destination);
    if (!before) return this.enqueue(destination, Promise.resolve(), step);
    return new Promise<T | PaceWait | null>((resolve, reject) => {
      let queued = true;
      let timer: NodeJS.Timeout | undefined;
      const leaveWhenLate = () => {
        const leftMs = deadline() - performance.now();
        if (leftMs > 0) {
          timer = setTimeout(leaveWhenLate, leftMs);
          return;
        }
        queued = false;
        resolve(this.latestWait(destination));
      };
      const stepWhileQueued = async (): Promise<void> => {
        if (!queued) return;
        queued = false;
        clearTimeout(timer);
        resolve(await step());
      };
      this.enqueue(destination, before, stepWhileQueued).catch(reject);
      leaveWhenLate();
    });
  }

  /** What the pace told the sender whose turn it is: a wait of `waitMs`, at `rate` messages per second. */
  answered(destination: string, wait: PaceWait): void {
    this.answers.set(destination, { until: performance.now() + wait.waitMs, rate: wait.rate });
  }

  private latestWait(destination: string): PaceWait | null {
    const answer = this.answers.get(destination);
    return answer ? { waitMs: Math.max(0, Math.ceil(answer.until - performance.now())), rate: answer.rate } : null;
  }

  private enqueue<T>(destination: string, before: Promise<unknown>, step: () => Promise<T>): Promise<T> {
    const run = before.then(step);
    const settled = run.catch(() => undefined);
    this.last.set(destination, settled);
    // The queue is forgotten once it is empty: a list reaches thousands of destinations.
    void settled.then(() => {
      if (this.last.get(destination) !== settled) return;
      this.last.delete(destination);
      this.answers.delete(destination);
    });
    return run;
  }
}
