import { Injectable, OnModuleInit } from '@nestjs/common';
import { Metrics } from '../common/metrics';
import { AuditQueue } from './audit-queue';

/** The audit backlog as gauges, read at scrape time: entries not sealed yet, and how old the oldest one is. */
@Injectable()
export class AuditMetrics implements OnModuleInit {
  constructor(private readonly queue: AuditQueue, private readonly metrics: Metrics) {}

  onModuleInit(): void {
    this.metrics.register(async () => {
      const { pending, lagSeconds } = await this.queue.backlog();
      return [
        '# HELP gateway_audit_pending_entries Audit entries written but not sealed into the chain yet.',
        '# TYPE gateway_audit_pending_entries gauge',
        `gateway_audit_pending_entries ${pending}`,
        '# HELP gateway_audit_seal_lag_seconds Age of the oldest audit entry not sealed yet (0 when none).',
        '# TYPE gateway_audit_seal_lag_seconds gauge',
        `gateway_audit_seal_lag_seconds ${lagSeconds}`,
      ];
    });
  }
}
