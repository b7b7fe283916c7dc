import type { Logger } from '@nestjs/common';

/** How often a failure that goes on is logged again, with its running count. */
const REMINDER_MS = 60_000;

/**
 * Logs a failing dependency once per outage instead of once per attempt: the first failure (with its error code),
 * a reminder a minute while it lasts, and the recovery with how many attempts failed and for how long. During a
 * database outage every batch and every reload fails: thousands of identical lines a second would drown the
 * one that matters and fill the disk.
 */
export class OutageLog {
  private since?: number;
  private lastReport = 0;
  private failures = 0;
  private units = 0;

  constructor(private readonly logger: Pick<Logger, 'error' | 'log'>, private readonly what: string,
    private readonly unit = 'attempts', private readonly now: () => number = Date.now) {}

  /** One failed attempt (which concerned `count` units: entries of a batch, say). */
  failed(error: unknown, count = 1): void {
    const now = this.now();
    this.failures++;
    this.units += count;
    const code = (error as { code?: string })?.code ?? (error as Error)?.name ?? 'error';
    if (this.since === undefined) {
      this.since = this.lastReport = now;
      this.logger.error(`${this.what} failing: ${code}; further failures are counted until it recovers`);
    } else if (now - this.lastReport >= REMINDER_MS) {
      this.lastReport = now;
      this.logger.error(`${this.what} still failing (${code}): ${this.summary(now)}`);
    }
  }

  /** A successful attempt: ends the outage, if there was one. */
  succeeded(): void {
    if (this.since === undefined) return;
    this.logger.log(`${this.what} recovered: ${this.summary(this.now())}`);
    this.since = undefined;
    this.failures = 0;
    this.units = 0;
  }

  get failing(): boolean {
    return this.since !== undefined;
  }

  private summary(now: number): string {
    const seconds = Math.round((now - this.since!) / 1000);
    const units = this.unit === 'attempts' ? '' : ` (${this.units} ${this.unit})`;
    return `${this.failures} failed attempts${units} in ${seconds} s`;
  }
}
