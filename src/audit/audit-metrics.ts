import { Injectable, OnModuleInit } from '@nestjs/common';
import { Metrics } from '../common/metrics';
import { AuditQueue } from './audit-queue';
import { AuditRepository } from './audit.repository';

/** Readings of one scrape share one query. */
const BACKLOG_REUSE_MS = 1000;

/**
 * The audit backlog as gauges, read at scrape time: entries not sealed yet, and how old the oldest one is; and
 * whether the trail keeps entries past its retention period.
 */
@Injectable()
export class AuditMetrics implements OnModuleInit {
  private backlog?: { at: number; reading: ReturnType<AuditQueue['backlog']> };

  constructor(private readonly queue: AuditQueue, private readonly repository: AuditRepository, private readonly metrics: Metrics) {}

  onModuleInit(): void {
    this.metrics.gauge('gateway_audit_pending_entries', 'Audit entries written but not sealed into the chain yet.',
      async () => (await this.read()).pending);
    this.metrics.gauge('gateway_audit_seal_lag_seconds', 'Age of the oldest audit entry not sealed yet (0 when none).',
      async () => (await this.read()).lagSeconds);
    this.metrics.gauge('gateway_audit_retention_overdue_seconds',
      'How long the oldest audit entry kept has been past the retention period (0: none). Minutes are normal (the hourly purge removes whole sealed segments); days mean purges fail or keep being put off.',
      () => this.repository.retentionOverdueSeconds());
  }

  private read(): ReturnType<AuditQueue['backlog']> {
    const now = performance.now();
    if (!this.backlog || now - this.backlog.at > BACKLOG_REUSE_MS) this.backlog = { at: now, reading: this.queue.backlog() };
    return this.backlog.reading;
  }
}
