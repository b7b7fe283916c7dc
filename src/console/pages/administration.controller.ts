import { Body, Controller, Get, Inject, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentOperator, OperatorAuth, OperatorPrincipal } from '../../auth/access.decorators';
import { APP_CONFIG, AppConfig } from '../../common/config/config';
import { ValidationFailed } from '../../common/errors/domain-errors';
import { IncidentsService } from '../../partners/incidents.service';
import { NotificationsRepository } from '../../notifications/notifications.repository';
import { PublishTermsDto } from '../../partners/partner-self-service.dto';
import { PartnersService } from '../../partners/partners.service';
import { TermsService } from '../../partners/terms.service';
import { alert, badge, button, form, input, PAGE_SIZE, pageLinks, pageOf, table } from '../components';
import { ConsoleCsrfGuard } from '../console-csrf.guard';
import { ConsoleErrorFilter } from '../console-errors.filter';
import { PageContext, pageContext, redirectWithFlash, sendPage } from '../console-page';
import { frenchDateTime, parisLocalToDate } from '../dates';
import { fieldErrors, FormBody, text, validateForm } from '../forms';
import { html } from '../html';

type TermsList = Awaited<ReturnType<TermsService['listWithAcceptances']>>;

/** Terms versions (publish, who accepted), partners' incidents and the notifications outbox (DESIGN §4). */
@ApiExcludeController()
@Controller('console')
@UseFilters(ConsoleErrorFilter)
@UseGuards(ConsoleCsrfGuard)
@OperatorAuth('operator', 'admin')
export class ConsoleAdministrationController {
  constructor(private readonly terms: TermsService, private readonly incidents: IncidentsService, private readonly outbox: NotificationsRepository,
    private readonly partners: PartnersService, @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get('conditions')
  async termsPage(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    return this.renderTerms(pageContext(request, reply, this.config.sandbox), reply);
  }

  @Post('conditions')
  async publish(@Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const given = { version: text(body, 'version'), effectiveAt: text(body, 'effectiveAt'), summary: text(body, 'summary'), text: text(body, 'text') };
    const values: Record<string, unknown> = { ...given, effectiveAt: parisLocalToDate(given.effectiveAt)?.toISOString() ?? given.effectiveAt };
    for (const key of Object.keys(values)) if (values[key] === undefined) delete values[key];
    const context = pageContext(request, reply, this.config.sandbox);
    const form = validateForm(PublishTermsDto, values);
    if (!form.ok) return this.renderTerms(context, reply, form.errors, given, 400);
    try {
      const published = await this.terms.publish(form.value, { type: 'operator', operatorId: principal.operator.id });
      return redirectWithFlash(request, reply, '/console/conditions',
        `Version ${published.version} publiée : les partenaires la voient dès maintenant, elle s'applique le ${frenchDateTime(published.effective_at)}.`);
    } catch (error) {
      if (error instanceof ValidationFailed) return this.renderTerms(context, reply, fieldErrors(error.errors), given, 400);
      throw error;
    }
  }

  @Get('incidents')
  async incidentsPage(@Query('page') pageNumber: string | undefined, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const { page, offset } = pageOf(pageNumber);
    const rows = await this.incidents.list(PAGE_SIZE + 1, offset);
    const incidents = rows.slice(0, PAGE_SIZE);
    return sendPage(reply, pageContext(request, reply, this.config.sandbox), {
      title: 'Incidents signalés', section: '/console/incidents', breadcrumb: [['Console', '/console'], ['Incidents signalés', '/console/incidents']],
      content: html`<h1>Incidents signalés par les partenaires</h1>
        ${table("Incidents signalés, les plus récents d'abord", [
          { label: 'Reçu le', cell: (i) => frenchDateTime(i.created_at) },
          { label: 'Partenaire', cell: (i) => html`<a href="/console/partenaires/${i.partner_id}">${i.partner_name ?? i.partner_id}</a>` },
          { label: 'Résumé', cell: (i) => i.summary },
          { label: 'Détail', cell: (i) => i.detail },
        ], incidents, "Aucun partenaire n'a signalé de difficulté.")}
        ${pageLinks('/console/incidents', page, rows.length)}`,
    });
  }

  @Get('notifications')
  async outboxPage(@Query('page') pageNumber: string | undefined, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const { page, offset } = pageOf(pageNumber);
    const rows = await this.outbox.list({ limit: PAGE_SIZE + 1, offset });
    const messages = rows.slice(0, PAGE_SIZE);
    const tones = { pending: 'info', sent: 'success', failed: 'error' } as const;
    const labels = { pending: 'en attente', sent: 'envoyé', failed: 'en échec' };
    return sendPage(reply, pageContext(request, reply, this.config.sandbox), {
      title: 'Notifications', section: '/console/notifications', breadcrumb: [['Console', '/console'], ['Notifications', '/console/notifications']],
      content: html`<h1>Notifications aux partenaires</h1>
        <p>Un message par contact du partenaire (métier et technique), écrit avec l'événement qui le cause.</p>
        ${table('Messages, les plus récents d\'abord', [
          { label: 'Écrit le', cell: (m) => frenchDateTime(m.created_at) },
          { label: 'Type', cell: (m) => html`<code>${m.type}</code>` },
          { label: 'Partenaire', cell: (m) => m.partner_name ?? '—' },
          { label: 'Destinataire', cell: (m) => m.recipient },
          { label: 'État', cell: (m) => badge(tones[m.status] ?? 'info', labels[m.status] ?? m.status) },
        ], messages, "Aucune notification pour l'instant.")}
        ${pageLinks('/console/notifications', page, rows.length)}`,
    });
  }

  private async renderTerms(context: PageContext, reply: FastifyReply, errors: Record<string, string> = {},
    values: Record<string, string | undefined> = {}, status = 200) {
    const [versions, partners] = await Promise.all([this.terms.listWithAcceptances(), this.partners.list()]);
    const names = new Map(partners.map((p) => [p.id, p.name]));
    return sendPage(reply, context, {
      title: "Conditions d'utilisation", section: '/console/conditions', status,
      breadcrumb: [['Console', '/console'], ["Conditions d'utilisation", '/console/conditions']],
      content: html`<h1>Conditions d'utilisation</h1>
        ${table<TermsList[number]>('Versions publiées', [
          { label: 'Version', cell: (t) => html`${t.version} ${t.current ? badge('success', 'en vigueur') : t.upcoming ? badge('info', 'à venir') : ''}` },
          { label: "Entrée en vigueur", cell: (t) => frenchDateTime(t.effective_at) },
          { label: 'Résumé', cell: (t) => t.summary },
          { label: 'Acceptée par', cell: (t) => (t.acceptances.length === 0 ? 'aucun partenaire'
            : t.acceptances.map((a) => `${names.get(a.partner_id) ?? a.partner_id} (${frenchDateTime(a.accepted_at)})`).join(', ')) },
        ], versions, 'Aucune version publiée.')}
        <h2>Publier une nouvelle version</h2>
        <p>Elle est annoncée aux partenaires dès sa publication et s'applique à la date choisie, qui doit être à venir.</p>
        ${Object.keys(errors).length ? alert('error', "La version n'est pas publiée", 'Corrigez les champs signalés.') : ''}
        ${form('/console/conditions', context.csrf, html`
          <div class="fr-grid-row fr-grid-row--gutters">
            <div class="fr-col-12 fr-col-md-6">${input({ name: 'version', label: 'Version', hint: 'Par exemple 2027-01', value: values.version, required: true, error: errors.version })}</div>
            <div class="fr-col-12 fr-col-md-6">${input({ name: 'effectiveAt', label: 'Entrée en vigueur (heure de Paris)', type: 'datetime-local', value: values.effectiveAt, required: true, error: errors.effectiveAt })}</div>
          </div>
          ${input({ name: 'summary', label: 'Résumé des changements', textarea: true, value: values.summary, required: true, error: errors.summary })}
          ${input({ name: 'text', label: 'Texte complet (facultatif)', textarea: true, value: values.text, error: errors.text })}
          ${button('Publier la version')}`, "Publier une version des conditions d'utilisation")}`,
    });
  }
}
