import { Injectable, OnModuleInit } from '@nestjs/common';
import { Database } from '../common/database/database';
import { Metrics } from '../common/metrics';

/** The audit backlog as gauges, read at scrape time: entries not sealed yet, and how old the oldest one is. */
@Injectable()
export class AuditMetrics implements OnModuleInit {
  constructor(private readonly db: Database, private readonly metrics: Metrics) {}

  onModuleInit(): void {
    this.metrics.register(async () => {
      const row = await this.db.one<{ pending: number; lag: number | null }>(
        `SELECT count(*)::float8 AS pending, EXTRACT(EPOCH FROM clock_timestamp() - min(e.occurred_at))::float8 AS lag
         FROM audit_pending p CROSS JOIN LATERAL (SELECT occurred_at FROM audit_entries x WHERE x.id = p.entry_id OFFSET 0) e`);
      return [
        '# HELP gateway_audit_pending_entries Audit entries written but not sealed into the chain yet.',
        '# TYPE gateway_audit_pending_entries gauge',
        `gateway_audit_pending_entries ${row?.pending ?? 0}`,
        '# HELP gateway_audit_seal_lag_seconds Age of the oldest audit entry not sealed yet (0 when none).',
        '# TYPE gateway_audit_seal_lag_seconds gauge',
        `gateway_audit_seal_lag_seconds ${Math.max(0, row?.lag ?? 0)}`,
      ];
    });
  }
}
