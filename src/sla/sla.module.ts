import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { MaintenanceCalendar } from './maintenance';
import { MaintenanceController } from './maintenance.controller';
import { MetricsController } from './metrics.controller';
import { OpenData } from './open-data';
import { ProbeClient } from './probe-client';
import { SlaMetrics } from './sla-metrics';
import { SlaProbe } from './sla-probe';
import { SlaRecorder } from './sla-recorder';
import { SlaReports } from './sla-reports';
import { MySlaController, OpenDataController, SlaAdminController, StatusController } from './sla.controller';
import { SlaRepository } from './sla.repository';
import { StatusPageController } from './status.page';

/**
 * Availability (DESIGN §6): maintenance windows, the probe, the per-minute counters, the monthly reports (computed,
 * frozen, signed), the partners' usage, the public status and /metrics.
 */
@Module({
  imports: [AuditModule, NotificationsModule],
  controllers: [MaintenanceController, MetricsController, SlaAdminController, MySlaController, StatusController, OpenDataController,
    StatusPageController],
  providers: [MaintenanceCalendar, OpenData, ProbeClient, SlaMetrics, SlaProbe, SlaRecorder, SlaReports, SlaRepository],
  exports: [MaintenanceCalendar, OpenData, ProbeClient, SlaRecorder, SlaReports, SlaRepository],
})
export class SlaModule {}
