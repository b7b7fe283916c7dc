import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { MaintenanceCalendar } from './maintenance';
import { MaintenanceController } from './maintenance.controller';

/** Availability: planned maintenance windows (probes, per-minute availability and reports come next). */
@Module({ imports: [AuditModule], controllers: [MaintenanceController], providers: [MaintenanceCalendar], exports: [MaintenanceCalendar] })
export class SlaModule {}
