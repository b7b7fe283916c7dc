import { arrayLiteral } from './array-literal';

describe('arrayLiteral', () => {
  it('leaves plain tokens bare and writes NULL for null and undefined', () => {
    expect(arrayLiteral(['12', 34, 'ab-cd.ef_0', null, undefined])).toBe('{12,34,ab-cd.ef_0,NULL,NULL}');
  });

  it('quotes and escapes what would change the meaning of the literal', () => {
    expect(arrayLiteral(['a b', 'x,y', '{z}', 'say "hi"', 'back\\slash', '', 'NULL', 'null'])).toBe(
      '{"a b","x,y","{z}","say \\"hi\\"","back\\\\slash","","NULL","null"}');
  });

  it('is an empty array for no values', () => {
    expect(arrayLiteral([])).toBe('{}');
  });
});
