import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ActionLog, Actor } from '../audit/action-log';
import { CurrentOperator, OperatorAuth, OperatorPrincipal } from '../auth/access.decorators';
import { AccessRequestListQuery, ApproveDto, MessageDto, ReasonDto } from './access-request.dto';
import { AccessRequestsService } from './access-requests.service';
import { IncidentsService } from './incidents.service';
import { NotificationsRepository } from '../notifications/notifications.repository';
import { NotificationsQuery, WebhookDto } from './operator.dto';
import { WebhookRegistry } from '../notifications/webhooks';
import { presentPartner, PartnersService } from './partners.service';
import { PublishTermsDto } from './partner-self-service.dto';
import { presentTerms, TermsService } from './terms.service';
import { ApiProblems } from '../common/errors/api-problems';

const asActor = (principal: OperatorPrincipal): Actor & { type: 'operator' } =>
  ({ type: 'operator', operatorId: principal.operator.id });

/** DINSIC operators' API (DESIGN §4): habilitations, partners' lifecycle, terms, incidents. */
@ApiTags('operators')
@Controller('admin/api')
@OperatorAuth('operator', 'admin')
export class AdminController {
  constructor(
    private readonly requests: AccessRequestsService,
    private readonly partners: PartnersService,
    private readonly terms: TermsService,
    private readonly incidents: IncidentsService,
    private readonly notifications: NotificationsRepository,
    private readonly actions: ActionLog,
    private readonly webhooks: WebhookRegistry,
  ) {}

  @Get('access-requests')
  @ApiOperation({ summary: 'Access requests, newest first, optionally by status' })
  listRequests(@Query() query: AccessRequestListQuery) {
    return this.requests.list(query.status);
  }

  @Get('access-requests/:id')
  async getRequest(@Param('id') id: string) {
    const request = await this.requests.get(id);
    return { ...request, messages: await this.requests.messages(request.id) };
  }

  @Post('access-requests/:id/approve') @HttpCode(200) @ApiProblems('request_not_pending')
  @ApiOperation({ summary: 'Approve: creates the partner; the client secret is shown only in this answer' })
  approve(@Param('id') id: string, @Body() body: ApproveDto, @CurrentOperator() operator: OperatorPrincipal) {
    return this.requests.approve(id, body, asActor(operator));
  }

  @Post('access-requests/:id/reject') @HttpCode(200) @ApiProblems('request_not_pending')
  reject(@Param('id') id: string, @Body() body: ReasonDto, @CurrentOperator() operator: OperatorPrincipal) {
    return this.requests.reject(id, body, asActor(operator));
  }

  @Post('access-requests/:id/request-changes') @HttpCode(200) @ApiProblems('request_not_pending')
  @ApiOperation({ summary: 'Ask the applicant for changes instead of rejecting; the exchange is kept with the request' })
  requestChanges(@Param('id') id: string, @Body() body: MessageDto, @CurrentOperator() operator: OperatorPrincipal) {
    return this.requests.requestChanges(id, body.message, asActor(operator));
  }

  @Get('partners')
  async listPartners() {
    return (await this.partners.list()).map(presentPartner);
  }

  @Get('partners/:id')
  async getPartner(@Param('id') id: string) {
    const partner = await this.partners.get(id);
    return { ...presentPartner(partner), webhook: await this.webhooks.summary(partner.id),
      actions: await this.actions.list({ partnerId: partner.id, limit: 100 }) };
  }

  @Put('partners/:id/webhook') @HttpCode(200) @ApiProblems('partner_closed')
  @ApiOperation({ summary: 'Register (or replace) the partner\'s webhook: the signing secret is shown only in this answer' })
  registerWebhook(@Param('id') id: string, @Body() body: WebhookDto, @CurrentOperator() operator: OperatorPrincipal) {
    return this.webhooks.register(id, body.url, asActor(operator));
  }

  @Delete('partners/:id/webhook') @HttpCode(204)
  @ApiOperation({ summary: 'Remove the partner\'s webhook; events not yet delivered are dropped' })
  async removeWebhook(@Param('id') id: string, @CurrentOperator() operator: OperatorPrincipal): Promise<void> {
    await this.webhooks.remove(id, asActor(operator));
  }

  @Post('partners/:id/suspend') @HttpCode(200) @ApiProblems('invalid_transition')
  @ApiOperation({ summary: 'Suspend at once: tokens stop working within 5 seconds' })
  async suspend(@Param('id') id: string, @Body() body: ReasonDto, @CurrentOperator() operator: OperatorPrincipal) {
    return presentPartner(await this.partners.suspend(id, body.reason, asActor(operator)));
  }

  @Post('partners/:id/reactivate') @HttpCode(200) @ApiProblems('invalid_transition')
  async reactivate(@Param('id') id: string, @Body() body: ReasonDto, @CurrentOperator() operator: OperatorPrincipal) {
    return presentPartner(await this.partners.reactivate(id, body.reason, asActor(operator)));
  }

  @Post('partners/:id/revoke') @HttpCode(200) @ApiProblems('invalid_transition')
  @ApiOperation({ summary: 'Revoke for good: credentials and tokens stop working' })
  async revoke(@Param('id') id: string, @Body() body: ReasonDto, @CurrentOperator() operator: OperatorPrincipal) {
    return presentPartner(await this.partners.revoke(id, body.reason, asActor(operator)));
  }

  @Post('partners/:id/credentials') @HttpCode(200) @ApiProblems('partner_closed')
  @ApiOperation({ summary: 'Rotate the client secret; the previous one works for the grace period' })
  rotate(@Param('id') id: string, @CurrentOperator() operator: OperatorPrincipal) {
    return this.partners.rotateCredentials(id, asActor(operator));
  }

  @Get('terms')
  listTerms() {
    return this.terms.listWithAcceptances();
  }

  @Post('terms') @HttpCode(201) @ApiProblems('terms_version_exists')
  @ApiOperation({ summary: 'Publish a terms version, announced ahead of its effective date' })
  async publishTerms(@Body() body: PublishTermsDto, @CurrentOperator() operator: OperatorPrincipal) {
    return presentTerms(await this.terms.publish(body, asActor(operator)));
  }

  @Get('incidents')
  listIncidents() {
    return this.incidents.list();
  }

  @Get('notifications')
  @ApiOperation({ summary: 'The notifications outbox: one row per message per partner contact, newest first, with its delivery state' })
  listNotifications(@Query() query: NotificationsQuery) {
    return this.notifications.list({ partnerId: query.partner, status: query.status });
  }

  @Get('actions')
  @ApiOperation({ summary: 'Operator, partner and lifecycle actions, newest first' })
  listActions() {
    return this.actions.list({ limit: 500 });
  }
}
