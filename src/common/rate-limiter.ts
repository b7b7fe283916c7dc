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
    const count = this.count(key, nowMs) + 1;
    this.counts.set(key, count);
    return {
      allowed: count <= limit,
      limit,
      remaining: Math.max(0, limit - count),
      resetMs: (this.window + 1) * this.windowMs - nowMs,
    };
  }

  /** How many times `key` was taken in the current window, without taking it. */
  count(key: string, nowMs = Date.now()): number {
    const window = Math.floor(nowMs / this.windowMs);
    if (window !== this.window) {
      this.window = window;
      this.counts.clear();
    }
    return this.counts.get(key) ?? 0;
  }

  /** Milliseconds until the current window ends. */
  resetIn(nowMs = Date.now()): number {
    return (Math.floor(nowMs / this.windowMs) + 1) * this.windowMs - nowMs;
  }
}

/**
 * Wrong secrets (a client's, an operator's password), counted per account *and client address* and per address:
 * a third party who knows an account's name can only lock out its own address, never the owner elsewhere, and
 * one address cannot try many accounts either. Only failures count: the owner's successful logins never do.
 */
export class FailedAttempts {
  private readonly perPair = new WindowRateLimiter(60_000);
  private readonly perAddress = new WindowRateLimiter(60_000);

  constructor(private readonly perAccountLimit: number, private readonly perAddressLimit: number) {}

  /** Milliseconds to wait before this address may try this account again, or 0 when it may now. */
  retryAfterMs(account: string, address: string, nowMs = Date.now()): number {
    const blocked = this.perPair.count(pairKey(account, address), nowMs) >= this.perAccountLimit
      || this.perAddress.count(address, nowMs) >= this.perAddressLimit;
    return blocked ? this.perPair.resetIn(nowMs) : 0;
  }

  failed(account: string, address: string, nowMs = Date.now()): void {
    this.perPair.take(pairKey(account, address), Infinity, nowMs);
    this.perAddress.take(address, Infinity, nowMs);
  }
}

const pairKey = (account: string, address: string) => `${address}\u0000${account.slice(0, 256)}`;
