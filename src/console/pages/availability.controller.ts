import { Body, Controller, Get, Inject, Param, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentOperator, OperatorAuth, OperatorPrincipal } from '../../auth/access.decorators';
import { Clock } from '../../common/clock';
import { APP_CONFIG, AppConfig } from '../../common/config/config';
import { NotFound, ValidationFailed } from '../../common/errors/domain-errors';
import { PartnersService } from '../../partners/partners.service';
import { parisMonthOf } from '../../sla/availability';
import { MaintenanceCalendar, MaintenanceWindowDto } from '../../sla/maintenance';
import { Report, SlaReports } from '../../sla/sla-reports';
import { SlaRepository } from '../../sla/sla.repository';
import { ConsoleCsrfGuard } from '../console-csrf.guard';
import { ConsoleErrorFilter } from '../console-errors.filter';
import { PageContext, pageContext, redirectWithFlash, sendPage } from '../console-page';
import { frenchDateTime, parisLocalToDate } from '../dates';
import { fieldErrors, FormBody, text, validateForm } from '../forms';
import { availabilityView } from './availability.view';

const SECTION = '/console/disponibilite';

/**
 * Availability (DESIGN §4, §6): the month so far and the last 12 months (chart and table, target 95%), incidents,
 * per-partner use, and the maintenance calendar (announce, cancel) — SlaReports and MaintenanceCalendar, as the API.
 */
@ApiExcludeController()
@Controller('console/disponibilite')
@UseFilters(ConsoleErrorFilter)
@UseGuards(ConsoleCsrfGuard)
@OperatorAuth()
export class ConsoleAvailabilityController {
  constructor(private readonly reports: SlaReports, private readonly repository: SlaRepository, private readonly calendar: MaintenanceCalendar,
    private readonly partners: PartnersService, private readonly clock: Clock, @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  async page(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    return this.render(pageContext(request, reply, this.config.sandbox), reply);
  }

  @Post('maintenance') @OperatorAuth('operator', 'admin')
  async announce(@Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const start = parisLocalToDate(text(body, 'start'));
    const end = parisLocalToDate(text(body, 'end'));
    const values = { start: start?.toISOString() ?? text(body, 'start') ?? '', end: end?.toISOString() ?? text(body, 'end') ?? '', reason: text(body, 'reason') };
    const context = pageContext(request, reply, this.config.sandbox);
    const form = validateForm(MaintenanceWindowDto, values);
    const given = { start: text(body, 'start'), end: text(body, 'end'), reason: text(body, 'reason') };
    if (!form.ok) return this.render(context, reply, { errors: form.errors, values: given }, 400);
    try {
      const window = await this.calendar.announce(form.value, { type: 'operator', operatorId: principal.operator.id });
      return redirectWithFlash(request, reply, SECTION, `Maintenance annoncée du ${frenchDateTime(window.starts_at)} au ${frenchDateTime(window.ends_at)}.`);
    } catch (error) {
      if (error instanceof ValidationFailed) return this.render(context, reply, { errors: fieldErrors(error.errors), values: given }, 400);
      throw error;
    }
  }

  @Post('maintenance/:id/annuler') @OperatorAuth('operator', 'admin')
  async cancel(@Param('id') id: string, @CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const window = await this.calendar.cancel(id, { type: 'operator', operatorId: principal.operator.id });
    return redirectWithFlash(request, reply, SECTION, `Maintenance du ${frenchDateTime(window.starts_at)} annulée.`);
  }

  private async render(context: PageContext, reply: FastifyReply, form: { errors?: Record<string, string>; values?: Record<string, string | undefined> } = {},
    status = 200) {
    const now = this.clock.now();
    const month = parisMonthOf(now.getTime());
    const [current, frozen, windows, partners] = await Promise.all([
      this.reports.report(month).catch((error: unknown) => (error instanceof NotFound ? undefined : Promise.reject(error))) as Promise<Report | undefined>,
      this.repository.frozenReports(12), this.calendar.list(), this.partners.list()]);
    const canPlan = context.operator!.roles.some((role) => role === 'operator' || role === 'admin');
    return sendPage(reply, context, {
      title: 'Disponibilité', section: SECTION, status, breadcrumb: [['Console', '/console'], ['Disponibilité', SECTION]],
      content: availabilityView({ month, current, frozen: frozen.map((f) => f.report as unknown as Report), windows, now,
        partnerNames: new Map(partners.map((p) => [p.id, p.name])), csrf: context.csrf, canPlan, form }),
    });
  }
}
