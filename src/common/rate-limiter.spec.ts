import { WindowRateLimiter } from './rate-limiter';

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
