export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the current window ends and the counts start again. */
  resetMs: number;
}

/**
 * Fixed-window counters per key: one Map lookup per call, no timer per request, and the map is emptied
 * when a new window starts, so memory is bounded by the keys seen in one window.
 */
export class WindowRateLimiter {
  private window = -1;
  private counts = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  take(key: string, limit: number, nowMs = Date.now()): RateDecision {
    const window = Math.floor(nowMs / this.windowMs);
    if (window !== this.window) {
      this.window = window;
      this.counts.clear();
    }
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return {
      allowed: count <= limit,
      limit,
      remaining: Math.max(0, limit - count),
      resetMs: (window + 1) * this.windowMs - nowMs,
    };
  }
}
