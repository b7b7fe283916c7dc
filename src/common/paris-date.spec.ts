import { parisDate } from './paris-date';

describe('parisDate', () => {
  it('turns at midnight in Paris, winter (UTC+1) and summer (UTC+2), whatever instant was asked before in the same minute', () => {
    expect(parisDate(new Date('2026-01-14T22:59:59.999Z'))).toBe('2026-01-14');
    expect(parisDate(new Date('2026-01-14T23:00:00.000Z'))).toBe('2026-01-15');
    expect(parisDate(new Date('2026-01-14T23:00:59.999Z'))).toBe('2026-01-15');
    expect(parisDate(new Date('2026-07-14T21:59:30.000Z'))).toBe('2026-07-14');
    expect(parisDate(new Date('2026-07-14T22:00:00.000Z'))).toBe('2026-07-15');
    // Back in time (a manual clock moved back): the same minute as asked before, another day.
    expect(parisDate(new Date('2026-07-14T21:59:59.000Z'))).toBe('2026-07-14');
  });

  it('follows the change to summer time (the last Sunday of March, 01:00 UTC) and back', () => {
    expect(parisDate(new Date('2026-03-28T22:59:00.000Z'))).toBe('2026-03-28');
    expect(parisDate(new Date('2026-03-28T23:00:00.000Z'))).toBe('2026-03-29');
    expect(parisDate(new Date('2026-03-29T21:59:59.000Z'))).toBe('2026-03-29');
    expect(parisDate(new Date('2026-03-29T22:00:00.000Z'))).toBe('2026-03-30');
    expect(parisDate(new Date('2026-10-24T21:59:59.000Z'))).toBe('2026-10-24');
    expect(parisDate(new Date('2026-10-24T22:00:00.000Z'))).toBe('2026-10-25');
    expect(parisDate(new Date('2026-10-25T22:59:59.000Z'))).toBe('2026-10-25');
    expect(parisDate(new Date('2026-10-25T23:00:00.000Z'))).toBe('2026-10-26');
  });
});
