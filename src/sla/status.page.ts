import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Feed } from 'feed';
import { Public } from '../auth/access.decorators';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { alert, table } from '../console/components';
import { availabilityChart } from '../console/components/chart';
import { PAGE_CSP } from '../console/console-page';
import { frenchDateTime, frenchMonth, percent } from '../console/dates';
import { html } from '../console/html';
import { CAUSE_LABELS } from '../console/labels';
import { layout } from '../console/layout';
import { incidentsTable, monthFigures, monthsTable } from '../console/pages/availability.view';
import { MaintenanceCalendar } from './maintenance';
import { SlaReports, STATUS_CACHE_SECONDS } from './sla-reports';

const STATES = {
  up: ['success', 'Le service fonctionne normalement'],
  degraded: ['warning', 'Le service est perturbé'],
  down: ['error', 'Le service est indisponible'],
  maintenance: ['info', 'Maintenance en cours'],
} as const;

/**
 * The public status page and its Atom feed (DESIGN §4): no login, the same figures as GET /v1/status, in the same
 * design system as the console. Nothing about any partner.
 */
@ApiExcludeController()
@Controller('status')
export class StatusPageController {
  constructor(private readonly reports: SlaReports, private readonly maintenance: MaintenanceCalendar, private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get() @Public()
  async page(@Res() reply: FastifyReply) {
    const status = await this.status();
    const [tone, label] = STATES[status.state];
    const months = monthFigures(status.months, { month: status.month_to_date.month, availability: status.month_to_date.availability });
    const body = layout({
      title: 'État du service', sandbox: this.config.sandbox, home: { href: '/status', tagline: 'État du service' },
      content: html`<h1>État du service</h1>
        ${alert(tone, label, `Depuis le ${frenchDateTime(status.since)}.`)}
        <p class="fr-text--lg">Disponibilité de ${frenchMonth(status.month_to_date.month)} à ce jour : <strong>${percent(status.month_to_date.availability)}</strong>
          (engagement : au moins ${Math.round(status.month_to_date.target * 100)} % de chaque mois, maintenances annoncées exclues).</p>
        <p><a class="fr-link fr-icon-rss-line fr-link--icon-left" href="/status/feed.atom">Suivre les incidents et les maintenances (flux Atom)</a></p>
        <h2>Maintenances à venir</h2>
        ${table('Maintenances annoncées', [
          { label: 'Début', cell: (w) => frenchDateTime(w.start) },
          { label: 'Fin', cell: (w) => frenchDateTime(w.end) },
          { label: 'Motif', cell: (w) => w.reason },
        ], status.maintenance, 'Aucune maintenance annoncée.')}
        <h2>Les 12 derniers mois</h2>
        ${availabilityChart(months, status.month_to_date.target, 'Disponibilité mensuelle de l\'API droits CNAM')}
        ${monthsTable(months, 'Disponibilité par mois')}
        <h2>Incidents récents</h2>
        ${incidentsTable(status.incidents, 'Les derniers incidents, les plus récents d\'abord')}`,
    });
    return reply.header('content-security-policy', PAGE_CSP).header('cache-control', `public, max-age=${STATUS_CACHE_SECONDS}`)
      .type('text/html; charset=utf-8').send(body.text);
  }

  @Get('feed.atom') @Public()
  async feed(@Res() reply: FastifyReply) {
    const status = await this.status();
    const windows = this.maintenance.upcoming(new Date(0)).slice(-20);
    const base = '/status';
    const feed = new Feed({
      title: 'API droits CNAM — incidents et maintenances', id: 'urn:api-droits-cnam:status', link: base,
      description: 'Incidents mesurés et maintenances annoncées du service API droits CNAM opéré par la DINSIC.',
      updated: this.clock.now(), copyright: 'DINSIC', language: 'fr', feedLinks: { atom: `${base}/feed.atom` },
      generator: 'API droits CNAM',
    });
    for (const w of windows) {
      feed.addItem({ title: `Maintenance du ${frenchDateTime(w.starts_at)} au ${frenchDateTime(w.ends_at)}`, id: `urn:api-droits-cnam:maintenance:${w.id}`,
        link: base, date: w.announced_at, description: w.reason, content: `Maintenance annoncée : ${w.reason}. Les consultations répondent 503 maintenance pendant la fenêtre.` });
    }
    for (const incident of status.incidents) {
      feed.addItem({ title: `Incident : ${CAUSE_LABELS[incident.cause] ?? incident.cause} (${incident.minutes} min)`,
        id: `urn:api-droits-cnam:incident:${incident.start}`, link: base, date: new Date(incident.end),
        description: `Du ${frenchDateTime(incident.start)} au ${frenchDateTime(incident.end)}.` });
    }
    return reply.header('cache-control', `public, max-age=${STATUS_CACHE_SECONDS}`).type('application/atom+xml; charset=utf-8').send(feed.atom1());
  }

  private status() {
    const upcoming = this.maintenance.upcoming(this.clock.now()).map((w) => ({ start: w.starts_at, end: w.ends_at, reason: w.reason }));
    return this.reports.status(upcoming);
  }
}
