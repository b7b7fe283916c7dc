import { FIXED_PERSONS } from '../../simulator/persons';
import { CATEGORY_OF_SCOPE, mapToDroits } from './droits';
import { filterByScopes } from './scope-filter';
import { SCOPES } from './scopes';
import { parseUpstreamRecord } from './upstream-record';

const droits = mapToDroits(parseUpstreamRecord(FIXED_PERSONS[1]), '2026-11-23');

/** Every subset of the six scopes: 64 combinations. */
const combinations: string[][] = Array.from({ length: 1 << SCOPES.length }, (_, mask) =>
  SCOPES.filter((_, bit) => mask & (1 << bit)));

describe('filterByScopes', () => {
  it.each(combinations.map((scopes) => [scopes.join(' ') || '(none)', scopes]))(
    'returns exactly the categories of %s', (_, scopes) => {
      const filtered = filterByScopes(droits, scopes as string[]);
      const expected = (scopes as string[]).map((scope) => CATEGORY_OF_SCOPE[scope as keyof typeof CATEGORY_OF_SCOPE]).sort();
      expect(Object.keys(filtered).sort()).toEqual(expected);
      for (const category of expected) expect(filtered[category as keyof typeof filtered]).toEqual(droits[category as keyof typeof droits]);
    });

  it('ignores unknown scopes', () => {
    expect(filterByScopes(droits, ['droits.tout', 'nir', '__proto__', 'constructor'])).toEqual({});
  });

  it('never returns the NIR, whatever the scopes', () => {
    expect(JSON.stringify(filterByScopes(droits, [...SCOPES]))).not.toContain(FIXED_PERSONS[1].nir);
  });
});

describe('mapToDroits', () => {
  const martin = parseUpstreamRecord(FIXED_PERSONS[2]);

  it('says rights are open when a period covers the reference date', () => {
    expect(mapToDroits(martin, '2025-06-01').ouverture.ouverts).toBe(true);
    expect(mapToDroits(martin, '2025-12-31').ouverture.ouverts).toBe(true);
    expect(mapToDroits(martin, '2026-01-01').ouverture).toEqual({ ouverts: false, periodes: [{ debut: '2010-09-01', fin: '2025-12-31' }] });
  });

  it('keeps only the exonerations in force on the reference date', () => {
    const santoni = parseUpstreamRecord(FIXED_PERSONS[1]);
    expect(mapToDroits(santoni, '2026-11-23').exonerations).toEqual([{ motif: 'INV', debut: '2019-06-01', fin: null }]);
    expect(mapToDroits(santoni, '2018-01-01').exonerations).toEqual([]);
  });

  it('carries identity without sex or NIR', () => {
    const identite = mapToDroits(parseUpstreamRecord(FIXED_PERSONS[0]), '2026-11-23').identite;
    expect(identite).toEqual({ nom_famille: 'DUPONT', nom_usage: null, prenoms: ['Marie', 'Claire'], date_naissance: '1984-05-12',
      rang_naissance: 1, qualite: 'assure' });
  });
});

describe('parseUpstreamRecord', () => {
  it('accepts every fixed person of the simulator', () => {
    for (const person of FIXED_PERSONS) expect(parseUpstreamRecord(JSON.parse(JSON.stringify(person))).nir).toBe(person.nir);
  });

  it('drops fields it does not know', () => {
    const parsed = parseUpstreamRecord({ ...FIXED_PERSONS[0], adresse: '1 rue X', identite: { ...FIXED_PERSONS[0].identite, iban: 'FR76' } });
    expect(JSON.stringify(parsed)).not.toMatch(/adresse|iban/);
  });

  it.each([
    ['a scalar', 42, '$'],
    ['a NIR of the wrong type', { ...FIXED_PERSONS[0], nir: 12 }, 'nir'],
    ['a missing caisse', { ...FIXED_PERSONS[0], caisse: undefined }, 'caisse'],
    ['periods that are not a list', { ...FIXED_PERSONS[0], periodes_droits: null }, 'periodes_droits'],
    ['a malformed date', { ...FIXED_PERSONS[0], periodes_droits: [{ debut: '01/01/2020', fin: null }] }, 'periodes_droits.0.debut'],
    ['a boolean as a string', { ...FIXED_PERSONS[0], c2s: { ...FIXED_PERSONS[0].c2s, est_beneficiaire: 'oui' } }, 'c2s.est_beneficiaire'],
    ['a huge string', { ...FIXED_PERSONS[0], caisse: { ...FIXED_PERSONS[0].caisse, libelle: 'x'.repeat(10_000) } }, 'caisse.libelle'],
  ])('refuses %s, naming where', (_, json, path) => {
    expect(() => parseUpstreamRecord(json)).toThrow(expect.objectContaining({ path }));
  });
});
