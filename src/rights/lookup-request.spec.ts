import { ValidationFailed } from '../common/errors/domain-errors';
import { parisDate } from '../common/paris-date';
import { parseLookupRequest } from './lookup-request';

const TODAY = '2026-11-23';
const base = { recipient: '21690123100011', object: 'dossier 2026-001234', agent: 'agent-4711', context: 'RSA' };
const identite = { nom_naissance: 'DUPONT', prenoms: ['Marie', 'Claire'], date_naissance: '1984-05-12', sexe: 'F', code_lieu_naissance: '75056' };

function errorsOf(body: unknown): { field: string; reason: string }[] {
  try {
    parseLookupRequest(body, TODAY);
  } catch (error) {
    if (error instanceof ValidationFailed) return error.errors;
    throw error;
  }
  throw new Error('expected a ValidationFailed');
}

describe('parseLookupRequest', () => {
  it('accepts a NIR lookup and defaults the reference date to today', () => {
    expect(parseLookupRequest({ ...base, nir: '284057505612387' }, TODAY)).toEqual({
      subject: { nir: '284057505612387' }, dateReference: TODAY, recipient: base.recipient, context: 'RSA',
      object: base.object, agent: base.agent });
  });

  it('normalises a NIR typed with spaces and a lower-case Corsican département', () => {
    expect(parseLookupRequest({ ...base, nir: ' 1 71 12 2a 004 001 06 ' }, TODAY).subject).toEqual({ nir: '171122A00400106' });
  });

  it('accepts an identity lookup with accents, apostrophes and hyphens', () => {
    const request = parseLookupRequest({ ...base, identite: { ...identite, nom_naissance: "N'DIAYE-LE GALL", prenoms: ['Aïcha'] },
      date_reference: '2025-01-01' }, TODAY);
    expect(request.subject).toEqual({ identite: { ...identite, nom_naissance: "N'DIAYE-LE GALL", prenoms: ['Aïcha'] } });
    expect(request.dateReference).toBe('2025-01-01');
  });

  it.each([
    ['a wrong NIR key', { nir: '284057505612388' }, 'nir', /key/],
    ['a 16-digit NIR', { nir: '2840575056123870' }, 'nir', /13 characters/],
    ['a NIR as a number', { nir: 284057505612387 }, 'nir', /string/],
    ['both nir and identite', { nir: '284057505612387', identite }, 'nir', /not both/],
    ['neither nir nor identite', {}, 'nir', /required/],
    ['a name with digits', { identite: { ...identite, nom_naissance: 'DUP0NT' } }, 'identite.nom_naissance', /letters/],
    ['a first name with markup', { identite: { ...identite, prenoms: ['<b>'] } }, 'identite.prenoms.0', /letters/],
    ['an impossible birth date', { identite: { ...identite, date_naissance: '1984-02-30' } }, 'identite.date_naissance', /valid date/],
    ['a future birth date', { identite: { ...identite, date_naissance: '2030-01-01' } }, 'identite.date_naissance', /future/],
    ['an unknown sex', { identite: { ...identite, sexe: 'X' } }, 'identite.sexe', /F or M/],
    ['an unknown identity field', { identite: { ...identite, nir: 'x' } }, 'identite.nir', /unknown/],
    ['a future reference date', { nir: '284057505612387', date_reference: '2026-11-24' }, 'date_reference', /future/],
    ['an impossible reference date', { nir: '284057505612387', date_reference: '2026-13-01' }, 'date_reference', /valid date/],
    ['an object too long', { nir: '284057505612387', object: 'x'.repeat(101) }, 'object', /100/],
    ['a missing agent', { nir: '284057505612387', agent: undefined }, 'agent', /required/],
    ['a blank object', { nir: '284057505612387', object: '   ' }, 'object', /required/],
    ['a recipient that is not a SIRET', { nir: '284057505612387', recipient: '123' }, 'recipient', /SIRET/],
    ['an unknown field', { nir: '284057505612387', secu: true }, 'secu', /unknown/],
  ])('refuses %s', (_, change, field, reason) => {
    const errors = errorsOf({ ...base, ...change });
    expect(errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, reason: expect.stringMatching(reason) })]));
  });

  it('never echoes the NIR in its reasons', () => {
    const errors = errorsOf({ ...base, nir: '284057505612388' });
    expect(JSON.stringify(errors)).not.toContain('28405750561238');
  });

  it('refuses bodies that are not objects', () => {
    for (const body of [null, [], 'nir', 42]) expect(errorsOf(body)[0].field).toBe('');
  });
});

describe('parisDate', () => {
  it('gives the date in Europe/Paris, not UTC', () => {
    expect(parisDate(new Date('2026-11-22T23:30:00Z'))).toBe('2026-11-23');
    expect(parisDate(new Date('2026-07-01T21:59:00Z'))).toBe('2026-07-01');
    expect(parisDate(new Date('2026-07-01T22:00:00Z'))).toBe('2026-07-02');
  });
});
