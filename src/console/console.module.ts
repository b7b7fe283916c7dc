import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PartnersModule } from '../partners/partners.module';
import { SlaModule } from '../sla/sla.module';
import { ConsoleAssetsController } from './assets';
import { ConsoleAdministrationController } from './pages/administration.controller';
import { ConsoleAuditController } from './pages/audit.controller';
import { ConsoleAvailabilityController } from './pages/availability.controller';
import { ConsolePartnersController } from './pages/partners.controller';
import { ConsoleRequestsController } from './pages/requests.controller';
import { ConsoleSecurityController } from './pages/security.controller';
import { ConsoleSessionController } from './pages/session.controller';

/**
 * The operators' and auditors' web console (DESIGN §4): server-rendered French pages in the DSFR that call the same
 * services as the operator API, never a second implementation of a rule.
 */
@Module({
  imports: [AuditModule, AuthModule, NotificationsModule, PartnersModule, SlaModule],
  controllers: [ConsoleAssetsController, ConsoleSessionController, ConsoleRequestsController, ConsolePartnersController,
    ConsoleAuditController, ConsoleAvailabilityController, ConsoleAdministrationController,
    ConsoleSecurityController],
})
export class ConsoleModule {}
