import type { RecordedAction } from '../../audit/action-log';
import type { WebhookSummary } from '../../notifications/webhooks';
import type { Partner } from '../../partners/partners.repository';
import { alert, badge, button, details, form, input, linkButton, shownOnce, table } from '../components';
import { frenchDate, frenchDateTime } from '../dates';
import { html, Html } from '../html';
import { ORGANISATION_TYPE_LABELS, PARTNER_STATUS, scopeList } from '../labels';

export interface LifecycleAction {
  slug: 'suspendre' | 'reactiver' | 'revoquer' | 'secret';
  title: string;
  /** Which statuses it applies to (the service refuses the others with a 409 anyway). */
  from: string[];
  warning: string;
  confirm: string;
  done: string;
}

export const LIFECYCLE: LifecycleAction[] = [
  { slug: 'suspendre', title: 'Suspendre', from: ['active'], confirm: 'Suspendre le partenaire', done: 'partenaire suspendu.',
    warning: "Ses jetons cessent de fonctionner dans les 5 secondes et il ne peut plus en obtenir. La suspension est réversible." },
  { slug: 'reactiver', title: 'Réactiver', from: ['suspended'], confirm: 'Réactiver le partenaire', done: 'partenaire réactivé.',
    warning: 'Le partenaire peut de nouveau obtenir des jetons et consulter les droits.' },
  { slug: 'revoquer', title: 'Révoquer', from: ['active', 'suspended'], confirm: 'Révoquer définitivement', done: 'partenaire révoqué.',
    warning: "La révocation est définitive : ses identifiants ne fonctionneront plus jamais. Une nouvelle demande d'accès serait nécessaire." },
  { slug: 'secret', title: 'Renouveler le secret', from: ['active', 'suspended'], confirm: 'Générer un nouveau secret', done: 'nouveau secret généré.',
    warning: "Un nouveau secret est généré et affiché une seule fois. L'ancien reste valable pendant le délai de grâce, puis cesse de fonctionner." },
];

const status = (partner: Partner) => badge(...(PARTNER_STATUS[partner.status] ?? ['neutral', partner.status]));
const hours = (seconds: number) => (seconds % 3600 === 0 ? `${seconds / 3600} heure${seconds === 3600 ? '' : 's'}` : `${Math.round(seconds / 60)} minutes`);

export function partnerListView(rows: { partner: Partner; activity?: { calls: number; last_day: string } }[]): Html {
  return html`<h1>Partenaires</h1>
    ${table(`Partenaires : ${rows.length}`, [
      { label: 'Partenaire', cell: (r) => html`<a href="/console/partenaires/${r.partner.id}">${r.partner.name}</a>` },
      { label: 'SIRET', cell: (r) => r.partner.siret },
      { label: 'Statut', cell: (r) => status(r.partner) },
      { label: 'Catégories accordées', cell: (r) => scopeList(r.partner.scopes) },
      { label: 'Dernier appel', cell: (r) => (r.activity?.last_day ? frenchDate(`${r.activity.last_day}T12:00:00Z`) : 'jamais') },
      { label: 'Appels ce mois-ci', cell: (r) => (r.activity?.calls ?? 0).toLocaleString('fr-FR') },
    ], rows, "Aucun partenaire pour l'instant : ils apparaissent ici quand une demande d'accès est approuvée.")}`;
}

export function partnerDetailView(partner: Partner, terms: { current_version: string | null; accepted: boolean },
  actions: RecordedAction[], accesses: Record<string, unknown>[], graceSeconds: number, webhook: WebhookSummary | null): Html {
  const available = LIFECYCLE.filter((action) => action.from.includes(partner.status));
  const open = partner.status !== 'revoked' && partner.status !== 'left';
  return html`<h1>${partner.name}</h1>
    <p>${status(partner)}</p>
    ${partner.disengagement_effective_at ? alert('info', 'Départ annoncé',
      `Le partenaire a demandé à quitter le service le ${frenchDateTime(partner.disengagement_requested_at)} ; son départ prend effet le ${frenchDateTime(partner.disengagement_effective_at)}.`) : ''}
    ${details([
      ['SIRET', partner.siret], ["Type d'organisme", ORGANISATION_TYPE_LABELS[partner.organisation_type] ?? partner.organisation_type],
      ['Catégories accordées', scopeList(partner.scopes)], ['Destinataires (SIRET)', partner.recipients.join(', ')],
      ['Limite', `${partner.rate_limit_per_second} consultations par seconde`], ['Identifiant client', html`<code>${partner.client_id}</code>`],
      ['Statut depuis', `${frenchDateTime(partner.status_changed_at)}${partner.status_reason ? ` — ${partner.status_reason}` : ''}`],
      ["Conditions d'utilisation", terms.current_version ? `version ${terms.current_version} ${terms.accepted ? 'acceptée' : 'non acceptée'}` : '—'],
      ['Webhook', html`${webhook ? html`<code>${webhook.url}</code><br><span class="fr-text--sm">${webhookHealth(webhook)}</span>` : 'aucun enregistré'}
        ${open ? html` — <a href="/console/partenaires/${partner.id}/webhook">${webhook ? 'modifier' : 'enregistrer'}</a>` : ''}`],
      ['Partenaire depuis', frenchDateTime(partner.created_at)],
    ])}
    ${available.length > 0 ? html`<h2>Actions</h2>
      <ul class="fr-btns-group fr-btns-group--inline-md">
        ${available.map((action) => html`<li>${linkButton(action.title, `/console/partenaires/${partner.id}/${action.slug}`, action.slug === 'revoquer' ? 'tertiary' : 'secondary')}</li>`)}
      </ul>
      <p class="fr-text--sm">Un secret renouvelé laisse l'ancien valable ${hours(graceSeconds)}.</p>` : ''}
    <h2>Consultations récentes</h2>
    ${table('Les 10 dernières consultations du partenaire', [
      { label: 'Date', cell: (e) => frenchDateTime(e.occurred_at as string) },
      { label: 'Agent', cell: (e) => (e.agent as string | null) ?? '—' },
      { label: 'Contexte', cell: (e) => (e.context as string | null) ?? '—' },
      { label: 'Résultat', cell: (e) => `${e.outcome as string} (${e.http_status as number})` },
    ], accesses, "Aucune consultation pour l'instant.")}
    <h2>Historique</h2>
    ${table('Décisions et changements de statut', [
      { label: 'Date', cell: (a) => frenchDateTime(a.occurred_at) },
      { label: 'Action', cell: (a) => a.action },
      { label: 'Détail', cell: (a) => detailText(a.detail) },
    ], actions, 'Aucune action enregistrée.')}`;
}

function detailText(detail: Record<string, unknown> | null): string {
  if (!detail) return '—';
  return Object.entries(detail).filter(([key, value]) => key !== 'actor_type' && value !== null && value !== undefined)
    .map(([key, value]) => `${key} : ${Array.isArray(value) ? value.join(', ') : String(value)}`).join(' ; ') || '—';
}

export function confirmView(partner: Partner, action: LifecycleAction, csrf: string, errors: Record<string, string>, graceSeconds: number): Html {
  return html`<h1>${action.title} : ${partner.name}</h1>
    ${alert(action.slug === 'revoquer' ? 'error' : 'warning', 'Confirmez cette action', action.slug === 'secret'
      ? `${action.warning} Délai de grâce : ${hours(graceSeconds)}.` : action.warning)}
    ${form(`/console/partenaires/${partner.id}/${action.slug}`, csrf, html`
      ${action.slug === 'secret' ? '' : input({ name: 'reason', label: 'Motif (conservé dans le journal et communiqué au partenaire)', textarea: true,
        required: true, error: errors.reason })}
      <ul class="fr-btns-group fr-btns-group--inline">
        <li>${button(action.confirm, { id: 'confirm' })}</li>
        <li>${linkButton('Annuler', `/console/partenaires/${partner.id}`, 'secondary')}</li>
      </ul>`, action.title)}`;
}

export function rotatedView(partner: Partner, rotated: { client_id: string; client_secret: string; previous_secret_valid_until: Date }): Html {
  return html`<h1>Nouveau secret pour ${partner.name}</h1>
    ${shownOnce({ warning: `Transmettez-le maintenant au contact technique par un canal sûr. L'ancien secret reste valable jusqu'au ${frenchDateTime(rotated.previous_secret_valid_until)}.`,
      about: [['Identifiant client (client_id)', html`<code>${rotated.client_id}</code>`]], heading: 'Nouveau secret client', id: 'client-secret',
      secret: rotated.client_secret, back: ['Retour au partenaire', `/console/partenaires/${partner.id}`] })}`;
}

function webhookHealth(webhook: WebhookSummary): string {
  return [`enregistré le ${frenchDateTime(webhook.registered_at)}`,
    webhook.last_delivered_at ? `dernière livraison le ${frenchDateTime(webhook.last_delivered_at)}` : 'aucune livraison pour l\'instant',
    ...(webhook.pending ? [`${webhook.pending} en attente`] : []), ...(webhook.failed ? [`${webhook.failed} abandonné${webhook.failed > 1 ? 's' : ''}`] : []),
    ...(webhook.last_error ? [`dernière erreur : ${webhook.last_error}`] : [])].join(' ; ');
}

/** Registering (or replacing) a partner's webhook, and removing it (DESIGN §3.6). */
export function webhookFormView(partner: Partner, webhook: WebhookSummary | null, csrf: string, value: string | undefined, errors: Record<string, string>): Html {
  return html`<h1>Webhook : ${partner.name}</h1>
    <p>Chaque notification envoyée aux contacts du partenaire lui est aussi transmise par un <code>POST</code> JSON signé
      (en-tête <code>X-Signature-256</code>) à cette adresse. Elle doit être en <code>https://</code> et mener à une adresse publique.</p>
    ${webhook ? alert('info', 'Un webhook est déjà enregistré', `Adresse actuelle : ${webhook.url}. Enregistrer une adresse génère un nouveau secret : l'ancien cesse aussitôt de signer.`) : ''}
    ${form(`/console/partenaires/${partner.id}/webhook`, csrf, html`
      ${input({ name: 'url', label: 'Adresse du webhook', hint: 'Exemple : https://sif.caf-exemple.fr/webhooks/api-droits-cnam', value: value ?? webhook?.url,
        required: true, error: errors.url })}
      <ul class="fr-btns-group fr-btns-group--inline">
        <li>${button('Enregistrer et générer le secret', { id: 'confirm' })}</li>
        <li>${linkButton('Annuler', `/console/partenaires/${partner.id}`, 'secondary')}</li>
      </ul>`, 'Webhook')}
    ${webhook ? html`<h2>Supprimer le webhook</h2>
      <p>Les événements pas encore livrés sont abandonnés ; les contacts continuent de recevoir les courriels.</p>
      ${form(`/console/partenaires/${partner.id}/webhook/supprimer`, csrf, button('Supprimer le webhook', { kind: 'tertiary', id: 'remove-webhook' }), 'Supprimer le webhook')}` : ''}`;
}

export function webhookSecretView(partner: Partner, registered: { url: string; secret: string }): Html {
  return html`<h1>Webhook enregistré pour ${partner.name}</h1>
    ${shownOnce({ warning: 'Transmettez-le maintenant au contact technique par un canal sûr : il sert à vérifier la signature de chaque livraison.',
      about: [['Adresse', html`<code>${registered.url}</code>`]], heading: 'Secret de signature', id: 'webhook-secret', secret: registered.secret,
      back: ['Retour au partenaire', `/console/partenaires/${partner.id}`] })}`;
}
