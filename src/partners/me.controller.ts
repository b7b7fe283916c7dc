import { Body, Controller, Delete, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPartner, PartnerAuth, PartnerPrincipal } from '../auth/access.decorators';
import { AcceptTermsDto, DisengagementDto, IncidentDto } from './partner-self-service.dto';
import { Clock } from '../common/clock';
import { MaintenanceCalendar } from '../sla/maintenance';
import { NotificationsRepository } from '../notifications/notifications.repository';
import { NotificationsPageQuery } from './partner-self-service.dto';
import { IncidentsService } from './incidents.service';
import { PartnersService } from './partners.service';
import { TermsService } from './terms.service';
import { ApiProblems } from '../common/errors/api-problems';

/** A partner's self-service (DESIGN §3.5): only ever its own data. */
@ApiTags('partner self-service')
@Controller('v1/me')
export class MeController {
  constructor(
    private readonly partners: PartnersService,
    private readonly terms: TermsService,
    private readonly incidents: IncidentsService,
    private readonly maintenance: MaintenanceCalendar,
    private readonly clock: Clock,
    private readonly notifications: NotificationsRepository,
  ) {}

  @Get('notifications') @PartnerAuth()
  @ApiOperation({ summary: "What was sent to this partner's contacts, newest first, with each message's delivery state" })
  listNotifications(@Query() query: NotificationsPageQuery, @CurrentPartner() principal: PartnerPrincipal) {
    return this.notifications.forPartner(principal.partner.id, query.cursor);
  }

  @Get() @PartnerAuth()
  @ApiOperation({ summary: 'This partner: status, granted scopes, quotas, terms' })
  async me(@CurrentPartner() principal: PartnerPrincipal) {
    const [partner, terms] = await Promise.all([
      this.partners.get(principal.partner.id), this.terms.statusFor(principal.partner.id)]);
    return {
      partner_id: partner.id,
      name: partner.name,
      siret: partner.siret,
      status: partner.status,
      client_id: partner.client_id,
      scopes: partner.scopes,
      token_scopes: principal.tokenScopes,
      recipients: partner.recipients,
      quotas: { rate_limit_per_second: partner.rate_limit_per_second },
      terms,
      disengagement: partner.disengagement_effective_at
        ? { requested_at: partner.disengagement_requested_at, effective_at: partner.disengagement_effective_at,
          reason: partner.disengagement_reason }
        : null,
      maintenance_windows: this.maintenance.upcoming(this.clock.now())
        .map((w) => ({ id: w.id, starts_at: w.starts_at, ends_at: w.ends_at, reason: w.reason })),
    };
  }

  @Post('terms/accept') @HttpCode(200) @PartnerAuth()
  @ApiOperation({ summary: 'Accept a terms version (current or announced)' })
  acceptTerms(@CurrentPartner() principal: PartnerPrincipal, @Body() body: AcceptTermsDto) {
    return this.terms.accept(principal.partner.id, body.version);
  }

  @Post('disengagement') @HttpCode(200) @PartnerAuth() @ApiProblems('disengagement_pending')
  @ApiOperation({ summary: 'Give notice: the partner leaves 15 days later unless it cancels' })
  async disengage(@CurrentPartner() principal: PartnerPrincipal, @Body() body: DisengagementDto) {
    const partner = await this.partners.requestDisengagement(principal.partner.id, body.reason);
    return { status: partner.status, requested_at: partner.disengagement_requested_at,
      effective_at: partner.disengagement_effective_at, reason: partner.disengagement_reason };
  }

  @Delete('disengagement') @HttpCode(200) @PartnerAuth() @ApiProblems('not_found')
  @ApiOperation({ summary: 'Cancel a pending disengagement' })
  async cancelDisengagement(@CurrentPartner() principal: PartnerPrincipal) {
    const partner = await this.partners.cancelDisengagement(principal.partner.id);
    return { status: partner.status, disengagement: null };
  }

  @Post('incidents') @HttpCode(201) @PartnerAuth()
  @ApiOperation({ summary: 'Report a difficulty to DINSIC' })
  reportIncident(@CurrentPartner() principal: PartnerPrincipal, @Body() body: IncidentDto) {
    return this.incidents.report(principal.partner.id, body.summary, body.detail);
  }
}
