import { csvField } from './csv';

describe('csvField', () => {
  it('quotes fields with commas, quotes or line breaks, and writes nothing for null', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('dit "non"')).toBe('"dit ""non"""');
    expect(csvField('deux\nlignes')).toBe('"deux\nlignes"');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
  });

  it('defuses a text a spreadsheet would run as a formula, but leaves numbers and JSON of objects as they are', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('-cmd')).toBe("'-cmd");
    expect(csvField(-5)).toBe('-5');
    expect(csvField(0.951)).toBe('0.951');
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
  });
});
