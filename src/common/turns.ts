/** Thrown by Turns.run when the line is full. */
export class NoTurnLeft extends Error {}

/**
 * At most `limit` pieces of work at once, the others waiting in arrival order; with `maxWaiting`, one more than that
 * is refused at once (NoTurnLeft) rather than queued. A failed piece of work gives its turn back like any other.
 * Work given a `signal` leaves the line when it aborts (its caller gave up), rejecting with the signal's reason;
 * once running, the work itself decides what the signal means.
 */
export class Turns {
  private running = 0;
  private readonly line: (() => void)[] = [];

  constructor(private readonly limit: number, private readonly maxWaiting = Infinity) {}

  /** How many wait for a turn. */
  waiting(): number {
    return this.line.length;
  }

  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.running >= this.limit) {
      if (this.line.length >= this.maxWaiting) throw new NoTurnLeft();
      await new Promise<void>((resolve, reject) => {
        const leave = () => {
          this.line.splice(this.line.indexOf(turn), 1);
          reject(signal!.reason);
        };
        const turn = () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        };
        this.line.push(turn);
        signal?.addEventListener('abort', leave, { once: true });
      });
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // The turn passes straight to the next in line (running stays the same), or is given back.
      const next = this.line.shift();
      if (next) next();
      else this.running--;
    }
  }
}
