import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CheckpointKeys } from '../audit/checkpoint-keys';
import { Clock } from '../common/clock';
import { canonicalJson } from '../common/canonical-json';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { Conflict, NotFound, ValidationFailed } from '../common/errors/domain-errors';
import { OutageLog } from '../common/logging/outage-log';
import { parisDate } from '../common/paris-date';
import {
  AvailabilityFigures, computeAvailability, isMonth, LATENCY_BUCKETS_MS, MinuteFigures, parisMonthBounds, parisMonthOf,
  previousMonth, quantileMs, TARGET,
} from './availability';
import { NotificationsOutbox } from '../notifications/outbox';
import { MinuteRow, SlaRepository, UsageDay } from './sla.repository';

const MINUTE = 60_000;
/** A month closes this long after it ended in Paris: the last flushes (every few seconds) are in. */
const CLOSE_AFTER_MS = 5 * MINUTE;
const CLOSE_CHECK_MS = MINUTE;
/** How long the public status is reused, here and (Cache-Control) by whoever asks. */
export const STATUS_CACHE_SECONDS = 10;
const STATUS_CACHE_MS = STATUS_CACHE_SECONDS * 1000;
export const OUTCOMES = ['ok', 'person_not_found', 'invalid', 'denied', 'rate_limited', 'unavailable', 'upstream_error', 'timeout'] as const;

export interface PartnerRow {
  partner_id: string;
  calls: number;
  failures: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface ServiceStatus {
  state: 'up' | 'degraded' | 'down' | 'maintenance';
  since: string;
  month_to_date: { month: string; availability: number | null; target: number };
  months: { month: string; availability: number | null; met: boolean | null }[];
  maintenance: { start: string; end: string; reason: string }[];
  incidents: AvailabilityFigures['incidents'];
}

export type Report = AvailabilityFigures & { partners: PartnerRow[]; frozen_at: string | null; key_id: string | null; signature: string | null };

export class ReportNotFound extends NotFound {
  override readonly code = 'report_not_found';
}

export function checkMonth(month: string, field = 'month'): void {
  if (!isMonth(month)) throw new ValidationFailed([{ field, reason: 'must be a month, YYYY-MM' }]);
}

/** Sums histogram bucket arrays. */
function addBuckets(into: number[], more: readonly number[]): number[] {
  more.forEach((count, i) => (into[i] = (into[i] ?? 0) + count));
  return into;
}

/** The same minutes, one row per minute (the instances' rows added up), as the computation reads them. */
export function toFigures(rows: MinuteRow[]): MinuteFigures[] {
  return rows.map(({ minute, instance: _instance, latency_buckets: _buckets, ...figures }) => ({ ...figures, minute: Date.parse(minute) }));
}

/** What the signature covers: the report without its signature, keys sorted. */
export function signedText(report: Record<string, unknown>): string {
  const { signature: _signature, public_key: _publicKey, ...signed } = report;
  return canonicalJson(signed);
}

/**
 * The months' availability reports (DESIGN §6): computed from the per-minute rows while a month runs (provisional),
 * frozen and signed once it is over (by a job on one instance, or `npm run cli -- sla:close`), after which they
 * never change; every active partner is notified (an outbox row per contact).
 */
@Injectable()
export class SlaReports implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private statusCache?: { at: number; value: ServiceStatus };
  private readonly outage = new OutageLog(new Logger(SlaReports.name), 'closing availability months');

  constructor(
    private readonly repository: SlaRepository,
    private readonly outbox: NotificationsOutbox,
    private readonly db: Database,
    private readonly keys: CheckpointKeys,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // Manual sealing (tests) also means manual closing: nothing moves on its own.
    if (this.config.audit.sealIntervalMs === 0) return;
    this.timer = setInterval(() => void this.closeDueMonths().then(() => this.outage.succeeded(), (error) => this.outage.failed(error)),
      CLOSE_CHECK_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The month's report: frozen if closed, else computed now (provisional). 404 before commissioning or ahead. */
  async report(month: string): Promise<Report> {
    checkMonth(month);
    const frozen = await this.repository.frozen(month);
    if (frozen) return frozen as unknown as Report;
    return this.compute(month, this.flushedUpTo());
  }

  /**
   * While a month runs, it is measured up to the minute whose counters are surely in the database: the instances
   * flush every SLA_FLUSH_SECONDS, so the minute that just ended may not be complete yet.
   */
  private flushedUpTo(): number {
    return this.clock.now().getTime() - (this.config.sla.flushSeconds + 2) * 1000;
  }

  /** The report as a partner receives it: the global figures and its own row only. */
  async partnerReport(month: string, partnerId: string): Promise<Report> {
    const report = await this.report(month);
    return { ...report, partners: report.partners.filter((row) => row.partner_id === partnerId) };
  }

  /** The raw rows a month's report is computed from, and what else the computation needs (sla:recompute). */
  async minutes(month: string): Promise<{ header: Record<string, unknown>; rows: MinuteRow[] }> {
    checkMonth(month);
    const measuredFrom = await this.measuredFrom(month);
    const { start, end } = parisMonthBounds(month);
    const [rows, maintenance, frozen] = await Promise.all([this.repository.minuteRows(new Date(start), new Date(end)),
      this.repository.maintenance(new Date(start), new Date(end)), this.repository.frozen(month)]);
    return {
      header: { type: 'header', format: 'api-droits-cnam-sla-minutes/1', month, measured_from: measuredFrom.toISOString(),
        as_of: (frozen?.frozen_at as string | undefined) ?? new Date(this.flushedUpTo()).toISOString(),
        maintenance: maintenance.map((w) => ({ start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() })),
        latency_buckets_ms: LATENCY_BUCKETS_MS, end_line: true },
      rows,
    };
  }

  /**
   * Freezes a month that is over: computes, signs and stores its report, and notifies every active partner, in one
   * transaction; safe from several instances (the first wins, the others find it frozen).
   */
  async close(month: string): Promise<{ report: Report; closedNow: boolean }> {
    checkMonth(month);
    const now = this.clock.now();
    if (now.getTime() < parisMonthBounds(month).end) throw new Conflict('month_not_over', `${month} is not over yet in Paris.`);
    const existing = await this.repository.frozen(month);
    if (existing) return { report: existing as unknown as Report, closedNow: false };
    const computed = await this.compute(month, now.getTime());
    const unsigned = { ...computed, frozen_at: now.toISOString(), key_id: this.keys.currentKeyId(), signature: null };
    const { signature } = this.keys.signText(signedText(unsigned));
    const report: Report = { ...unsigned, signature };
    const closedNow = await this.db.transaction(async (tx) => {
      if (!(await this.repository.freeze(month, report as unknown as Record<string, unknown>, now, report.key_id!, signature, tx))) return false;
      await this.outbox.toActivePartners('sla.report_published', { month, availability: report.availability, met: report.met,
        target: TARGET }, tx);
      return true;
    });
    return closedNow ? { report, closedNow } : { report: (await this.repository.frozen(month)) as unknown as Report, closedNow };
  }

  /** Closes the months that ended (a few minutes ago) since commissioning and are not frozen yet. */
  async closeDueMonths(): Promise<string[]> {
    const measuredFrom = await this.repository.measuredFrom();
    if (!measuredFrom) return [];
    const now = this.clock.now().getTime();
    const closed: string[] = [];
    const first = parisMonthOf(measuredFrom.getTime());
    for (let month = previousMonth(parisMonthOf(now)), n = 0; month >= first && n < 12; month = previousMonth(month), n++) {
      if (now < parisMonthBounds(month).end + CLOSE_AFTER_MS) continue;
      if (await this.repository.frozen(month)) break;
      if ((await this.close(month)).closedNow) closed.push(month);
    }
    return closed;
  }

  /**
   * The public state of the service (DESIGN §6 GET /v1/status): now, this month so far, the last 12 months, the
   * maintenance announced ahead, the recent incidents. Cached briefly: anyone may ask, often.
   */
  async status(upcoming: { start: Date; end: Date; reason: string }[]): Promise<ServiceStatus> {
    const now = this.clock.now().getTime();
    if (this.statusCache && now - this.statusCache.at < STATUS_CACHE_MS) return this.statusCache.value;
    const month = parisMonthOf(now);
    const current = await this.report(month).catch((error) => {
      if (error instanceof ReportNotFound) return undefined;
      throw error;
    });
    const frozen = await this.repository.frozenReports(12);
    const months = frozen.map(({ month: m, report }) => ({ month: m, availability: report.availability as number | null, met: report.met as boolean | null }));
    const incidents = [...(current?.incidents ?? []), ...frozen.flatMap(({ report }) => report.incidents as Report['incidents'])]
      .sort((a, b) => (a.start < b.start ? 1 : -1)).slice(0, 10);
    const active = upcoming.find((w) => w.start.getTime() <= now && now < w.end.getTime());
    let state: 'up' | 'degraded' | 'down' | 'maintenance' = 'up';
    let since = current?.measured_from ?? new Date(now).toISOString();
    const last = current?.incidents[current.incidents.length - 1];
    if (active) {
      state = 'maintenance';
      since = active.start.toISOString();
    } else if (last && Date.parse(last.end) >= this.flushedUpTo() - MINUTE) {
      state = last.cause === 'upstream_down' || last.cause === 'no_data' ? 'down' : last.cause === 'maintenance' ? 'maintenance' : 'degraded';
      since = last.start;
    } else if (last) since = last.end;
    const value: ServiceStatus = {
      state, since,
      month_to_date: { month, availability: current?.availability ?? null, target: TARGET },
      months,
      maintenance: upcoming.filter((w) => w.end.getTime() > now).map((w) => ({ start: w.start.toISOString(), end: w.end.toISOString(), reason: w.reason })),
      incidents,
    };
    this.statusCache = { at: now, value };
    return value;
  }

  /** The public key that checks reports (the audit checkpoints' key). */
  publicKey(keyId: string): string | undefined {
    return this.keys.publicKeys()[keyId];
  }

  private async measuredFrom(month: string): Promise<Date> {
    const measuredFrom = await this.repository.measuredFrom();
    const { start, end } = parisMonthBounds(month);
    if (!measuredFrom || end <= measuredFrom.getTime() || start > this.clock.now().getTime()) {
      throw new ReportNotFound(`No availability was measured in ${month}.`);
    }
    return measuredFrom;
  }

  private async compute(month: string, now: number): Promise<Report> {
    const measuredFrom = await this.measuredFrom(month);
    const { start, end } = parisMonthBounds(month);
    const [rows, maintenance, usage] = await Promise.all([
      this.repository.minuteRows(new Date(start), new Date(end)),
      this.repository.maintenance(new Date(start), new Date(end)),
      this.repository.usageDays(parisDate(new Date(start)), parisDate(new Date(end - 1))),
    ]);
    const figures = computeAvailability({ month, now, measuredFrom: measuredFrom.getTime(), rows: toFigures(rows), maintenance });
    return { ...figures, partners: partnerRows(usage), frozen_at: null, key_id: null, signature: null };
  }
}

/** Per partner over the days given: calls, server-side failures, latency quantiles. */
export function partnerRows(days: UsageDay[]): PartnerRow[] {
  const byPartner = new Map<string, { calls: number; failures: number; buckets: number[] }>();
  for (const day of days) {
    const row = byPartner.get(day.partner_id) ?? { calls: 0, failures: 0, buckets: [] };
    row.calls += day.calls;
    row.failures += day.failures;
    addBuckets(row.buckets, day.latency_buckets);
    byPartner.set(day.partner_id, row);
  }
  return [...byPartner].sort(([a], [b]) => (a < b ? -1 : 1)).map(([partnerId, row]) => ({ partner_id: partnerId, calls: row.calls,
    failures: row.failures, p50_ms: quantileMs(row.buckets, 0.5), p95_ms: quantileMs(row.buckets, 0.95) }));
}

/** One partner's use of a month (DESIGN §3.5 /v1/me/usage): zeros when it made no call. */
export function usageOf(month: string, days: UsageDay[], now: number) {
  const { start, end } = parisMonthBounds(month);
  const outcomes: Record<string, number> = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0]));
  const buckets: number[] = [];
  const byDay = new Map<string, { calls: number; failures: number }>();
  let calls = 0;
  for (const day of days) {
    calls += day.calls;
    for (const [outcome, count] of Object.entries(day.outcomes)) if (outcome in outcomes) outcomes[outcome] += count;
    addBuckets(buckets, day.latency_buckets);
    const seen = byDay.get(day.day) ?? { calls: 0, failures: 0 };
    byDay.set(day.day, { calls: seen.calls + day.calls, failures: seen.failures + day.failures });
  }
  // Every day of the month up to today (Paris), with zeros where there was no call.
  const list: { date: string; calls: number; failures: number }[] = [];
  const last = parisDate(new Date(Math.min(end, now) - 1));
  for (let at = start + 12 * 3600_000, date = parisDate(new Date(at)); date <= last && at < end; at += 86_400_000, date = parisDate(new Date(at))) {
    list.push({ date, ...(byDay.get(date) ?? { calls: 0, failures: 0 }) });
  }
  return { month, provisional: now < end, calls, outcomes, p50_ms: quantileMs(buckets, 0.5), p95_ms: quantileMs(buckets, 0.95),
    p99_ms: quantileMs(buckets, 0.99), days: list };
}
