/** The upstream's record of a person: every data category, as the CNAM rights backend returns it. */
export interface UpstreamRecord {
  nir: string;
  identite: {
    nom_famille: string;
    nom_usage: string | null;
    prenoms: string[];
    date_naissance: string;
    rang_naissance: number;
    sexe: 'F' | 'M';
    code_lieu_naissance: string;
    qualite: 'assure' | 'ayant_droit';
  };
  caisse: { grand_regime: string; code_caisse: string; code_centre: string; libelle: string };
  periodes_droits: { debut: string; fin: string | null }[];
  c2s: { est_beneficiaire: boolean; avec_participation: boolean; date_debut: string | null };
  exonerations: { motif: string; debut: string; fin: string | null }[];
  medecin_traitant: { declare: boolean; debut: string | null };
}

/** The persons DESIGN §7 promises are always there. 299011305520042 is deliberately absent (unknown → 404). */
export const FIXED_PERSONS: UpstreamRecord[] = [
  {
    nir: '284057505612387',
    identite: { nom_famille: 'DUPONT', nom_usage: null, prenoms: ['Marie', 'Claire'], date_naissance: '1984-05-12',
      rang_naissance: 1, sexe: 'F', code_lieu_naissance: '75056', qualite: 'assure' },
    caisse: { grand_regime: '01', code_caisse: '751', code_centre: '0000', libelle: 'CPAM de Paris' },
    periodes_droits: [{ debut: '2002-09-01', fin: null }],
    c2s: { est_beneficiaire: true, avec_participation: false, date_debut: '2025-04-01' },
    exonerations: [],
    medecin_traitant: { declare: true, debut: '2012-03-15' },
  },
  {
    nir: '171122A00400106',
    identite: { nom_famille: 'SANTONI', nom_usage: null, prenoms: ['Jean'], date_naissance: '1971-12-03',
      rang_naissance: 1, sexe: 'M', code_lieu_naissance: '2A004', qualite: 'assure' },
    caisse: { grand_regime: '02', code_caisse: '201', code_centre: '0000', libelle: 'MSA Corse' },
    periodes_droits: [{ debut: '1989-01-01', fin: null }],
    c2s: { est_beneficiaire: false, avec_participation: false, date_debut: null },
    exonerations: [{ motif: 'INV', debut: '2019-06-01', fin: null }],
    medecin_traitant: { declare: true, debut: '2008-01-10' },
  },
  {
    nir: '192036912304577',
    identite: { nom_famille: 'MARTIN', nom_usage: null, prenoms: ['Paul'], date_naissance: '1992-03-21',
      rang_naissance: 1, sexe: 'M', code_lieu_naissance: '69123', qualite: 'assure' },
    caisse: { grand_regime: '01', code_caisse: '691', code_centre: '0000', libelle: 'CPAM du Rhône' },
    periodes_droits: [{ debut: '2010-09-01', fin: '2025-12-31' }],
    c2s: { est_beneficiaire: false, avec_participation: false, date_debut: null },
    exonerations: [],
    medecin_traitant: { declare: false, debut: null },
  },
];
