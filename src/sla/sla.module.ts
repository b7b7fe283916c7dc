import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { MaintenanceCalendar } from './maintenance';
import { MaintenanceController } from './maintenance.controller';
import { MetricsController } from './metrics.controller';

/** Availability: planned maintenance windows and /metrics (probes, per-minute availability and reports come next). */
@Module({ imports: [AuditModule], controllers: [MaintenanceController, MetricsController], providers: [MaintenanceCalendar], exports: [MaintenanceCalendar] })
export class SlaModule {}
