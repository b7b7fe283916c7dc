/** The data categories a partner can be granted (DESIGN §3.2). A scope is the category's response key. */
export const SCOPES = [
  'droits.ouverture',
  'droits.caisse',
  'droits.c2s',
  'droits.identite',
  'droits.exonerations',
  'droits.medecin_traitant',
] as const;

export type Scope = (typeof SCOPES)[number];

const KNOWN = new Set<string>(SCOPES);

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && KNOWN.has(value);
}
