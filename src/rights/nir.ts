/**
 * The NIR (numéro d'inscription au répertoire, "numéro de sécurité sociale"): 13 characters then a 2-digit
 * key. Corsican départements put 2A/2B at positions 6-7; for the key they count as 19 and 18.
 */
const NIR_SHAPE = /^[1-478]\d{4}(?:\d{2}|2A|2B)\d{6}\d{2}$/;

/** Removes the spaces, dots and dashes people type in a NIR, and upper-cases 2a/2b. */
export function normaliseNir(value: string): string {
  return value.replace(/[\s.\-]/g, '').toUpperCase();
}

/** The key of a 13-character NIR body: 97 − (number mod 97), with 2A → 19 and 2B → 18. */
export function nirKey(body13: string): number {
  const numeric = body13.replace('2A', '19').replace('2B', '18');
  return 97 - Number(BigInt(numeric) % 97n);
}

export type NirProblem = 'format' | 'key';

/** Checks a normalised NIR: undefined when valid, else what is wrong. */
export function checkNir(nir: string): NirProblem | undefined {
  if (!NIR_SHAPE.test(nir)) return 'format';
  const body = nir.slice(0, 13);
  return nirKey(body) === Number(nir.slice(13)) ? undefined : 'key';
}

/** Appends the key to a 13-character body. */
export function withKey(body13: string): string {
  return body13 + String(nirKey(body13)).padStart(2, '0');
}
