import { isValidSiret, luhn } from './siret';

describe('SIRET validation', () => {
  it.each(['21690123100011', '73282932000074', '35600000000048'])('accepts %s', (siret) => {
    expect(isValidSiret(siret)).toBe(true);
  });

  it("accepts La Poste's establishments, whose SIRETs follow the digit-sum rule", () => {
    const siret = '35600000012346'; // digits sum to 30; the Luhn check fails
    expect(luhn(siret)).toBe(false);
    expect(isValidSiret(siret)).toBe(true);
  });

  it.each([
    ['a wrong check digit', '21690123100012'],
    ['13 digits', '2169012310001'],
    ['15 digits', '216901231000110'],
    ['letters', '2169012310001A'],
    ['spaces', '216 901 231 00011'],
    ['an empty string', ''],
  ])('refuses %s', (_, siret) => {
    expect(isValidSiret(siret)).toBe(false);
  });

  it('refuses non-strings', () => {
    expect(isValidSiret(21690123100011)).toBe(false);
    expect(isValidSiret(null)).toBe(false);
  });
});
