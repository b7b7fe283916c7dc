import { histogramBuckets, median, quantileBetween } from './support';

const scrape = (counts: number[]) => [
  '# TYPE w histogram',
  ...[0.001, 0.01, 0.1].map((le, i) => `w_bucket{le="${le}"} ${counts[i]}`),
  `w_bucket{le="+Inf"} ${counts[3]}`, `w_sum 1`, `w_count ${counts[3]}`,
  'other_bucket{le="0.001"} 99',
].join('\n');

describe('bench support', () => {
  it('reads one histogram\'s cumulative buckets from a scrape, and no other metric\'s', () => {
    expect(histogramBuckets(scrape([1, 2, 3, 4]), 'w')).toEqual([[0.001, 1], [0.01, 2], [0.1, 3], [Infinity, 4]]);
    expect(histogramBuckets(scrape([1, 2, 3, 4]), 'missing')).toEqual([]);
  });

  it('interpolates a quantile of what was observed between two scrapes', () => {
    const before = histogramBuckets(scrape([10, 10, 10, 10]), 'w');
    // 100 new observations: 50 under 1 ms, 40 between 1 and 10 ms, 10 between 10 and 100 ms.
    const after = histogramBuckets(scrape([60, 100, 110, 110]), 'w');
    expect(quantileBetween(before, after, 0.5)).toBeCloseTo(0.001);
    expect(quantileBetween(before, after, 0.7)).toBeCloseTo(0.001 + 0.009 * (20 / 40));
    expect(quantileBetween(before, after, 0.99)).toBeCloseTo(0.01 + 0.09 * (9 / 10));
    expect(quantileBetween(before, before, 0.99)).toBe(0);
  });

  it('answers the last finite bound when the quantile falls beyond it', () => {
    const before = histogramBuckets(scrape([0, 0, 0, 0]), 'w');
    expect(quantileBetween(before, histogramBuckets(scrape([0, 0, 1, 100]), 'w'), 0.99)).toBe(0.1);
  });

  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
