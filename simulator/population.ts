import { withKey } from '../src/rights/nir';
import { FIXED_PERSONS, UpstreamRecord } from './persons';

/** A small, fast, seedable PRNG (mulberry32): the same seed always gives the same population. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SURNAMES = ['MARTIN', 'BERNARD', 'THOMAS', 'PETIT', 'ROBERT', 'RICHARD', 'DURAND', 'DUBOIS', 'MOREAU', 'LAURENT',
  'SIMON', 'MICHEL', 'LEFEBVRE', 'LEROY', 'ROUX', 'DAVID', 'BERTRAND', 'MOREL', 'FOURNIER', 'GIRARD', 'BONNET',
  'DUPONT', 'LAMBERT', 'FONTAINE', 'ROUSSEAU', 'VINCENT', 'MULLER', 'LEFEVRE', 'FAURE', 'ANDRE', 'MERCIER', 'BLANC',
  'GUERIN', 'BOYER', 'GARNIER', 'CHEVALIER', 'FRANCOIS', 'LEGRAND', 'GAUTHIER', 'GARCIA', 'PERRIN', 'ROBIN', 'CLEMENT',
  'MORIN', 'NICOLAS', 'HENRY', 'ROUSSEL', 'MATHIEU', 'GAUTIER', 'MASSON', "N'DIAYE", 'LE GALL', 'SANTONI', 'BENSAID',
  'NGUYEN', 'DA SILVA', 'HOARAU', 'PAYET', 'GRONDIN', 'ALBERTINI'];
const FEMALE = ['Marie', 'Nathalie', 'Isabelle', 'Sylvie', 'Catherine', 'Camille', 'Emma', 'Léa', 'Chloé', 'Inès',
  'Sarah', 'Julie', 'Manon', 'Fatima', 'Aïcha', 'Claire', 'Anne', 'Sophie', 'Louise', 'Jade'];
const MALE = ['Jean', 'Pierre', 'Michel', 'Philippe', 'Alain', 'Nicolas', 'Thomas', 'Lucas', 'Hugo', 'Louis',
  'Mohamed', 'Karim', 'Paul', 'Julien', 'Antoine', 'Gabriel', 'Arthur', 'Jules', 'Éric', 'François'];

/** Départements (with a CPAM code) weighted roughly by population. */
const DEPARTEMENTS: [string, string, string, number][] = [
  ['75', '751', 'CPAM de Paris', 10], ['13', '131', 'CPAM des Bouches-du-Rhône', 7], ['69', '691', 'CPAM du Rhône', 7],
  ['59', '594', 'CPAM de Lille-Douai', 9], ['33', '331', 'CPAM de la Gironde', 5], ['31', '311', 'CPAM de la Haute-Garonne', 5],
  ['44', '441', 'CPAM de Loire-Atlantique', 5], ['67', '671', 'CPAM du Bas-Rhin', 4], ['06', '061', 'CPAM des Alpes-Maritimes', 4],
  ['93', '931', 'CPAM de la Seine-Saint-Denis', 6], ['92', '921', 'CPAM des Hauts-de-Seine', 6], ['34', '341', "CPAM de l'Hérault", 4],
  ['2A', '201', 'CPAM de la Corse-du-Sud', 1], ['2B', '202', 'CPAM de la Haute-Corse', 1], ['35', '351', "CPAM d'Ille-et-Vilaine", 4],
  ['38', '381', "CPAM de l'Isère", 4], ['62', '623', "CPAM de l'Artois", 5], ['76', '764', 'CPAM de Rouen-Elbeuf-Dieppe', 4],
];
/** Grands régimes: régime général (01) for most, then MSA (02), and special schemes. */
const REGIMES: [string, string, number][] = [
  ['01', '', 880], ['02', 'MSA', 55], ['04', 'CPRP SNCF', 8], ['05', 'RATP', 3], ['06', 'ENIM', 3], ['08', 'CNMSS', 12],
  ['10', 'Banque de France', 1], ['90', 'CRPCEN', 2], ['91', 'MGEN', 36],
];
const EXONERATIONS = ['ALD', 'INV', 'MAT', 'AT', 'EXP'];

function pick<T>(rand: () => number, items: T[]): T {
  return items[Math.floor(rand() * items.length)];
}

function weighted<T extends unknown[]>(rand: () => number, items: T[]): T {
  const total = items.reduce((sum, item) => sum + (item[item.length - 1] as number), 0);
  let roll = rand() * total;
  for (const item of items) {
    roll -= item[item.length - 1] as number;
    if (roll < 0) return item;
  }
  return items[items.length - 1];
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');
const isoDate = (year: number, month: number, day: number) => `${year}-${pad(month, 2)}-${pad(day, 2)}`;

/** One generated person: a valid NIR consistent with sex, birth date and place, and plausible rights. */
function generatePerson(rand: () => number): UpstreamRecord {
  const sexe = rand() < 0.515 ? 'F' : 'M';
  const year = 1935 + Math.floor(rand() * 88);
  const month = 1 + Math.floor(rand() * 12);
  const day = 1 + Math.floor(rand() * 28);
  const [departement, codeCaisse, libelleCpam] = weighted(rand, DEPARTEMENTS);
  const commune = 1 + Math.floor(rand() * 600);
  const order = 1 + Math.floor(rand() * 999);
  const nir = withKey(`${sexe === 'F' ? 2 : 1}${pad(year % 100, 2)}${pad(month, 2)}${departement}${pad(commune, 3)}${pad(order, 3)}`);
  const [grandRegime, libelleRegime] = weighted(rand, REGIMES);
  const rightsStart = isoDate(Math.max(year + 18, 1990), 1 + Math.floor(rand() * 12), 1);
  const closed = rand() < 0.03;
  const c2s = rand() < 0.11;
  const exonerations = rand() < 0.18
    ? [{ motif: weighted(rand, EXONERATIONS.map((m, i) => [m, [60, 15, 5, 10, 10][i]] as [string, number]))[0],
      debut: isoDate(2015 + Math.floor(rand() * 10), 1 + Math.floor(rand() * 12), 1), fin: rand() < 0.3 ? '2026-12-31' : null }]
    : [];
  const medecin = rand() < 0.89;
  const nomUsage = sexe === 'F' && rand() < 0.3 ? pick(rand, SURNAMES) : null;
  return {
    nir,
    identite: {
      nom_famille: pick(rand, SURNAMES), nom_usage: nomUsage,
      prenoms: rand() < 0.6 ? [pick(rand, sexe === 'F' ? FEMALE : MALE), pick(rand, sexe === 'F' ? FEMALE : MALE)]
        : [pick(rand, sexe === 'F' ? FEMALE : MALE)],
      date_naissance: isoDate(year, month, day), rang_naissance: rand() < 0.02 ? 2 : 1, sexe,
      code_lieu_naissance: `${departement}${pad(commune, 3)}`, qualite: year > 2006 ? 'ayant_droit' : 'assure',
    },
    caisse: grandRegime === '01'
      ? { grand_regime: '01', code_caisse: codeCaisse, code_centre: '0000', libelle: libelleCpam }
      : { grand_regime: grandRegime, code_caisse: pad(100 + Math.floor(rand() * 800), 3), code_centre: '0000',
        libelle: `${libelleRegime} ${departement}` },
    periodes_droits: [{ debut: rightsStart, fin: closed ? isoDate(2020 + Math.floor(rand() * 6), 12, 31) : null }],
    c2s: { est_beneficiaire: c2s, avec_participation: c2s && rand() < 0.25,
      date_debut: c2s ? isoDate(2022 + Math.floor(rand() * 4), 1 + Math.floor(rand() * 12), 1) : null },
    exonerations,
    medecin_traitant: { declare: medecin, debut: medecin ? isoDate(2005 + Math.floor(rand() * 20), 1 + Math.floor(rand() * 12), 1) : null },
  };
}

/** NIRs that must stay unknown upstream (DESIGN §7). */
const ALWAYS_UNKNOWN = new Set(['299011305520042']);

export interface Population {
  byNir: Map<string, UpstreamRecord>;
  /** By `NOM|date_naissance|sexe`, for identity lookups. */
  byIdentity: Map<string, UpstreamRecord[]>;
  size: number;
}

export const identityKey = (nom: string, dateNaissance: string, sexe: string) =>
  `${nom.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toUpperCase()}|${dateNaissance}|${sexe}`;

/** The deterministic population: the fixed persons of DESIGN §7 plus `size` generated ones. */
export function generatePopulation(size: number, seed = 20261123): Population {
  const rand = random(seed);
  const byNir = new Map<string, UpstreamRecord>();
  for (const person of FIXED_PERSONS) byNir.set(person.nir, person);
  while (byNir.size < size + FIXED_PERSONS.length) {
    const person = generatePerson(rand);
    if (!byNir.has(person.nir) && !ALWAYS_UNKNOWN.has(person.nir)) byNir.set(person.nir, person);
  }
  const byIdentity = new Map<string, UpstreamRecord[]>();
  for (const person of byNir.values()) {
    const key = identityKey(person.identite.nom_famille, person.identite.date_naissance, person.identite.sexe);
    const list = byIdentity.get(key);
    if (list) list.push(person);
    else byIdentity.set(key, [person]);
  }
  return { byNir, byIdentity, size: byNir.size };
}
