import { ORGANISATION_TYPES } from '../../partners/access-request.dto';
import { AccessRequest, AccessRequestMessage } from '../../partners/access-requests.repository';
import { SCOPES } from '../../rights/scopes';
import { alert, badge, button, checkboxes, details, form, input, linkButton, select, shownOnce, table } from '../components';
import { frenchDateTime } from '../dates';
import { html, Html } from '../html';
import { ORGANISATION_TYPE_LABELS, REQUEST_STATUS, SCOPE_LABELS, scopeList } from '../labels';

const FILTERS: [string, string][] = [['pending', 'À examiner'], ['changes_requested', 'Modifications demandées'], ['approved', 'Approuvées'],
  ['rejected', 'Rejetées'], ['toutes', 'Toutes']];

export function requestListView(requests: AccessRequest[], status: string, pages: Html): Html {
  return html`<h1>Demandes d'accès</h1>
    <form method="get" action="/console/demandes" class="fr-mb-3w" aria-label="Filtrer les demandes">
      <div class="fr-grid-row fr-grid-row--gutters fr-grid-row--bottom">
        <div class="fr-col-12 fr-col-md-4">${select('statut', 'Statut', FILTERS.map(([value, label]) => ({ value, label })), status)}</div>
        <div class="fr-col-12 fr-col-md-3">${button('Filtrer', { kind: 'secondary' })}</div>
      </div>
    </form>
    ${table(`Demandes d'accès (${FILTERS.find(([v]) => v === status)?.[1].toLowerCase() ?? status})`, [
      { label: 'Organisme', cell: (r) => html`<a href="/console/demandes/${r.id}">${r.organisation.name}</a>` },
      { label: 'SIRET', cell: (r) => r.organisation.siret },
      { label: 'Type', cell: (r) => ORGANISATION_TYPE_LABELS[r.organisation.type] ?? r.organisation.type },
      { label: 'Catégories demandées', cell: (r) => scopeList(r.scopes) },
      { label: 'Reçue le', cell: (r) => frenchDateTime(r.created_at) },
      { label: 'Statut', cell: (r) => badge(...(REQUEST_STATUS[r.status] ?? ['neutral', r.status])) },
    ], requests, status === 'pending' ? "Aucune demande d'accès n'attend d'examen." : 'Aucune demande dans cette liste.')}
    ${pages}`;
}

export function requestDetailView(request: AccessRequest, messages: AccessRequestMessage[], csrf: string,
  errors: { approve?: Record<string, string>; reject?: Record<string, string>; changes?: Record<string, string> },
  values: Record<string, unknown>, defaultRate: number): Html {
  const chosenScopes = (values.scopes as string[] | undefined) ?? request.scopes;
  return html`<h1>Demande de ${request.organisation.name}</h1>
    <p>${badge(...(REQUEST_STATUS[request.status] ?? ['neutral', request.status]))}</p>
    ${details([
      ['Organisme', request.organisation.name], ['SIRET', request.organisation.siret],
      ["Type d'organisme", ORGANISATION_TYPE_LABELS[request.organisation.type] ?? request.organisation.type],
      ['Contact', `${request.contact.name} <${request.contact.email}>`],
      ['Contact technique', `${request.technical_contact.name} <${request.technical_contact.email}>`],
      ['Base légale', request.legal_basis], ['Finalité', request.purpose],
      ['Catégories demandées', scopeList(request.scopes)], ['Destinataires (SIRET)', request.recipients.join(', ')],
      ['Durée de conservation', `${request.retention_months} mois`], ['Volume quotidien attendu', String(request.expected_daily_volume)],
      ["Version des conditions d'utilisation", request.terms_version], ['Reçue le', frenchDateTime(request.created_at)],
      ...(request.decided_at ? [['Décidée le', frenchDateTime(request.decided_at)] as [string, string], ['Note ou motif', request.decision_note ?? '']] as [string, string][] : []),
    ])}
    ${request.partner_id ? html`<p>${linkButton('Voir le partenaire', `/console/partenaires/${request.partner_id}`)}</p>` : ''}
    ${messages.length > 0 ? html`<h2>Échanges avec le demandeur</h2>
      ${table('Messages, du plus ancien au plus récent', [
        { label: 'Date', cell: (m) => frenchDateTime(m.created_at) },
        { label: 'De', cell: (m) => (m.author === 'operator' ? 'Opérateur DINSIC' : 'Demandeur') },
        { label: 'Message', cell: (m) => m.message },
      ], messages, '')}` : ''}
    ${request.status === 'pending' ? html`
    <div class="fr-grid-row fr-grid-row--gutters">
      <section class="fr-col-12 fr-col-lg-7" aria-labelledby="approve-title">
        <h2 id="approve-title">Approuver</h2>
        ${errors.approve ? alert('error', 'La demande n\'est pas approuvée', 'Corrigez les champs signalés.') : ''}
        ${form(`/console/demandes/${request.id}/approuver`, csrf, html`
          ${checkboxes('scopes', 'Catégories accordées (on peut en retirer, pas en ajouter)', SCOPES.filter((s) => request.scopes.includes(s))
            .map((scope) => ({ value: scope, label: SCOPE_LABELS[scope], checked: chosenScopes.includes(scope) })), errors.approve?.scopes)}
          ${input({ name: 'rateLimitPerSecond', label: 'Limite de consultations par seconde', type: 'number',
            value: String(values.rateLimitPerSecond ?? defaultRate), error: errors.approve?.rateLimitPerSecond })}
          ${select('organisationType', "Type d'organisme (pour les statistiques publiées)",
            ORGANISATION_TYPES.map((type) => ({ value: type, label: ORGANISATION_TYPE_LABELS[type] })), String(values.organisationType ?? request.organisation.type))}
          ${input({ name: 'note', label: 'Note (conservée avec la décision)', textarea: true, value: values.note as string | undefined, error: errors.approve?.note })}
          ${button('Approuver et créer les identifiants', { id: 'approve' })}`, 'Approuver la demande')}
      </section>
      <section class="fr-col-12 fr-col-lg-5" aria-labelledby="changes-title">
        <h2 id="changes-title">Demander des modifications</h2>
        ${form(`/console/demandes/${request.id}/modifications`, csrf, html`
          ${input({ name: 'message', label: 'Ce qu\'il faut modifier (communiqué au demandeur)', textarea: true, required: true, error: errors.changes?.message })}
          ${button('Demander des modifications', { kind: 'secondary' })}`, 'Demander des modifications')}
        <h2 id="reject-title" class="fr-mt-4w">Rejeter</h2>
        ${form(`/console/demandes/${request.id}/rejeter`, csrf, html`
          ${input({ name: 'reason', label: 'Motif du rejet (communiqué au demandeur)', textarea: true, required: true, error: errors.reject?.reason })}
          ${button('Rejeter la demande', { kind: 'secondary' })}`, 'Rejeter la demande')}
      </section>
    </div>` : ''}`;
}

export function approvedView(request: AccessRequest, approved: { partner: { id: string }; credentials: { client_id: string; client_secret: string } }): Html {
  return html`<h1>Demande de ${request.organisation.name} approuvée</h1>
    ${shownOnce({ warning: 'Transmettez-le maintenant au contact technique du partenaire par un canal sûr. La passerelle n\'en garde qu\'une empreinte : s\'il est perdu, il faudra en générer un nouveau.',
      about: [['Identifiant client (client_id)', html`<code id="client-id">${approved.credentials.client_id}</code>`]], heading: 'Secret client (client_secret)',
      id: 'client-secret', secret: approved.credentials.client_secret, back: ['Voir le partenaire', `/console/partenaires/${approved.partner.id}`] })}`;
}
