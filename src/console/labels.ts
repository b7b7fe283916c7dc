import type { Tone } from './components';

/** The words the console uses for the contract's codes. */
export const SCOPE_LABELS: Record<string, string> = {
  'droits.ouverture': 'Ouverture des droits', 'droits.caisse': 'Caisse de rattachement', 'droits.c2s': 'Complémentaire santé solidaire',
  'droits.identite': 'Identité', 'droits.exonerations': 'Exonérations', 'droits.medecin_traitant': 'Médecin traitant',
};

export const ORGANISATION_TYPE_LABELS: Record<string, string> = {
  caf: "Caisse d'allocations familiales", departement: 'Département', commune: 'Commune', ccas: "Centre communal d'action sociale",
  etat: "Service de l'État", autre: 'Autre',
};

export const REQUEST_STATUS: Record<string, [Tone | 'neutral', string]> = {
  pending: ['new', 'À examiner'], approved: ['success', 'Approuvée'], rejected: ['error', 'Rejetée'],
  changes_requested: ['warning', 'Modifications demandées'],
};

export const PARTNER_STATUS: Record<string, [Tone | 'neutral', string]> = {
  active: ['success', 'Actif'], suspended: ['warning', 'Suspendu'], revoked: ['error', 'Révoqué'], left: ['neutral', 'Parti'],
};

export const CAUSE_LABELS: Record<string, string> = {
  upstream_down: 'Service de la CNAM injoignable', upstream_errors: 'Erreurs du service de la CNAM', gateway_errors: 'Erreurs de la passerelle',
  no_data: 'Passerelle arrêtée (aucune mesure)', maintenance: 'Maintenance annoncée',
};

export const scopeList = (scopes: readonly string[]) => scopes.map((scope) => SCOPE_LABELS[scope] ?? scope).join(', ');
