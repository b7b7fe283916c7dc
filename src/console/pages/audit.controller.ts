import { Body, Controller, Get, Inject, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditQuery } from '../../audit/audit-query.dto';
import { AuditService } from '../../audit/audit.service';
import { AuditorDesk } from '../../audit/auditor-desk';
import { ScheduledVerification } from '../../audit/scheduled-verification';
import { CurrentOperator, OperatorAuth, OperatorPrincipal } from '../../auth/access.decorators';
import { APP_CONFIG, AppConfig } from '../../common/config/config';
import { ValidationFailed } from '../../common/errors/domain-errors';
import { whileClientWaits } from '../../common/http/client-gone';
import { PartnersService } from '../../partners/partners.service';
import { ConsoleCsrfGuard } from '../console-csrf.guard';
import { ConsoleErrorFilter } from '../console-errors.filter';
import { PageContext, pageContext, redirectWithFlash, sendPage } from '../console-page';
import { CheckpointBroadcast } from '../../notifications/checkpoint-broadcast';
import { parisDayStart } from '../dates';
import { fieldErrors, FormBody, text, validateForm } from '../forms';
import { auditView, AuditFilters, AuditResults } from './audit.view';

const SECTION = '/console/audit';
const PAGE_SIZE = 50;


/**
 * The auditors' pages (DESIGN §4): search the trail by partner, agent, NIR and dates, export it, verify it — through
 * AuditorDesk, as the API, so each search is traced. The NIR is sent by POST, pseudonymised at once, and never
 * written back into a page, a URL or a log; the next pages carry its pseudonym instead.
 */
@ApiExcludeController()
@Controller('console/audit')
@UseFilters(ConsoleErrorFilter)
@UseGuards(ConsoleCsrfGuard)
@OperatorAuth('auditor', 'admin')
export class ConsoleAuditController {
  constructor(private readonly desk: AuditorDesk, private readonly audit: AuditService, private readonly partners: PartnersService,
    private readonly checkpoints: CheckpointBroadcast, private readonly scheduled: ScheduledVerification,
    @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  async page(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    return this.render(pageContext(request, reply, this.config.sandbox), reply, {});
  }

  @Post()
  async search(@Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const context = pageContext(request, reply, this.config.sandbox);
    const filters: AuditFilters = { partner: text(body, 'partner'), agent: text(body, 'agent'), from: text(body, 'from'), to: text(body, 'to') };
    const nir = text(body, 'nir');
    const subjectRef = text(body, 'subject_ref');
    const values: Record<string, unknown> = { partner: filters.partner, agent: filters.agent, from: parisDayStart(filters.from),
      to: parisDayStart(filters.to, true), cursor: text(body, 'cursor'), subject_nir: nir?.replace(/\s/g, ''), limit: PAGE_SIZE };
    for (const key of Object.keys(values)) if (values[key] === undefined) delete values[key];
    const form = validateForm(AuditQuery, values);
    if (!form.ok) return this.render(context, reply, { filters, errors: form.errors }, 400);
    try {
      const found = await this.desk.search({ ...form.value, subject_ref: form.value.subject_nir ? undefined : subjectRef }, principal.operator.id);
      return this.render(context, reply, { filters, results: { entries: found.entries, next: found.next_cursor, subjectRef: found.subjectRef } });
    } catch (error) {
      if (error instanceof ValidationFailed) return this.render(context, reply, { filters, errors: fieldErrors(error.errors) }, 400);
      throw error;
    }
  }

  /** The whole chain (in the background), or the Paris days chosen in the search (`from`, `to` included; at once). */
  @Post('verifier')
  async verify(@Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const context = pageContext(request, reply, this.config.sandbox);
    const days: AuditFilters = { from: text(body, 'from'), to: text(body, 'to') };
    const invalid = (['from', 'to'] as const).filter((field) => days[field] !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(days[field]!));
    if (invalid.length) {
      return this.render(context, reply, { filters: days, errors: Object.fromEntries(invalid.map((field) => [field, 'Saisissez une date.'])) }, 400);
    }
    if (days.from === undefined && days.to === undefined) {
      // The whole trail takes minutes once it is long: in the background, its result shown on this page when it ends.
      const started = await this.desk.startVerification(principal.operator.id);
      return redirectWithFlash(request, reply, SECTION, started
        ? 'Vérification de toute la chaîne lancée : son résultat s\'affichera sur cette page (quelques minutes pour un long journal).'
        : 'Une vérification de toute la chaîne est déjà en cours : son résultat s\'affichera sur cette page.', 'info');
    }
    // The days chosen answer in seconds: at once.
    const [verification, checkpoint] = await Promise.all([this.desk.verify({ from: parisDayStart(days.from), to: parisDayStart(days.to, true) },
      principal.operator.id, whileClientWaits(reply)), this.audit.latestCheckpoint()]);
    return this.render(context, reply, { filters: days, verification, checkpoint, verifiedPeriod: days });
  }

  @Post('diffuser')
  async broadcast(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const written = await this.checkpoints.broadcastNow();
    return redirectWithFlash(request, reply, SECTION, written > 0
      ? `Dernier point de contrôle envoyé aux contacts des partenaires actifs (${written} messages).`
      : "Aucun message : pas encore de point de contrôle signé, ou aucun partenaire actif.", written > 0 ? 'success' : 'info');
  }

  private async render(context: PageContext, reply: FastifyReply, view: { filters?: AuditFilters; errors?: Record<string, string>;
    results?: AuditResults; verification?: Awaited<ReturnType<AuditorDesk['verify']>>; checkpoint?: Awaited<ReturnType<AuditService['latestCheckpoint']>>;
    verifiedPeriod?: AuditFilters },
  status = 200) {
    const [partners, scheduled, verifying, retention] = await Promise.all([this.partners.list(), this.scheduled.latest(),
      this.scheduled.inProgress(), this.audit.retention()]);
    return sendPage(reply, context, {
      title: "Journal d'accès", section: SECTION, status, breadcrumb: [['Console', '/console'], ["Journal d'accès", SECTION]],
      content: auditView({ ...view, partners, csrf: context.csrf, scheduled, verifying, verifyEveryHours: this.config.audit.verifyEveryHours,
        nextScheduled: this.scheduled.nextRun(scheduled, verifying), retention }),
    });
  }
}
