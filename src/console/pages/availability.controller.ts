import { Body, Controller, Get, Inject, Param, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentOperator, OperatorAuth, OperatorPrincipal } from '../../auth/access.decorators';
import { Clock } from '../../common/clock';
import { APP_CONFIG, AppConfig } from '../../common/config/config';
import { NotFound, ValidationFailed } from '../../common/errors/domain-errors';
import { PartnersService } from '../../partners/partners.service';
import { parisMonthOf } from '../../sla/availability';
import { MaintenanceCalendar, MaintenanceChangeDto, MaintenanceWindow, MaintenanceWindowDto } from '../../sla/maintenance';
import { Report, SlaReports } from '../../sla/sla-reports';
import { SlaRepository } from '../../sla/sla.repository';
import { ConsoleCsrfGuard } from '../console-csrf.guard';
import { ConsoleErrorFilter } from '../console-errors.filter';
import { PageContext, pageContext, redirectWithFlash, sendPage } from '../console-page';
import { dateToParisLocal, frenchDateTime, parisLocalToDate } from '../dates';
import { fieldErrors, FormBody, text, validateForm } from '../forms';
import { availabilityView, maintenanceChangeView } from './availability.view';

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

  @Get('maintenance/:id') @OperatorAuth('operator', 'admin')
  async changeForm(@Param('id') id: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const window = await this.openWindow(id);
    const values = { start: dateToParisLocal(window.starts_at), end: dateToParisLocal(window.ends_at), reason: window.reason };
    return this.renderChange(pageContext(request, reply, this.config.sandbox), reply, window, {}, values);
  }

  @Post('maintenance/:id') @OperatorAuth('operator', 'admin')
  async change(@Param('id') id: string, @Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest,
    @Res() reply: FastifyReply) {
    const window = await this.openWindow(id);
    const context = pageContext(request, reply, this.config.sandbox);
    const given = { start: text(body, 'start'), end: text(body, 'end'), reason: text(body, 'reason') };
    const start = parisLocalToDate(given.start);
    const end = parisLocalToDate(given.end);
    const form = validateForm(MaintenanceChangeDto, { start: start?.toISOString() ?? given.start ?? '', end: end?.toISOString() ?? given.end ?? '',
      reason: given.reason ?? '' });
    if (!form.ok) return this.renderChange(context, reply, window, form.errors, given, 400);
    // A running window's start is shown to the minute: unchanged there means unchanged.
    if (start && dateToParisLocal(start) === dateToParisLocal(window.starts_at)) delete form.value.start;
    try {
      const changed = await this.calendar.change(window.id, form.value, { type: 'operator', operatorId: principal.operator.id });
      return redirectWithFlash(request, reply, SECTION, `Maintenance modifiée : du ${frenchDateTime(changed.starts_at)} au ${frenchDateTime(changed.ends_at)}.`);
    } catch (error) {
      if (error instanceof ValidationFailed) return this.renderChange(context, reply, window, fieldErrors(error.errors), given, 400);
      throw error;
    }
  }

  @Post('maintenance/:id/annuler') @OperatorAuth('operator', 'admin')
  async cancel(@Param('id') id: string, @CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const window = await this.calendar.cancel(id, { type: 'operator', operatorId: principal.operator.id });
    return redirectWithFlash(request, reply, SECTION, `Maintenance du ${frenchDateTime(window.starts_at)} annulée.`);
  }

  private async openWindow(id: string): Promise<MaintenanceWindow> {
    const window = (await this.calendar.list()).find((w) => w.id === id);
    if (!window) throw new NotFound('No such maintenance window.');
    return window;
  }

  private renderChange(context: PageContext, reply: FastifyReply, window: MaintenanceWindow, errors: Record<string, string>,
    values: Record<string, string | undefined>, status = 200) {
    return sendPage(reply, context, { title: 'Modifier la maintenance', section: SECTION, status,
      breadcrumb: [['Console', '/console'], ['Disponibilité', SECTION], ['Modifier la maintenance', '']],
      content: maintenanceChangeView(window, this.clock.now(), context.csrf, errors, values) });
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
