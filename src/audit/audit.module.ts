import { Module } from '@nestjs/common';
import { ActionLog } from './action-log';
import { AuditMetrics } from './audit-metrics';
import { AuditorDesk } from './auditor-desk';
import { AuditQueue } from './audit-queue';
import { AuditSealer } from './audit-sealer';
import { AuditWriter } from './audit-writer';
import { AuditController, CheckpointsController, MyAccessesController } from './audit.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { CheckpointKeys } from './checkpoint-keys';
import { ScheduledVerification } from './scheduled-verification';
import { SubjectRefs } from './subject-refs';

/** The audit trail. Owns every record of who did what; never updates or deletes an entry (retention aside). */
@Module({
  controllers: [AuditController, CheckpointsController, MyAccessesController],
  providers: [ActionLog, AuditMetrics, AuditorDesk, AuditQueue, AuditWriter, AuditSealer, AuditRepository, AuditService, CheckpointKeys,
    ScheduledVerification, SubjectRefs],
  exports: [ActionLog, AuditorDesk, AuditWriter, AuditSealer, AuditService, CheckpointKeys, ScheduledVerification, SubjectRefs],
})
export class AuditModule {}
