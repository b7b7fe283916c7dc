import type { Scope } from './scopes';
import type { UpstreamRecord } from './upstream-record';

/** The gateway's own response model (DESIGN §3.2): one key per data category. */
export interface Droits {
  ouverture: { ouverts: boolean; periodes: { debut: string; fin: string | null }[] };
  caisse: { grand_regime: string; code_caisse: string; code_centre: string; libelle: string };
  c2s: { est_beneficiaire: boolean; avec_participation: boolean; date_debut: string | null };
  identite: { nom_famille: string; nom_usage: string | null; prenoms: string[]; date_naissance: string;
    rang_naissance: number; qualite: string };
  exonerations: { motif: string; debut: string; fin: string | null }[];
  medecin_traitant: { declare: boolean; debut: string | null };
}

/** Which response key each scope opens. */
export const CATEGORY_OF_SCOPE: Record<Scope, keyof Droits> = {
  'droits.ouverture': 'ouverture',
  'droits.caisse': 'caisse',
  'droits.c2s': 'c2s',
  'droits.identite': 'identite',
  'droits.exonerations': 'exonerations',
  'droits.medecin_traitant': 'medecin_traitant',
};

const inForce = (period: { debut: string; fin: string | null }, date: string) =>
  period.debut <= date && (period.fin === null || period.fin >= date);

/**
 * Maps the upstream record into the gateway's model, as of the reference date (anti-corruption layer):
 * rights are open when a period covers that date; exonerations are those in force then.
 */
export function mapToDroits(record: UpstreamRecord, dateReference: string): Droits {
  const { sexe: _sexe, ...identite } = record.identite;
  return {
    ouverture: {
      ouverts: record.periodes_droits.some((period) => inForce(period, dateReference)),
      periodes: record.periodes_droits.map((period) => ({ debut: period.debut, fin: period.fin })),
    },
    caisse: { ...record.caisse },
    c2s: { ...record.c2s },
    identite: { ...identite, prenoms: [...identite.prenoms] },
    exonerations: record.exonerations.filter((exoneration) => inForce(exoneration, dateReference)).map((e) => ({ ...e })),
    medecin_traitant: { ...record.medecin_traitant },
  };
}
