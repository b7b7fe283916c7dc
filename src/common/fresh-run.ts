/**
 * Runs `work` one at a time so that each call is answered by a run that started after it: a call made while a run
 * is under way gets the next run (the calls made meanwhile share it). For reloads and flushes whose callers need
 * what they just changed or recorded to be in the run they wait for — a run already under way read before it.
 */
export class FreshRun<T> {
  private current?: Promise<T>;
  private next?: Promise<T>;

  constructor(private readonly work: () => Promise<T>) {}

  run(): Promise<T> {
    if (!this.current) return this.start();
    this.next ??= this.current.then(() => undefined, () => undefined).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<T> {
    const current: Promise<T> = this.work().finally(() => {
      if (this.current === current) this.current = undefined;
    });
    this.current = current;
    return current;
  }
}
