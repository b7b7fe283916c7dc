import { Body, Controller, Get, Inject, Param, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionLog } from '../../audit/action-log';
import { AuditService } from '../../audit/audit.service';
import { CurrentOperator, OperatorAuth, OperatorPrincipal } from '../../auth/access.decorators';
import { Clock } from '../../common/clock';
import { APP_CONFIG, AppConfig } from '../../common/config/config';
import { NotFound, ValidationFailed } from '../../common/errors/domain-errors';
import { ReasonDto } from '../../partners/access-request.dto';
import { PartnersService } from '../../partners/partners.service';
import { TermsService } from '../../partners/terms.service';
import { parisMonthBounds, parisMonthOf } from '../../sla/availability';
import { SlaRepository } from '../../sla/sla.repository';
import { parisDate } from '../../common/paris-date';
import { ConsoleCsrfGuard } from '../console-csrf.guard';
import { ConsoleErrorFilter } from '../console-errors.filter';
import { pageContext, redirectWithFlash, sendPage } from '../console-page';
import { fieldErrors, FormBody, text, validateForm } from '../forms';
import { LIFECYCLE, LifecycleAction, confirmView, partnerDetailView, partnerListView, rotatedView, webhookFormView, webhookSecretView } from './partners.view';
import { WebhookRegistry } from '../../notifications/webhooks';
import { WebhookDto } from '../../partners/operator.dto';

const SECTION = '/console/partenaires';

/** Partners (DESIGN §4): the list, one partner, and its lifecycle behind a confirmation — PartnersService, as the API. */
@ApiExcludeController()
@Controller('console/partenaires')
@UseFilters(ConsoleErrorFilter)
@UseGuards(ConsoleCsrfGuard)
@OperatorAuth('operator', 'admin')
export class ConsolePartnersController {
  constructor(private readonly partners: PartnersService, private readonly terms: TermsService, private readonly actions: ActionLog,
    private readonly audit: AuditService, private readonly usage: SlaRepository, private readonly clock: Clock,
    private readonly webhooks: WebhookRegistry, @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  async list(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const monthStart = parisDate(new Date(parisMonthBounds(parisMonthOf(this.clock.now().getTime())).start));
    const [partners, activity] = await Promise.all([this.partners.list(), this.usage.partnerActivity(monthStart)]);
    const byPartner = new Map(activity.map((a) => [a.partner_id, a]));
    return sendPage(reply, pageContext(request, reply, this.config.sandbox), {
      title: 'Partenaires', section: SECTION, breadcrumb: [['Console', '/console'], ['Partenaires', SECTION]],
      content: partnerListView(partners.map((partner) => ({ partner, activity: byPartner.get(partner.id) }))),
    });
  }

  @Get(':id')
  async detail(@Param('id') id: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const partner = await this.partners.get(id);
    const [terms, actions, accesses, webhook] = await Promise.all([this.terms.statusFor(partner.id), this.actions.list({ partnerId: partner.id, limit: 20 }),
      this.audit.search({ partnerId: partner.id, kind: 'lookup' }, undefined, 10), this.webhooks.summary(partner.id)]);
    return sendPage(reply, pageContext(request, reply, this.config.sandbox), {
      title: partner.name, section: SECTION, breadcrumb: [['Console', '/console'], ['Partenaires', SECTION], [partner.name, '']],
      content: partnerDetailView(partner, terms, actions, accesses.entries, this.config.credentialGraceSeconds, webhook),
    });
  }

  @Get(':id/webhook')
  async webhookForm(@Param('id') id: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const partner = await this.partners.get(id);
    const context = pageContext(request, reply, this.config.sandbox);
    return sendPage(reply, context, { title: `Webhook — ${partner.name}`, section: SECTION, breadcrumb: this.crumbs(partner, 'Webhook'),
      content: webhookFormView(partner, await this.webhooks.summary(partner.id), context.csrf, undefined, {}) });
  }

  @Post(':id/webhook')
  async registerWebhook(@Param('id') id: string, @Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal,
    @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const partner = await this.partners.get(id);
    const context = pageContext(request, reply, this.config.sandbox);
    const url = text(body, 'url');
    const form = validateForm(WebhookDto, { url });
    let errors = form.ok ? {} : form.errors;
    if (form.ok) {
      try {
        const registered = await this.webhooks.register(partner.id, form.value.url, { type: 'operator', operatorId: principal.operator.id });
        return sendPage(reply, context, { title: `Webhook enregistré — ${partner.name}`, section: SECTION, breadcrumb: this.crumbs(partner, 'Webhook'),
          content: webhookSecretView(partner, registered) });
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        errors = fieldErrors(error.errors);
      }
    }
    return sendPage(reply, context, { title: `Webhook — ${partner.name}`, section: SECTION, status: 400, breadcrumb: this.crumbs(partner, 'Webhook'),
      content: webhookFormView(partner, await this.webhooks.summary(partner.id), context.csrf, url, errors) });
  }

  @Post(':id/webhook/supprimer')
  async removeWebhook(@Param('id') id: string, @CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest,
    @Res() reply: FastifyReply) {
    const partner = await this.partners.get(id);
    await this.webhooks.remove(partner.id, { type: 'operator', operatorId: principal.operator.id });
    return redirectWithFlash(request, reply, `${SECTION}/${partner.id}`, `${partner.name} : webhook supprimé.`);
  }

  @Get(':id/:action')
  async confirm(@Param('id') id: string, @Param('action') action: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const chosen = lifecycle(action);
    const partner = await this.partners.get(id);
    const context = pageContext(request, reply, this.config.sandbox);
    return sendPage(reply, context, {
      title: `${chosen.title} — ${partner.name}`, section: SECTION,
      breadcrumb: [['Console', '/console'], ['Partenaires', SECTION], [partner.name, `${SECTION}/${partner.id}`], [chosen.title, '']],
      content: confirmView(partner, chosen, context.csrf, {}, this.config.credentialGraceSeconds),
    });
  }

  @Post(':id/:action')
  async act(@Param('id') id: string, @Param('action') action: string, @Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal,
    @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const chosen = lifecycle(action);
    const partner = await this.partners.get(id);
    const actor = { type: 'operator' as const, operatorId: principal.operator.id };
    const context = pageContext(request, reply, this.config.sandbox);
    if (chosen.slug === 'secret') {
      const rotated = await this.partners.rotateCredentials(partner.id, actor);
      return sendPage(reply, context, {
        title: `Nouveau secret — ${partner.name}`, section: SECTION,
        breadcrumb: [['Console', '/console'], ['Partenaires', SECTION], [partner.name, `${SECTION}/${partner.id}`], ['Nouveau secret', '']],
        content: rotatedView(partner, rotated),
      });
    }
    const form = validateForm(ReasonDto, { reason: text(body, 'reason') });
    if (!form.ok) {
      return sendPage(reply, context, { title: `${chosen.title} — ${partner.name}`, section: SECTION, status: 400,
        breadcrumb: [['Console', '/console'], ['Partenaires', SECTION], [partner.name, `${SECTION}/${partner.id}`], [chosen.title, '']],
        content: confirmView(partner, chosen, context.csrf, form.errors, this.config.credentialGraceSeconds) });
    }
    const reason = form.value.reason;
    if (chosen.slug === 'suspendre') await this.partners.suspend(partner.id, reason, actor);
    else if (chosen.slug === 'reactiver') await this.partners.reactivate(partner.id, reason, actor);
    else await this.partners.revoke(partner.id, reason, actor);
    return redirectWithFlash(request, reply, `${SECTION}/${partner.id}`, `${partner.name} : ${chosen.done}`);
  }

  private crumbs(partner: { id: string; name: string }, last: string): [string, string][] {
    return [['Console', '/console'], ['Partenaires', SECTION], [partner.name, `${SECTION}/${partner.id}`], [last, '']];
  }
}

function lifecycle(slug: string): LifecycleAction {
  const found = LIFECYCLE.find((action) => action.slug === slug);
  if (!found) throw new NotFound('No such page.');
  return found;
}
