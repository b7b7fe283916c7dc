import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { CommonModule, CommonOptions } from './common/common.module';
import { ConsoleModule } from './console/console.module';
import { HealthModule } from './health/health.module';
import { PartnersModule } from './partners/partners.module';
import { RightsModule } from './rights/rights.module';
import { SlaModule } from './sla/sla.module';

/** The domain modules, each with its controllers: the application is these on top of CommonModule. */
export const DOMAIN_MODULES = [AuditModule, PartnersModule, AuthModule, RightsModule, SlaModule, HealthModule, ConsoleModule];

@Module({})
export class AppModule {
  static forRoot(options: CommonOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [CommonModule.forRoot(options), ...DOMAIN_MODULES],
    };
  }
}
