import { computeAvailability, MinuteFigures, parisMonthBounds, parisMonthOf, previousMonth, quantileMs, unavailability } from './availability';

const MINUTE = 60_000;
const ok = (minute: number, extra: Partial<MinuteFigures> = {}): MinuteFigures => ({ minute, requests: 0, failures: 0, failures_upstream: 0,
  probes_ok: 2, probes_failed: 0, probes_failed_upstream: 0, ...extra });

/** Every minute of [from, to) available, but those `override` returns figures for (or null: no row). */
function rows(from: number, to: number, override: (minute: number) => MinuteFigures | null | undefined = () => undefined): MinuteFigures[] {
  const out: MinuteFigures[] = [];
  for (let minute = from; minute < to; minute += MINUTE) {
    const special = override(minute);
    if (special === null) continue;
    out.push(special ?? ok(minute));
  }
  return out;
}

describe('calendar months in Europe/Paris', () => {
  it('has 743 hours in the month the clocks go forward and 745 in the one they go back', () => {
    const march = parisMonthBounds('2026-03');
    const october = parisMonthBounds('2026-10');
    expect((march.end - march.start) / 3600_000).toBe(743);
    expect((october.end - october.start) / 3600_000).toBe(745);
    expect(new Date(march.start).toISOString()).toBe('2026-02-28T23:00:00.000Z');
    expect(new Date(october.end).toISOString()).toBe('2026-10-31T23:00:00.000Z');
    const november = parisMonthBounds('2026-11');
    expect((november.end - november.start) / 3600_000).toBe(720);
    expect(new Date(parisMonthBounds('2026-12').end).toISOString()).toBe('2026-12-31T23:00:00.000Z');
  });

  it('places an instant in its Paris month, and steps back a month', () => {
    expect(parisMonthOf(Date.parse('2026-11-30T23:30:00Z'))).toBe('2026-12');
    expect(parisMonthOf(Date.parse('2026-11-30T22:59:00Z'))).toBe('2026-11');
    expect(previousMonth('2027-01')).toBe('2026-12');
    expect(previousMonth('2026-10')).toBe('2026-09');
  });
});

describe('a minute', () => {
  it('is unavailable when no probe succeeded, whatever the instance, and names the cause', () => {
    expect(unavailability(ok(0, { probes_ok: 1, probes_failed: 1 }))).toBeUndefined();
    expect(unavailability(ok(0, { probes_ok: 0, probes_failed: 2, probes_failed_upstream: 2 }))).toBe('upstream_down');
    expect(unavailability(ok(0, { probes_ok: 0, probes_failed: 2 }))).toBe('gateway_errors');
    expect(unavailability(ok(0, { probes_ok: 0, probes_failed: 0 }))).toBeUndefined();
  });

  it('is unavailable when at least 10% of at least 10 partner requests failed server-side', () => {
    expect(unavailability(ok(0, { requests: 10, failures: 1, failures_upstream: 1 }))).toBe('upstream_errors');
    expect(unavailability(ok(0, { requests: 100, failures: 9 }))).toBeUndefined();
    expect(unavailability(ok(0, { requests: 100, failures: 10 }))).toBe('gateway_errors');
    expect(unavailability(ok(0, { requests: 9, failures: 9 }))).toBeUndefined();
  });
});

describe('a month\'s availability', () => {
  const november = parisMonthBounds('2026-11');
  const after = november.end + 3600_000;

  it('counts every measured minute, and a month entirely available meets the target with its whole budget', () => {
    const report = computeAvailability({ month: '2026-11', now: after, measuredFrom: 0, rows: rows(november.start, november.end), maintenance: [] });
    expect(report).toMatchObject({ provisional: false, availability: 1, met: true, minutes_total: 43_200, minutes_measured: 43_200,
      minutes_unavailable: 0, minutes_maintenance: 0, error_budget_remaining_minutes: 2160, incidents: [] });
  });

  it('counts minutes with no row as unavailable (no_data), and groups contiguous minutes of one cause into an incident', () => {
    const outage = november.start + 1000 * MINUTE;
    const report = computeAvailability({ month: '2026-11', now: after, measuredFrom: 0, maintenance: [],
      rows: rows(november.start, november.end, (m) => (m >= outage && m < outage + 30 * MINUTE ? null
        : m >= outage + 30 * MINUTE && m < outage + 40 * MINUTE ? ok(m, { probes_ok: 0, probes_failed: 2, probes_failed_upstream: 2 }) : undefined)) });
    expect(report.minutes_unavailable).toBe(40);
    expect(report.incidents).toEqual([
      { start: new Date(outage).toISOString(), end: new Date(outage + 30 * MINUTE).toISOString(), minutes: 30, cause: 'no_data' },
      { start: new Date(outage + 30 * MINUTE).toISOString(), end: new Date(outage + 40 * MINUTE).toISOString(), minutes: 10, cause: 'upstream_down' },
    ]);
    expect(report.availability).toBe(Math.round(((43_200 - 40) / 43_200) * 1e6) / 1e6);
    expect(report.error_budget_remaining_minutes).toBe(2120);
  });

  it('leaves announced maintenance out of the figure, and gives the figure with it counted too', () => {
    const start = november.start + 60 * MINUTE;
    const report = computeAvailability({ month: '2026-11', now: after, measuredFrom: 0, maintenance: [{ start, end: start + 120 * MINUTE }],
      rows: rows(november.start, november.end, (m) => (m >= start && m < start + 120 * MINUTE ? ok(m, { probes_ok: 0, probes_failed: 2 }) : undefined)) });
    expect(report).toMatchObject({ availability: 1, minutes_maintenance: 120, minutes_unavailable: 0,
      availability_including_maintenance: Math.round(((43_200 - 120) / 43_200) * 1e6) / 1e6, error_budget_remaining_minutes: 2154 });
    expect(report.incidents).toEqual([{ start: new Date(start).toISOString(), end: new Date(start + 120 * MINUTE).toISOString(),
      minutes: 120, cause: 'maintenance' }]);
  });

  it('misses the target below 95%, and measures from commissioning, up to now while the month runs', () => {
    const commissioned = november.start + 10 * 1440 * MINUTE + 30_000;
    const now = november.start + 20 * 1440 * MINUTE;
    const from = commissioned - 30_000;
    const failing = (m: number) => ((m - from) / MINUTE) % 10 === 0 ? ok(m, { requests: 20, failures: 2 }) : undefined;
    const report = computeAvailability({ month: '2026-11', now, measuredFrom: commissioned, maintenance: [], rows: rows(from, now, failing) });
    expect(report).toMatchObject({ provisional: true, measured_from: new Date(commissioned).toISOString(), minutes_measured: 14_400,
      minutes_unavailable: 1440, availability: 0.9, met: false, request_success_ratio: Math.round((1 - 2880 / 28_800) * 1e6) / 1e6 });
    // The month measures 20 days from commissioning: its budget is 5% of them.
    expect(report.error_budget_remaining_minutes).toBe(1440 - 1440);
  });

  it('adds the rows of several instances for one minute', () => {
    const minute = november.start;
    const report = computeAvailability({ month: '2026-11', now: minute + MINUTE, measuredFrom: 0, maintenance: [],
      rows: [ok(minute, { requests: 6, failures: 1, probes_ok: 0, probes_failed: 1 }), ok(minute, { requests: 6, failures: 1, probes_ok: 1 })] });
    expect(report.minutes_unavailable).toBe(1);
    expect(report.incidents[0].cause).toBe('gateway_errors');
  });
});

describe('latency quantiles from histogram buckets', () => {
  it('answers the upper bound of the bucket the quantile falls in', () => {
    expect(quantileMs([0, 50, 45, 5, 0, 0, 0, 0, 0, 0, 0, 0], 0.5)).toBe(10);
    expect(quantileMs([0, 50, 45, 5, 0, 0, 0, 0, 0, 0, 0, 0], 0.95)).toBe(25);
    expect(quantileMs(new Array(12).fill(0), 0.5)).toBeNull();
  });
});
