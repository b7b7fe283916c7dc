/**
 * A PostgreSQL array literal ('{a,b,NULL}') for a parameter cast to an array type. The driver's own conversion
 * escapes every element with a regular expression; this quotes only the elements that need it (the sealer's
 * thousands of hex hashes and ids per batch need none).
 */
export function arrayLiteral(values: readonly unknown[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    let text: string;
    if (value === null || value === undefined) text = 'NULL';
    else {
      text = String(value);
      if (!/^[0-9A-Za-z._-]+$/.test(text) || /^null$/i.test(text)) text = `"${text.replace(/[\\"]/g, '\\$&')}"`;
    }
    out += i === 0 ? text : `,${text}`;
  }
  return `${out}}`;
}
