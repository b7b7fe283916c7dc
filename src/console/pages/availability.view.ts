import type { MaintenanceWindow } from '../../sla/maintenance';
import type { Report } from '../../sla/sla-reports';
import { alert, button, details, form, input, linkButton, table } from '../components';
import { availabilityChart, MonthFigure } from '../components/chart';
import { frenchDateTime, frenchMonth, percent } from '../dates';
import { html, Html } from '../html';
import { CAUSE_LABELS } from '../labels';

const TARGET = 0.95;

export interface AvailabilityPage {
  month: string;
  current?: Report;
  frozen: Report[];
  windows: MaintenanceWindow[];
  now: Date;
  partnerNames: Map<string, string>;
  csrf: string;
  canPlan: boolean;
  form: { errors?: Record<string, string>; values?: Record<string, string | undefined> };
}

/** The last 12 closed months, oldest first, and the current one (provisional). */
export function monthFigures(frozen: { month: string; availability: number | null }[], current?: { month: string; availability: number | null }): MonthFigure[] {
  const closed: MonthFigure[] = [...frozen].sort((a, b) => (a.month < b.month ? -1 : 1)).map((r) => ({ month: r.month, availability: r.availability }));
  return current ? [...closed, { month: current.month, availability: current.availability, provisional: true }] : closed;
}

export function monthsTable(months: MonthFigure[], caption: string): Html {
  return table(caption, [
    { label: 'Mois', cell: (m) => `${frenchMonth(m.month)}${m.provisional ? ' (en cours)' : ''}` },
    { label: 'Disponibilité', cell: (m) => percent(m.availability) },
    { label: 'Objectif de 95 % atteint', cell: (m) => (m.availability === null ? '—' : m.availability >= TARGET ? 'oui' : 'non') },
  ], [...months].reverse(), "Aucun mois mesuré pour l'instant.");
}

export function incidentsTable(incidents: Report['incidents'], caption: string): Html {
  return table(caption, [
    { label: 'Début', cell: (i) => frenchDateTime(i.start) },
    { label: 'Fin', cell: (i) => frenchDateTime(i.end) },
    { label: 'Durée', cell: (i) => `${i.minutes} min` },
    { label: 'Cause', cell: (i) => CAUSE_LABELS[i.cause] ?? i.cause },
  ], incidents, 'Aucun incident sur la période.');
}

export function availabilityView(view: AvailabilityPage): Html {
  const { current } = view;
  const months = monthFigures(view.frozen, current);
  const upcoming = view.windows.filter((w) => w.ends_at > view.now);
  const errors = view.form.errors ?? {};
  const values = view.form.values ?? {};
  return html`<h1>Disponibilité</h1>
    <p>Engagement : au moins 95 % de chaque mois calendaire (heure de Paris), mesuré minute par minute par une sonde qui traverse
      toute la passerelle ; les maintenances annoncées sont exclues du calcul.</p>
    ${current ? html`<h2>${frenchMonth(view.month)} (en cours)</h2>
      ${details([
        ['Disponibilité', percent(current.availability)], ['Maintenance comprise', percent(current.availability_including_maintenance)],
        ['Minutes mesurées', current.minutes_measured.toLocaleString('fr-FR')], ['Minutes indisponibles', current.minutes_unavailable.toLocaleString('fr-FR')],
        ['Minutes de maintenance', current.minutes_maintenance.toLocaleString('fr-FR')],
        ['Budget d\'indisponibilité restant', `${current.error_budget_remaining_minutes.toLocaleString('fr-FR')} min`],
        ['Requêtes réussies', percent(current.request_success_ratio)], ['Mesuré depuis', frenchDateTime(current.measured_from)],
      ])}` : alert('info', 'Pas encore de mesure', "La disponibilité est mesurée à partir de la mise en service de la passerelle : ce mois n'a pas encore de minute mesurée.")}
    <h2>Les 12 derniers mois</h2>
    ${months.length > 0 ? availabilityChart(months, TARGET, 'Disponibilité mensuelle de l\'API droits CNAM') : ''}
    ${monthsTable(months, 'Disponibilité par mois')}
    <h2>Incidents du mois</h2>
    ${incidentsTable(current?.incidents ?? [], 'Minutes indisponibles consécutives, avec leur cause')}
    <h2>Maintenances</h2>
    ${table('Maintenances annoncées', [
      { label: 'Début', cell: (w) => frenchDateTime(w.starts_at) },
      { label: 'Fin', cell: (w) => frenchDateTime(w.ends_at) },
      { label: 'Motif', cell: (w) => w.reason },
      { label: 'Annoncée le', cell: (w) => frenchDateTime(w.announced_at) },
      { label: 'Action', cell: (w) => (view.canPlan && w.ends_at > view.now ? html`<ul class="fr-btns-group fr-btns-group--inline-sm fr-btns-group--sm">
        <li>${linkButton('Modifier', `/console/disponibilite/maintenance/${w.id}`, 'secondary')}</li>
        <li>${form(`/console/disponibilite/maintenance/${w.id}/annuler`, view.csrf,
        button('Annuler', { kind: 'tertiary' }), `Annuler la maintenance du ${frenchDateTime(w.starts_at)}`)}</li></ul>` : '—') },
    ], view.windows, 'Aucune maintenance annoncée.')}
    ${upcoming.length === 0 ? html`<p class="fr-text--sm">Aucune maintenance à venir.</p>` : ''}
    ${view.canPlan ? html`<h3>Annoncer une maintenance</h3>
      <p>Les partenaires la voient sur la page d'état du service et dans son flux dès maintenant ; les consultations reçoivent
        <code>503 maintenance</code> pendant la fenêtre.</p>
      ${Object.keys(errors).length ? alert('error', "La maintenance n'est pas annoncée", 'Corrigez les champs signalés.') : ''}
      ${form('/console/disponibilite/maintenance', view.csrf, html`
        <div class="fr-grid-row fr-grid-row--gutters">
          <div class="fr-col-12 fr-col-md-6">${input({ name: 'start', label: 'Début (heure de Paris)', type: 'datetime-local', value: values.start, required: true, error: errors.start })}</div>
          <div class="fr-col-12 fr-col-md-6">${input({ name: 'end', label: 'Fin (heure de Paris)', type: 'datetime-local', value: values.end, required: true, error: errors.end })}</div>
        </div>
        ${input({ name: 'reason', label: 'Motif (public)', value: values.reason, required: true, error: errors.reason })}
        ${button('Annoncer la maintenance', { id: 'announce' })}`, 'Annoncer une maintenance')}` : ''}
    <h2>Usage par partenaire</h2>
    ${table(`Appels du mois par partenaire`, [
      { label: 'Partenaire', cell: (p) => view.partnerNames.get(p.partner_id) ?? p.partner_id },
      { label: 'Appels', cell: (p) => p.calls.toLocaleString('fr-FR') },
      { label: 'Échecs côté serveur', cell: (p) => p.failures.toLocaleString('fr-FR') },
      { label: 'Médiane (ms)', cell: (p) => (p.p50_ms === null ? '—' : `≤ ${p.p50_ms}`) },
      { label: '95e centile (ms)', cell: (p) => (p.p95_ms === null ? '—' : `≤ ${p.p95_ms}`) },
    ], current?.partners ?? [], "Aucun appel de partenaire ce mois-ci.")}`;
}

/** Changing an announced window (partners are told: maintenance.changed). A window that has begun keeps its start. */
export function maintenanceChangeView(window: MaintenanceWindow, now: Date, csrf: string, errors: Record<string, string>,
  values: Record<string, string | undefined>): Html {
  const started = window.starts_at <= now;
  return html`<h1>Modifier la maintenance</h1>
    <p>Annoncée le ${frenchDateTime(window.announced_at)} : du ${frenchDateTime(window.starts_at)} au ${frenchDateTime(window.ends_at)}.
      Les partenaires actifs sont prévenus de la modification (courriel et webhook) ; la page d'état la montre aussitôt.</p>
    ${started ? alert('info', 'Maintenance en cours', 'Son début ne peut plus changer ; sa fin peut être avancée (pas avant maintenant) ou repoussée.') : ''}
    ${Object.keys(errors).length ? alert('error', "La maintenance n'est pas modifiée", 'Corrigez les champs signalés.') : ''}
    ${form(`/console/disponibilite/maintenance/${window.id}`, csrf, html`
      <div class="fr-grid-row fr-grid-row--gutters">
        <div class="fr-col-12 fr-col-md-6">${input({ name: 'start', label: 'Début (heure de Paris)', type: 'datetime-local', value: values.start, required: true, error: errors.start })}</div>
        <div class="fr-col-12 fr-col-md-6">${input({ name: 'end', label: 'Fin (heure de Paris)', type: 'datetime-local', value: values.end, required: true, error: errors.end })}</div>
      </div>
      ${input({ name: 'reason', label: 'Motif (public)', value: values.reason, required: true, error: errors.reason })}
      <ul class="fr-btns-group fr-btns-group--inline">
        <li>${button('Enregistrer la modification', { id: 'change' })}</li>
        <li>${linkButton('Retour', '/console/disponibilite', 'secondary')}</li>
      </ul>`, 'Modifier la maintenance')}`;
}
