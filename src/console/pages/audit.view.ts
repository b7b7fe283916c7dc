import type { Anchor } from '../../audit/audit.repository';
import type { StoredVerification } from '../../audit/scheduled-verification';
import type { Partner } from '../../partners/partners.repository';
import { alert, badge, button, details, form, input, select, table } from '../components';
import { frenchDateTime, parisDayStart } from '../dates';
import { html, Html } from '../html';

export interface AuditFilters {
  partner?: string;
  agent?: string;
  from?: string;
  to?: string;
}

export interface AuditResults {
  entries: Record<string, unknown>[];
  next: string | null;
  subjectRef?: string;
}

interface AuditView {
  partners: Partner[];
  csrf: string;
  filters?: AuditFilters;
  errors?: Record<string, string>;
  results?: AuditResults;
  verification?: { ok: boolean; checked: number; checkpoints_checked: number; first_bad_seq?: number; problem?: string };
  checkpoint?: { seq: number | string; hash: string; at: string | Date; key_id: string; public_key?: string } | null;
  /** The Paris days a verification covered, when it was of a period. */
  verifiedPeriod?: AuditFilters;
  /** The latest verification of the whole trail, on schedule or asked for (any instance's), and their period (0: none). */
  scheduled?: StoredVerification;
  /** Whether one is running now, on any instance. */
  verifying?: boolean;
  verifyEveryHours: number;
  /** When the next scheduled run starts ('due': within ten minutes; undefined: none scheduled). */
  nextScheduled?: Date | 'due';
  /** The retention period the purge applies, and what the latest purge removed. */
  retention?: { months: number; lastPurge?: Anchor };
}

/** "1 entrée vérifiée", "12 345 entrées vérifiées" (French puts 0 and 1 in the singular). */
function count(n: number, one: string, many: string): string {
  return `${n.toLocaleString('fr-FR')} ${n > 1 ? many : one}`;
}

/** "du 1 novembre 2026 au 30 novembre 2026 inclus" for the days a period covers. */
function period(days: AuditFilters): string {
  const day = (value: string) => new Date(`${value}T12:00:00Z`).toLocaleDateString('fr-FR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  return [days.from ? `du ${day(days.from)}` : 'depuis le début', days.to ? `au ${day(days.to)} inclus` : "jusqu'à maintenant"].join(' ');
}

/**
 * Query string of an export: the filters an export supports (partner and dates), never a NIR; the dates as the
 * search reads them (Paris days, "to" included).
 */
function exportLink(format: 'ndjson' | 'csv', filters: AuditFilters): string {
  const query = new URLSearchParams({ format });
  if (filters.partner) query.set('partner', filters.partner);
  const from = parisDayStart(filters.from);
  const to = parisDayStart(filters.to, true);
  if (from) query.set('from', from);
  if (to) query.set('to', to);
  return `/admin/api/audit/export?${query}`;
}

/** What the latest verification of the whole trail found (on schedule or asked for), and whether one is running. */
function wholeChainView(latest: StoredVerification | undefined, everyHours: number, verifying: boolean, next: Date | 'due' | undefined): Html {
  const nextRun = next === undefined ? '' : next === 'due' ? ' (la prochaine dans les dix minutes)'
    : ` (la prochaine le ${frenchDateTime(next)})`;
  const every = everyHours === 0 ? 'La vérification automatique est désactivée (AUDIT_VERIFY_EVERY_HOURS=0).'
    : `La passerelle vérifie d'elle-même toute la chaîne ${everyHours === 24 ? 'chaque nuit' : `toutes les ${everyHours} heures`}${nextRun}.`;
  const running = verifying ? alert('info', 'Vérification de toute la chaîne en cours',
    'Son résultat s\'affichera sur cette page quand elle sera terminée : rechargez-la dans quelques instants.') : '';
  if (!latest) return html`<div id="scheduled-verification">${running}<p>${every} Aucune vérification de toute la chaîne n'a encore eu lieu.</p></div>`;
  const when = `le ${frenchDateTime(latest.finished_at)} (${latest.requested_by ? 'demandée depuis la console' : 'automatique'})`;
  return html`<div id="scheduled-verification">${running}${latest.ok
    ? alert('info', `Dernière vérification de toute la chaîne ${when} : chaîne intacte`,
      `${count(latest.checked, 'entrée vérifiée', 'entrées vérifiées')}, ${count(latest.checkpoints_checked, 'point de contrôle vérifié', 'points de contrôle vérifiés')}. ${every}`)
    : alert('error', `Dernière vérification de toute la chaîne ${when} : la chaîne est rompue`,
      `Première entrée en défaut : ${latest.first_bad_seq === null ? 'inconnue' : `n° ${latest.first_bad_seq}`}${latest.problem ? ` (${latest.problem})` : ''}. `
      + `Suivez la procédure de docs/audit.md (« Scheduled verification »). ${every}`)}</div>`;
}

/** How long the trail keeps entries, and what the latest purge removed (the chain kept starts from its anchor). */
function retentionView(retention: { months: number; lastPurge?: Anchor }): Html {
  const purge = retention.lastPurge;
  return html`<div id="retention"><p>Les entrées sont conservées ${retention.months} mois. Chaque heure, celles qui ont dépassé cette
      durée sont supprimées par segments scellés entiers (la suppression attend la fin des vérifications et des exports en cours).
      Le point de contrôle signé qui clôt le dernier segment supprimé reste : la chaîne conservée part de lui, et les exports le portent.</p>
    ${purge ? details([
      ['Dernière suppression', frenchDateTime(purge.purged_at)],
      ['Entrées supprimées', `n° ${purge.from_seq} à ${purge.seq} (${count(purge.entries, 'entrée', 'entrées')})`],
      ["Point d'ancrage", html`point de contrôle n° ${String(purge.seq)} signé le ${frenchDateTime(purge.at)}, empreinte <code>${purge.hash}</code>`],
    ]) : html`<p>Aucune entrée n'a encore atteint cette durée : le journal est complet depuis sa première entrée.</p>`}</div>`;
}

export function auditView(view: AuditView): Html {
  const filters = view.filters ?? {};
  const errors = view.errors ?? {};
  const names = new Map(view.partners.map((p) => [p.id, p.name]));
  const partnerOptions = [{ value: '', label: 'Tous les partenaires' }, ...view.partners.map((p) => ({ value: p.id, label: p.name }))];
  const hidden = (name: string, value: string | undefined) => (value ? html`<input type="hidden" name="${name}" value="${value}">` : '');
  return html`<h1>Journal d'accès</h1>
    <p>Chaque recherche, export et vérification est elle-même tracée dans le journal. Le NIR saisi est pseudonymisé par la
      passerelle avant la recherche ; il n'est ni conservé, ni réaffiché.</p>
    ${Object.keys(errors).length ? alert('error', 'La recherche contient des champs incorrects', 'Corrigez les champs signalés.') : ''}
    ${form('/console/audit', view.csrf, html`
      <div class="fr-grid-row fr-grid-row--gutters">
        <div class="fr-col-12 fr-col-md-6">${select('partner', 'Partenaire', partnerOptions, filters.partner)}</div>
        <div class="fr-col-12 fr-col-md-6">${input({ name: 'agent', label: 'Agent', hint: "Identifiant de l'agent dans le système du partenaire", value: filters.agent, error: errors.agent })}</div>
        <div class="fr-col-12 fr-col-md-4">${input({ name: 'nir', label: 'NIR de la personne', hint: '15 caractères, clé comprise ; jamais réaffiché', autocomplete: 'off', error: errors.subject_nir })}</div>
        <div class="fr-col-12 fr-col-md-4">${input({ name: 'from', label: 'Du', type: 'date', value: filters.from, error: errors.from })}</div>
        <div class="fr-col-12 fr-col-md-4">${input({ name: 'to', label: 'Au (inclus)', type: 'date', value: filters.to, error: errors.to })}</div>
      </div>
      <div class="fr-mt-2w">${button('Rechercher', { id: 'search' })}</div>`, 'Rechercher dans le journal')}
    ${view.results ? resultsView(view.results, names, view.csrf, filters) : ''}
    <h2 class="fr-mt-6w">Exporter</h2>
    <p>Export du journal scellé avec les champs de la chaîne (hash, seq) et les points de contrôle signés, vérifiable hors ligne avec
      <code>npm run cli -- audit:verify</code>. Il reprend le partenaire et les dates choisis ci-dessus. Sa dernière ligne
      compte ce qu'il contient : un fichier coupé en route (téléchargement interrompu) ne passe pas la vérification,
      exportez-le à nouveau. Le CSV, fait pour la lecture, ne se vérifie pas.</p>
    <ul class="fr-btns-group fr-btns-group--inline">
      <li><a class="fr-btn fr-btn--secondary" href="${exportLink('ndjson', filters)}" download>Exporter en NDJSON</a></li>
      <li><a class="fr-btn fr-btn--secondary" href="${exportLink('csv', filters)}" download>Exporter en CSV</a></li>
    </ul>
    <h2 class="fr-mt-6w">Vérifier la chaîne</h2>
    ${wholeChainView(view.scheduled, view.verifyEveryHours, view.verifying ?? false, view.nextScheduled)}
    ${view.verification ? (view.verification.ok
      ? alert('success', view.verifiedPeriod ? `La chaîne est intacte sur la période (${period(view.verifiedPeriod)})` : 'La chaîne est intacte',
        `${count(view.verification.checked, 'entrée vérifiée', 'entrées vérifiées')}, ${count(view.verification.checkpoints_checked, 'point de contrôle vérifié', 'points de contrôle vérifiés')}.`)
      : alert('error', 'La chaîne est rompue', `Première entrée en défaut : ${view.verification.first_bad_seq ?? 'inconnue'}. ${view.verification.problem ?? ''}`)) : ''}
    ${view.checkpoint ? html`<h3>Dernier point de contrôle signé</h3>${details([
      ['Numéro de séquence', String(view.checkpoint.seq)], ['Empreinte', html`<code>${view.checkpoint.hash}</code>`],
      ['Signé le', frenchDateTime(view.checkpoint.at)], ['Clé', html`<code>${view.checkpoint.key_id}</code>`],
    ])}` : view.verification ? html`<p>Aucun point de contrôle signé pour l'instant.</p>` : ''}
    ${filters.from || filters.to ? form('/console/audit/verifier', view.csrf, html`${hidden('from', filters.from)}${hidden('to', filters.to)}
      ${button(`Vérifier la période choisie (${period(filters)})`, { kind: 'secondary', id: 'verify-period' })}`, 'Vérifier la période choisie') : ''}
    ${form('/console/audit/verifier', view.csrf, button('Vérifier toute la chaîne', { kind: 'secondary', id: 'verify' }), 'Vérifier la chaîne')}
    ${view.retention ? html`<h2 class="fr-mt-6w">Conservation</h2>${retentionView(view.retention)}` : ''}
    <h2 class="fr-mt-6w">Copies chez les partenaires</h2>
    <p>Chaque jour, le dernier point de contrôle signé part aux contacts des partenaires actifs, qui en gardent ainsi une copie hors
      de la passerelle. Vous pouvez l'envoyer maintenant, par exemple après un incident.</p>
    ${form('/console/audit/diffuser', view.csrf, button('Envoyer le dernier point de contrôle aux partenaires', { kind: 'secondary', id: 'broadcast' }),
      'Envoyer le dernier point de contrôle')}`;

  function resultsView(results: AuditResults, partnerNames: Map<string, string>, csrf: string, current: AuditFilters): Html {
    return html`<h2 class="fr-mt-4w">Résultats</h2>
      ${results.subjectRef ? html`<p>${badge('info', 'Recherche par personne (NIR pseudonymisé)')}</p>` : ''}
      ${table(`Entrées du journal, les plus récentes d'abord : ${results.entries.length}${results.next ? ' (page suivante disponible)' : ''}`, [
        { label: 'Date', cell: (e) => frenchDateTime(e.occurred_at as string) },
        { label: 'Partenaire', cell: (e) => (e.partner_id ? partnerNames.get(e.partner_id as string) ?? (e.partner_id as string) : '—') },
        { label: 'Agent', cell: (e) => (e.agent as string | null) ?? '—' },
        { label: 'Dossier', cell: (e) => [(e.context as string | null) ?? '', (e.object as string | null) ?? ''].filter(Boolean).join(' — ') || '—' },
        { label: 'Type', cell: (e) => (e.kind === 'action' ? `action ${(e.action as string | null) ?? ''}` : e.kind as string) },
        { label: 'Résultat', cell: (e) => (e.outcome ? `${e.outcome as string} (${e.http_status as number})` : '—') },
        { label: 'Scellée', cell: (e) => (e.sealed ? `n° ${e.seq as number}` : 'pas encore') },
      ], results.entries, 'Aucune entrée ne correspond à cette recherche.')}
      ${results.next ? form('/console/audit', csrf, html`${hidden('partner', current.partner)}${hidden('agent', current.agent)}
        ${hidden('from', current.from)}${hidden('to', current.to)}${hidden('subject_ref', results.subjectRef)}${hidden('cursor', results.next)}
        ${button('Page suivante', { kind: 'secondary' })}`, 'Page suivante des résultats') : ''}`;
  }
}
