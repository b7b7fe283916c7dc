import { Module } from '@nestjs/common';
import { ActionLog } from './action-log';

/** The audit trail. Owns every record of who did what; never updates or deletes one. */
@Module({ providers: [ActionLog], exports: [ActionLog] })
export class AuditModule {}
