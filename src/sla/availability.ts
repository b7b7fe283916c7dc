/**
 * The availability computation of DESIGN §6, as a pure function of the per-minute rows: the gateway's reports, the
 * month simulation test and `npm run cli -- sla:recompute` all run this one.
 *   - calendar month in Europe/Paris (743 or 745 hours when the clocks change);
 *   - a minute is unavailable when its probe failed (no instance's probe succeeded) or when at least 10% of at least
 *     10 partner requests failed server-side; a minute with no row at all (the gateway was down) is unavailable;
 *   - availability = available / (measured − announced maintenance); measured = from commissioning (measured_from)
 *     to the month's end, or to now for the current month.
 */
export const TARGET = 0.95;
const MINUTE = 60_000;
const FAILING_SHARE = 0.1;
const FAILING_MIN_REQUESTS = 10;

/** Upper bounds (ms) of the latency histograms kept per minute and per partner-day; the last bucket is the rest. */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;

/** One minute's figures, summed over the instances that recorded it. */
export interface MinuteFigures {
  minute: number; // epoch ms of the minute's start (UTC)
  requests: number;
  failures: number;
  failures_upstream: number;
  probes_ok: number;
  probes_failed: number;
  probes_failed_upstream: number;
}

/** The counted fields of a minute, in one list: summing rows, merging counters and exporting use it. */
export const MINUTE_COUNTS = ['requests', 'failures', 'failures_upstream', 'probes_ok', 'probes_failed', 'probes_failed_upstream'] as const;

export interface MaintenanceSpan {
  start: number;
  end: number;
}

export type IncidentCause = 'upstream_down' | 'upstream_errors' | 'gateway_errors' | 'no_data' | 'maintenance';

export interface Incident {
  start: string;
  end: string;
  minutes: number;
  cause: IncidentCause;
}

export interface AvailabilityFigures {
  month: string;
  provisional: boolean;
  measured_from: string;
  target: number;
  availability: number | null;
  met: boolean | null;
  availability_including_maintenance: number | null;
  minutes_total: number;
  minutes_measured: number;
  minutes_unavailable: number;
  minutes_maintenance: number;
  request_success_ratio: number | null;
  error_budget_remaining_minutes: number;
  incidents: Incident[];
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const PARIS_OFFSET = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Paris', timeZoneName: 'longOffset' });

/** Europe/Paris's offset from UTC at an instant, in minutes (60 in winter, 120 in summer). */
export function parisOffsetMinutes(at: number): number {
  const name = PARIS_OFFSET.formatToParts(new Date(at)).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
}

/** The instant of a Paris wall-clock time (no DST change ever falls on a month's first midnight). */
function parisInstant(year: number, monthIndex: number, day: number): number {
  const asUtc = Date.UTC(year, monthIndex, day);
  return asUtc - parisOffsetMinutes(asUtc - 120 * MINUTE) * MINUTE;
}

export function isMonth(value: string): boolean {
  return MONTH.test(value);
}

/** The month (YYYY-MM) an instant falls in, in Paris. */
export function parisMonthOf(at: number): string {
  const local = new Date(at + parisOffsetMinutes(at) * MINUTE);
  return `${local.getUTCFullYear()}-${String(local.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** A month's first and last-plus-one instants, as Paris reckons it. */
export function parisMonthBounds(month: string): { start: number; end: number } {
  const match = MONTH.exec(month);
  if (!match) throw new Error(`not a month: ${month}`);
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return { start: parisInstant(year, index, 1), end: parisInstant(year + (index === 11 ? 1 : 0), (index + 1) % 12, 1) };
}

/** The month before a month. */
export function previousMonth(month: string): string {
  const [year, number] = month.split('-').map(Number);
  return number === 1 ? `${year - 1}-12` : `${year}-${String(number - 1).padStart(2, '0')}`;
}

/** Why a minute with figures is unavailable, or undefined when it is available. */
export function unavailability(figures: MinuteFigures): IncidentCause | undefined {
  if (figures.probes_failed > 0 && figures.probes_ok === 0) {
    return figures.probes_failed_upstream * 2 >= figures.probes_failed ? 'upstream_down' : 'gateway_errors';
  }
  if (figures.requests >= FAILING_MIN_REQUESTS && figures.failures >= FAILING_SHARE * figures.requests) {
    return figures.failures_upstream * 2 >= figures.failures ? 'upstream_errors' : 'gateway_errors';
  }
  return undefined;
}

const ratio = (value: number) => Math.round(value * 1e6) / 1e6;

/**
 * The month's availability from its minute rows (any order, several per minute: they are summed), the announced
 * maintenance windows and the commissioning instant, as of `now` (a month not over yet is provisional).
 */
export function computeAvailability(input: { month: string; now: number; measuredFrom: number; rows: Iterable<MinuteFigures>;
  maintenance: MaintenanceSpan[] }): AvailabilityFigures {
  const { start, end } = parisMonthBounds(input.month);
  const from = Math.max(start, Math.floor(input.measuredFrom / MINUTE) * MINUTE);
  const until = Math.min(end, Math.floor(input.now / MINUTE) * MINUTE);
  const byMinute = new Map<number, MinuteFigures>();
  let requests = 0;
  let failures = 0;
  for (const row of input.rows) {
    if (row.minute < from || row.minute >= until) continue;
    requests += row.requests;
    failures += row.failures;
    const seen = byMinute.get(row.minute);
    if (!seen) byMinute.set(row.minute, { ...row });
    else {
      for (const key of MINUTE_COUNTS) seen[key] += row[key];
    }
  }
  const windows = input.maintenance.filter((w) => w.end > from && w.start < until).sort((a, b) => a.start - b.start);
  const inMaintenance = (minute: number) => windows.some((w) => w.start <= minute && minute < w.end);

  const incidents: Incident[] = [];
  let current: { start: number; end: number; cause: IncidentCause } | undefined;
  const close = () => {
    if (!current) return;
    incidents.push({ start: new Date(current.start).toISOString(), end: new Date(current.end).toISOString(),
      minutes: (current.end - current.start) / MINUTE, cause: current.cause });
    current = undefined;
  };
  let measured = 0;
  let maintenance = 0;
  let unavailable = 0;
  for (let minute = from; minute < until; minute += MINUTE) {
    measured++;
    let cause: IncidentCause | undefined;
    if (inMaintenance(minute)) {
      maintenance++;
      cause = 'maintenance';
    } else {
      const figures = byMinute.get(minute);
      cause = figures ? unavailability(figures) : 'no_data';
      if (cause) unavailable++;
    }
    if (cause && current && current.cause === cause && current.end === minute) current.end = minute + MINUTE;
    else {
      close();
      if (cause) current = { start: minute, end: minute + MINUTE, cause };
    }
  }
  close();

  const inScope = measured - maintenance;
  const available = inScope - unavailable;
  // The budget is the month's: 5% of the minutes the month will have measured (outside maintenance), less those lost.
  const monthScope = Math.max(0, (end - from) / MINUTE) - maintenance;
  const provisional = input.now < end;
  return {
    month: input.month,
    provisional,
    measured_from: new Date(input.measuredFrom).toISOString(),
    target: TARGET,
    availability: inScope > 0 ? ratio(available / inScope) : null,
    met: inScope > 0 ? available / inScope >= TARGET : null,
    availability_including_maintenance: measured > 0 ? ratio(available / measured) : null,
    minutes_total: (end - start) / MINUTE,
    minutes_measured: measured,
    minutes_unavailable: unavailable,
    minutes_maintenance: maintenance,
    request_success_ratio: requests > 0 ? ratio(1 - failures / requests) : null,
    error_budget_remaining_minutes: Math.floor((1 - TARGET) * monthScope + 1e-9) - unavailable,
    incidents,
  };
}

/** A quantile (ms) from histogram counts over LATENCY_BUCKETS_MS: the upper bound of the bucket it falls in. */
export function quantileMs(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i];
    if (seen >= rank) return LATENCY_BUCKETS_MS[i] ?? LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] * 2;
  }
  return null;
}

/** The bucket a latency falls in (the last one, past the largest bound). */
export function latencyBucket(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= LATENCY_BUCKETS_MS[i]) return i;
  return LATENCY_BUCKETS_MS.length;
}
