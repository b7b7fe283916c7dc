import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { SlaModule } from '../sla/sla.module';
import { AccessRequestsRepository } from './access-requests.repository';
import { AccessRequestsService } from './access-requests.service';
import { AdminController } from './admin.controller';
import { CredentialsRepository } from './credentials.repository';
import { CredentialsService } from './credentials.service';
import { DisengagementScheduler } from './disengagement.scheduler';
import { IncidentsService } from './incidents.service';
import { MeController } from './me.controller';
import { OperatorTotp } from './operator-totp';
import { OnboardingController } from './onboarding.controller';
import { OperatorsRepository } from './operators.repository';
import { OperatorsService } from './operators.service';
import { PartnerDirectory } from './partner-directory';
import { PartnersRepository } from './partners.repository';
import { PartnersService } from './partners.service';
import { TermsRepository } from './terms.repository';
import { TermsService } from './terms.service';

/** Partners and operators: access requests, lifecycle, credentials, terms, incidents. */
@Module({
  imports: [AuditModule, SlaModule, NotificationsModule],
  controllers: [OnboardingController, MeController, AdminController],
  providers: [
    OperatorTotp,
    AccessRequestsRepository, AccessRequestsService, PartnersRepository, PartnersService, CredentialsRepository,
    CredentialsService, TermsRepository, TermsService, OperatorsRepository, OperatorsService, PartnerDirectory,
    IncidentsService, DisengagementScheduler,
  ],
  exports: [PartnerDirectory, OperatorsService, CredentialsService, PartnersService, AccessRequestsService, TermsService, IncidentsService,
    OperatorTotp],
})
export class PartnersModule {}
