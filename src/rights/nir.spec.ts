import { checkNir, nirKey, normaliseNir, withKey } from './nir';

describe('NIR', () => {
  it.each(['284057505612387', '171122A00400106', '192036912304577', '299011305520042'])('accepts the reference NIR %s', (nir) => {
    expect(checkNir(nir)).toBeUndefined();
  });

  it('computes the key with 2A as 19 and 2B as 18', () => {
    expect(nirKey('171122A004001')).toBe(97 - Number(1711219004001n % 97n));
    expect(nirKey('180012B123456')).toBe(97 - Number(1800118123456n % 97n));
    expect(checkNir(withKey('180012B123456'))).toBeUndefined();
  });

  it('refuses a wrong key', () => {
    expect(checkNir('284057505612388')).toBe('key');
    expect(checkNir('171122A00400107')).toBe('key');
  });

  it.each([
    ['16 digits', '2840575056123870'],
    ['14 digits', '28405750561238'],
    ['letters', '28405750561238A'],
    ['2C', '171122C00400106'],
    ['a sex digit of 5', '584057505612387'],
  ])('refuses %s as malformed', (_, nir) => {
    expect(checkNir(nir)).toBe('format');
  });

  it('normalises spaces, dots, dashes and lower-case Corsican départements', () => {
    expect(normaliseNir('2 84 05 75 056 123 87')).toBe('284057505612387');
    expect(normaliseNir('1.71.12.2a.004.001-06')).toBe('171122A00400106');
  });
});
