import { FailedAttempts, WindowRateLimiter } from './rate-limiter';

describe('WindowRateLimiter', () => {
  it('allows up to the limit in a window, then refuses, per key', () => {
    const limiter = new WindowRateLimiter(1000);
    const at = 10_000;
    expect([1, 2, 3].map(() => limiter.take('a', 2, at).allowed)).toEqual([true, true, false]);
    expect(limiter.take('b', 2, at).allowed).toBe(true);
  });

  it('starts counting again in the next window and says when that is', () => {
    const limiter = new WindowRateLimiter(1000);
    limiter.take('a', 1, 10_250);
    const refused = limiter.take('a', 1, 10_400);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, resetMs: 600, limit: 1 });
    expect(limiter.take('a', 1, 11_000).allowed).toBe(true);
  });
});

describe('FailedAttempts', () => {
  it('blocks an address that failed too often on an account, never the account from another address', () => {
    const attempts = new FailedAttempts(3, 100);
    const at = 120_000;
    for (let i = 0; i < 3; i++) attempts.failed('client-a', '203.0.113.9', at);
    expect(attempts.retryAfterMs('client-a', '203.0.113.9', at + 1000)).toBe(59_000);
    expect(attempts.retryAfterMs('client-a', '198.51.100.4', at + 1000)).toBe(0);
    expect(attempts.retryAfterMs('client-b', '203.0.113.9', at + 1000)).toBe(0);
    expect(attempts.retryAfterMs('client-a', '203.0.113.9', at + 60_000)).toBe(0);
  });

  it('blocks an address that tries many accounts', () => {
    const attempts = new FailedAttempts(3, 5);
    for (let i = 0; i < 5; i++) attempts.failed(`operator-${i}@example.org`, '203.0.113.9', 0);
    expect(attempts.retryAfterMs('operator-99@example.org', '203.0.113.9', 10)).toBeGreaterThan(0);
    expect(attempts.retryAfterMs('operator-99@example.org', '198.51.100.4', 10)).toBe(0);
  });
});
