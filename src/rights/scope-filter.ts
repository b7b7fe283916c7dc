import { CATEGORY_OF_SCOPE, Droits } from './droits';
import { isScope } from './scopes';

/**
 * Keeps exactly the categories the partner may receive: those of `scopes` (already granted ∩ token).
 * Built from the allowed keys, never by deleting others, so a new category can never leak by default.
 */
export function filterByScopes(droits: Droits, scopes: readonly string[]): Partial<Droits> {
  const result: Partial<Droits> = {};
  for (const scope of scopes) {
    if (!isScope(scope)) continue;
    const category = CATEGORY_OF_SCOPE[scope];
    (result as Record<string, unknown>)[category] = droits[category];
  }
  return result;
}
