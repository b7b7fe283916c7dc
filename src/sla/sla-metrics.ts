import { Injectable, OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock';
import { Metrics } from '../common/metrics';
import { parisMonthOf } from './availability';
import { Report, SlaReports } from './sla-reports';
import { SlaRecorder } from './sla-recorder';

/** A month's figures take a month of minute rows to compute: scrapes within this reuse the last computation. */
const REPORT_REUSE_MS = 30_000;

/**
 * Availability on /metrics (DESIGN §6): the month so far and its error budget, as the report computes them (the
 * same figures partners get), and how long ago this instance's counters last reached the database (a gateway that
 * cannot flush is measuring nothing). Read at scrape time; no series per partner.
 */
@Injectable()
export class SlaMetrics implements OnModuleInit {
  private current?: { at: number; month: string; report: Promise<Report> };

  constructor(private readonly metrics: Metrics, private readonly reports: SlaReports, private readonly recorder: SlaRecorder,
    private readonly clock: Clock) {}

  onModuleInit(): void {
    this.metrics.gauge('gateway_sla_availability_ratio', 'Availability of the current month so far (Europe/Paris), maintenance excluded; target 0.95.',
      async () => (await this.monthToDate()).availability ?? undefined);
    this.metrics.gauge('gateway_sla_error_budget_remaining_minutes',
      'Minutes of unavailability the current month can still take and meet the 95% target (negative: missed).',
      async () => (await this.monthToDate()).error_budget_remaining_minutes ?? undefined);
    this.metrics.gauge('gateway_sla_flush_age_seconds', "Seconds since this instance's availability counters last reached the database.",
      () => this.recorder.secondsSinceFlush());
  }

  private monthToDate(): Promise<Report> {
    const now = this.clock.now().getTime();
    const month = parisMonthOf(now);
    if (!this.current || this.current.month !== month || now - this.current.at > REPORT_REUSE_MS) {
      const report = this.reports.report(month);
      report.catch(() => (this.current = undefined)); // an outage is not remembered for 30 s
      this.current = { at: now, month, report };
    }
    return this.current.report;
  }
}
