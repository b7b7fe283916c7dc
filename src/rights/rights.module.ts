import { Module } from '@nestjs/common';
import { SandboxUpstreamCheck } from './sandbox-upstream';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { SlaModule } from '../sla/sla.module';
import { LookupRoute } from './lookup.route';
import { PartnerRateLimit } from './partner-rate-limit';
import { RightsService } from './rights.service';
import { UpstreamClient } from './upstream.client';

/** The rights lookup: validation, upstream client and circuit breaker, scope filtering. Keeps no personal data. */
@Module({ imports: [SlaModule, AuthModule, AuditModule], providers: [RightsService, UpstreamClient, LookupRoute, SandboxUpstreamCheck, PartnerRateLimit], exports: [UpstreamClient] })
export class RightsModule {}
