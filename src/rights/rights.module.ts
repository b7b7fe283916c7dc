import { Module } from '@nestjs/common';
import { SlaModule } from '../sla/sla.module';
import { RightsController } from './rights.controller';
import { RightsService } from './rights.service';
import { UpstreamClient } from './upstream.client';

/** The rights lookup: validation, upstream client and circuit breaker, scope filtering. Keeps no personal data. */
@Module({ imports: [SlaModule], controllers: [RightsController], providers: [RightsService, UpstreamClient], exports: [UpstreamClient] })
export class RightsModule {}
