import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentOperator, OperatorAuth, OperatorPrincipal } from '../../auth/access.decorators';
import { APP_CONFIG, AppConfig } from '../../common/config/config';
import { ValidationFailed } from '../../common/errors/domain-errors';
import { ApproveDto, MessageDto, ReasonDto } from '../../partners/access-request.dto';
import { AccessRequest, AccessRequestStatus } from '../../partners/access-requests.repository';
import { AccessRequestsService } from '../../partners/access-requests.service';
import { PAGE_SIZE, pageLinks, pageOf } from '../components';
import { ConsoleCsrfGuard } from '../console-csrf.guard';
import { ConsoleErrorFilter } from '../console-errors.filter';
import { PageContext, pageContext, redirectWithFlash, sendPage } from '../console-page';
import { fieldErrors, FormBody, list, text, validateForm } from '../forms';
import { approvedView, requestDetailView, requestListView } from './requests.view';

const SECTION = '/console/demandes';
const STATUSES = ['pending', 'changes_requested', 'approved', 'rejected'];

/** Access requests (DESIGN §4): the queue, a request, approve (the secret shown once) or reject — AccessRequestsService, as the API. */
@ApiExcludeController()
@Controller('console/demandes')
@UseFilters(ConsoleErrorFilter)
@UseGuards(ConsoleCsrfGuard)
@OperatorAuth('operator', 'admin')
export class ConsoleRequestsController {
  constructor(private readonly requests: AccessRequestsService, @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  async list(@Query('statut') status: string | undefined, @Query('page') pageNumber: string | undefined, @Req() request: FastifyRequest,
    @Res() reply: FastifyReply) {
    const chosen = status === 'toutes' ? undefined : STATUSES.includes(status ?? '') ? status as AccessRequestStatus : 'pending';
    const { page, offset } = pageOf(pageNumber);
    const requests = await this.requests.list(chosen, { limit: PAGE_SIZE + 1, offset });
    return sendPage(reply, pageContext(request, reply, this.config.sandbox), {
      title: "Demandes d'accès", section: SECTION, breadcrumb: [['Console', '/console'], ["Demandes d'accès", SECTION]],
      content: requestListView(requests.slice(0, PAGE_SIZE), status === 'toutes' ? 'toutes' : chosen ?? 'pending',
        pageLinks(SECTION, page, requests.length, { statut: status === 'toutes' ? 'toutes' : chosen ?? 'pending' })),
    });
  }

  @Get(':id')
  async detail(@Param('id') id: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    return this.renderDetail(pageContext(request, reply, this.config.sandbox), reply, await this.requests.get(id));
  }

  @Post(':id/approuver')
  async approve(@Param('id') id: string, @Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal,
    @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const rate = text(body, 'rateLimitPerSecond');
    const values: Record<string, unknown> = { scopes: list(body, 'scopes'), note: text(body, 'note'),
      rateLimitPerSecond: rate === undefined ? undefined : /^\d+$/.test(rate) ? Number(rate) : rate,
      organisationType: text(body, 'organisationType') };
    for (const key of Object.keys(values)) if (values[key] === undefined) delete values[key];
    const context = pageContext(request, reply, this.config.sandbox);
    const accessRequest = await this.requests.get(id);
    const form = validateForm(ApproveDto, values);
    if (!form.ok) return this.renderDetail(context, reply, accessRequest, { approve: form.errors }, values, 400);
    try {
      const approved = await this.requests.approve(id, form.value, { type: 'operator', operatorId: principal.operator.id });
      return sendPage(reply, context, {
        title: 'Demande approuvée', section: SECTION,
        breadcrumb: [['Console', '/console'], ["Demandes d'accès", SECTION], [accessRequest.organisation.name, `${SECTION}/${id}`], ['Approuvée', '']],
        content: approvedView(accessRequest, approved),
      });
    } catch (error) {
      if (error instanceof ValidationFailed) return this.renderDetail(context, reply, accessRequest, { approve: fieldErrors(error.errors) }, values, 400);
      throw error;
    }
  }

  @Post(':id/rejeter')
  async reject(@Param('id') id: string, @Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal,
    @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const accessRequest = await this.requests.get(id);
    const form = validateForm(ReasonDto, { reason: text(body, 'reason') });
    if (!form.ok) return this.renderDetail(pageContext(request, reply, this.config.sandbox), reply, accessRequest, { reject: form.errors }, {}, 400);
    await this.requests.reject(id, form.value, { type: 'operator', operatorId: principal.operator.id });
    return redirectWithFlash(request, reply, `${SECTION}/${id}`, `La demande de ${accessRequest.organisation.name} est rejetée ; le motif est conservé avec elle.`);
  }

  @Post(':id/modifications')
  async requestChanges(@Param('id') id: string, @Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal,
    @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const accessRequest = await this.requests.get(id);
    const form = validateForm(MessageDto, { message: text(body, 'message') });
    if (!form.ok) return this.renderDetail(pageContext(request, reply, this.config.sandbox), reply, accessRequest, { changes: form.errors }, {}, 400);
    await this.requests.requestChanges(id, form.value.message, { type: 'operator', operatorId: principal.operator.id });
    return redirectWithFlash(request, reply, `${SECTION}/${id}`, `Modifications demandées à ${accessRequest.organisation.name} ; le demandeur est prévenu.`);
  }

  private async renderDetail(context: PageContext, reply: FastifyReply, accessRequest: AccessRequest,
    errors: { approve?: Record<string, string>; reject?: Record<string, string>; changes?: Record<string, string> } = {},
    values: Record<string, unknown> = {}, status = 200) {
    const messages = await this.requests.messages(accessRequest.id);
    return sendPage(reply, context, {
      title: `Demande de ${accessRequest.organisation.name}`, section: SECTION, status,
      breadcrumb: [['Console', '/console'], ["Demandes d'accès", SECTION], [accessRequest.organisation.name, '']],
      content: requestDetailView(accessRequest, messages, context.csrf, errors, values, this.config.defaultRateLimitPerSecond),
    });
  }
}
