/**
 * What the gateway accepts from the upstream rights backend. Its answer is checked field by field before
 * any use: an answer that breaks this shape is an upstream error, never passed on (OWASP API10).
 */
export interface UpstreamPeriod {
  debut: string;
  fin: string | null;
}

export interface UpstreamRecord {
  nir: string;
  identite: {
    nom_famille: string;
    nom_usage: string | null;
    prenoms: string[];
    date_naissance: string;
    rang_naissance: number;
    sexe: 'F' | 'M';
    qualite: string;
  };
  caisse: { grand_regime: string; code_caisse: string; code_centre: string; libelle: string };
  periodes_droits: UpstreamPeriod[];
  c2s: { est_beneficiaire: boolean; avec_participation: boolean; date_debut: string | null };
  exonerations: { motif: string; debut: string; fin: string | null }[];
  medecin_traitant: { declare: boolean; debut: string | null };
}

export class MalformedUpstreamAnswer extends Error {
  constructor(readonly path: string) {
    super(`upstream answer is malformed at ${path}`);
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const SHORT = 200;

type Json = Record<string, unknown>;

function object(value: unknown, path: string): Json {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new MalformedUpstreamAnswer(path);
  return value as Json;
}
function string(value: unknown, path: string, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.length > SHORT || (pattern && !pattern.test(value))) throw new MalformedUpstreamAnswer(path);
  return value;
}
function nullableString(value: unknown, path: string, pattern?: RegExp): string | null {
  return value === null ? null : string(value, path, pattern);
}
function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new MalformedUpstreamAnswer(path);
  return value;
}
function array(value: unknown, path: string, max = 100): unknown[] {
  if (!Array.isArray(value) || value.length > max) throw new MalformedUpstreamAnswer(path);
  return value;
}

/** Checks and copies the upstream record: only the expected fields, with the expected types, are kept. */
export function parseUpstreamRecord(json: unknown): UpstreamRecord {
  const root = object(json, '$');
  const identite = object(root.identite, 'identite');
  const caisse = object(root.caisse, 'caisse');
  const c2s = object(root.c2s, 'c2s');
  const medecin = object(root.medecin_traitant, 'medecin_traitant');
  const sexe = string(identite.sexe, 'identite.sexe');
  if (sexe !== 'F' && sexe !== 'M') throw new MalformedUpstreamAnswer('identite.sexe');
  const rang = identite.rang_naissance;
  if (typeof rang !== 'number' || !Number.isInteger(rang) || rang < 1 || rang > 999) throw new MalformedUpstreamAnswer('identite.rang_naissance');
  return {
    nir: string(root.nir, 'nir', /^[0-9]{5}[0-9AB]{2}[0-9]{8}$/),
    identite: {
      nom_famille: string(identite.nom_famille, 'identite.nom_famille'),
      nom_usage: nullableString(identite.nom_usage ?? null, 'identite.nom_usage'),
      prenoms: array(identite.prenoms, 'identite.prenoms', 10).map((p, i) => string(p, `identite.prenoms.${i}`)),
      date_naissance: string(identite.date_naissance, 'identite.date_naissance', DATE),
      rang_naissance: rang,
      sexe,
      qualite: string(identite.qualite, 'identite.qualite'),
    },
    caisse: {
      grand_regime: string(caisse.grand_regime, 'caisse.grand_regime'),
      code_caisse: string(caisse.code_caisse, 'caisse.code_caisse'),
      code_centre: string(caisse.code_centre, 'caisse.code_centre'),
      libelle: string(caisse.libelle, 'caisse.libelle'),
    },
    periodes_droits: array(root.periodes_droits, 'periodes_droits').map((p, i) => {
      const period = object(p, `periodes_droits.${i}`);
      return { debut: string(period.debut, `periodes_droits.${i}.debut`, DATE),
        fin: nullableString(period.fin ?? null, `periodes_droits.${i}.fin`, DATE) };
    }),
    c2s: {
      est_beneficiaire: boolean(c2s.est_beneficiaire, 'c2s.est_beneficiaire'),
      avec_participation: boolean(c2s.avec_participation, 'c2s.avec_participation'),
      date_debut: nullableString(c2s.date_debut ?? null, 'c2s.date_debut', DATE),
    },
    exonerations: array(root.exonerations, 'exonerations').map((e, i) => {
      const exoneration = object(e, `exonerations.${i}`);
      return { motif: string(exoneration.motif, `exonerations.${i}.motif`, /^[A-Z0-9]{1,10}$/),
        debut: string(exoneration.debut, `exonerations.${i}.debut`, DATE),
        fin: nullableString(exoneration.fin ?? null, `exonerations.${i}.fin`, DATE) };
    }),
    medecin_traitant: {
      declare: boolean(medecin.declare, 'medecin_traitant.declare'),
      debut: nullableString(medecin.debut ?? null, 'medecin_traitant.debut', DATE),
    },
  };
}
