/** Thrown by Turns.run when the line is full. */
export class NoTurnLeft extends Error {}

/**
 * At most `limit` pieces of work at once, the others waiting in arrival order; with `maxWaiting`, one more than that
 * is refused at once (NoTurnLeft) rather than queued. A failed piece of work gives its turn back like any other.
 */
export class Turns {
  private running = 0;
  private readonly line: (() => void)[] = [];

  constructor(private readonly limit: number, private readonly maxWaiting = Infinity) {}

  /** How many wait for a turn. */
  waiting(): number {
    return this.line.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.line.length >= this.maxWaiting) throw new NoTurnLeft();
      await new Promise<void>((resolve) => this.line.push(resolve));
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
