import { Controller, Get, Header, Param, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { CurrentPartner, OperatorAuth, PartnerAuth, PartnerPrincipal, Public } from '../auth/access.decorators';
import { Clock } from '../common/clock';
import { csvField } from '../common/csv';
import { ValidationFailed } from '../common/errors/domain-errors';
import { parisDate } from '../common/paris-date';
import { parisMonthBounds, parisMonthOf } from './availability';
import { MaintenanceCalendar } from './maintenance';
import { OpenData } from './open-data';
import { LICENCE, LICENCE_URL } from './open-data-table';
import { checkMonth, Report, SlaReports, STATUS_CACHE_SECONDS, usageOf } from './sla-reports';
import { SlaRepository } from './sla.repository';
import { ApiProblems } from '../common/errors/api-problems';


const SUMMARY = ['availability', 'availability_including_maintenance', 'met', 'minutes_total', 'minutes_measured', 'minutes_unavailable',
  'minutes_maintenance', 'request_success_ratio', 'error_budget_remaining_minutes'] as const;

/** The report as CSV: one `summary` row, then one row per incident and per partner (record_type first). */
export function reportCsv(report: Report): string {
  const header = ['record_type', 'month', 'provisional', ...SUMMARY, 'incident_start', 'incident_end', 'incident_minutes', 'incident_cause',
    'partner_id', 'calls', 'failures', 'p50_ms', 'p95_ms'];
  const blank = (n: number) => new Array(n).fill('');
  const lines = [header.join(','),
    ['summary', report.month, report.provisional, ...SUMMARY.map((k) => report[k]), ...blank(9)].map(csvField).join(','),
    ...report.incidents.map((i) => ['incident', report.month, report.provisional, ...blank(SUMMARY.length), i.start, i.end, i.minutes, i.cause,
      ...blank(5)].map(csvField).join(',')),
    ...report.partners.map((p) => ['partner', report.month, report.provisional, ...blank(SUMMARY.length + 4), p.partner_id, p.calls, p.failures,
      p.p50_ms, p.p95_ms].map(csvField).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

/** Operators' and auditors' access to availability (DESIGN §4, §6). */
@ApiTags('availability')
@Controller('admin/api/sla')
export class SlaAdminController {
  constructor(private readonly reports: SlaReports) {}

  @Get('reports/:month') @OperatorAuth() @ApiProblems('invalid_request', 'report_not_found')
  @ApiOperation({ summary: "A month's availability report (provisional while the month runs, frozen and signed once closed); ?format=csv" })
  @ApiProduces('application/json', 'text/csv')
  async report(@Param('month') month: string, @Query('format') format: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    checkMonth(month);
    if (format !== undefined && format !== 'json' && format !== 'csv') throw new ValidationFailed([{ field: 'format', reason: 'must be json or csv' }]);
    const report = await this.reports.report(month);
    if (format !== 'csv') return { ...report, public_key: report.key_id ? this.reports.publicKey(report.key_id) ?? null : null };
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="disponibilite-${month}.csv"`);
    return reportCsv(report);
  }

  @Get('minutes') @OperatorAuth('auditor')
  @ApiOperation({ summary: 'The raw per-instance minute rows a month is computed from (NDJSON: a header line, one line per row, '
    + 'then an end line counting them, so that a file cut short shows as such)' })
  @ApiProduces('application/x-ndjson')
  async minutes(@Query('month') month: string, @Res() reply: FastifyReply) {
    checkMonth(month ?? '');
    const { header, rows } = await this.reports.minutes(month);
    reply.header('content-type', 'application/x-ndjson; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="minutes-${month}.ndjson"`);
    async function* lines() {
      yield `${JSON.stringify(header)}\n`;
      for (const row of rows) yield `${JSON.stringify({ type: 'minute', ...row })}\n`;
      yield `${JSON.stringify({ type: 'end', minutes: rows.length })}\n`;
    }
    return reply.send(Readable.from(lines()));
  }
}

/** A partner's own figures (DESIGN §3.5): its use of the API, and the month's report with its own row only. */
@ApiTags('partner self-service')
@Controller('v1/me')
export class MySlaController {
  constructor(private readonly reports: SlaReports, private readonly repository: SlaRepository, private readonly clock: Clock) {}

  @Get('sla/reports/:month') @PartnerAuth() @ApiProblems('invalid_request', 'report_not_found')
  @ApiOperation({ summary: "The month's availability report as sent to partners: the global figures, and this partner's row only" })
  async report(@Param('month') month: string, @CurrentPartner() principal: PartnerPrincipal) {
    const report = await this.reports.partnerReport(month, principal.partner.id);
    return { ...report, public_key: report.key_id ? this.reports.publicKey(report.key_id) ?? null : null };
  }

  @Get('usage') @PartnerAuth() @ApiProblems('invalid_request')
  @ApiOperation({ summary: "This partner's calls in a month (default: this month), by outcome and day, with latency quantiles" })
  async usage(@Query('month') month: string | undefined, @CurrentPartner() principal: PartnerPrincipal) {
    const now = this.clock.now().getTime();
    const chosen = month ?? parisMonthOf(now);
    checkMonth(chosen);
    const { start, end } = parisMonthBounds(chosen);
    const days = start > now ? [] : await this.repository.usageDays(parisDate(new Date(start)), parisDate(new Date(end - 1)), principal.partner.id);
    return usageOf(chosen, days, now);
  }
}

/** The public state of the service (DESIGN §6): no login, nothing about any partner. */
@ApiTags('availability')
@Controller('v1/status')
export class StatusController {
  constructor(private readonly reports: SlaReports, private readonly maintenance: MaintenanceCalendar, private readonly clock: Clock) {}

  @Get() @Public() @Header('cache-control', `public, max-age=${STATUS_CACHE_SECONDS}`)
  @ApiOperation({ summary: 'State now, this month so far, the last 12 months, maintenance announced, recent incidents' })
  status() {
    const upcoming = this.maintenance.upcoming(this.clock.now()).map((w) => ({ start: w.starts_at, end: w.ends_at, reason: w.reason }));
    return this.reports.status(upcoming);
  }
}

/** The published usage statistics (DESIGN §6): public, under the ODbL, a closed month's figures that never change. */
@ApiTags('availability')
@Controller('v1/open-data')
export class OpenDataController {
  constructor(private readonly openData: OpenData) {}

  @Get('usage.csv') @Public() @ApiProblems('invalid_request', 'month_not_over', 'open_data_not_found')
  @ApiOperation({ summary: "A month's lookups by partner type and context, with outcomes and distinct persons; counts below 11 are NS "
    + '(ODbL). Default: the last month that is over.' })
  @ApiProduces('text/csv')
  async usage(@Query('month') month: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    const chosen = month ?? this.openData.lastMonth();
    const csv = await this.openData.usageCsv(chosen);
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="api-droits-cnam-usage-${chosen}.csv"`);
    reply.header('link', `<${LICENCE_URL}>; rel="license"; title="${LICENCE}"`);
    reply.header('cache-control', 'public, max-age=86400');
    return csv;
  }
}
