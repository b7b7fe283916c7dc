import type { FastifyRequest } from 'fastify';
import { FieldError, OAuthError, ValidationFailed } from '../errors/domain-errors';

/** Deeper than any body of the contract (the lookup's identite.prenoms is three levels). */
export const MAX_DEPTH = 16;
// With the u flag, a surrogate code unit matches only when it is not half of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The first value of a parsed body, query or header value that no route accepts: a NUL character (PostgreSQL
 * refuses it in text: the request would fail with a 500), a lone UTF-16 surrogate (not Unicode text: stored as
 * U+FFFD, or a URIError in a library), or nesting deeper than MAX_DEPTH (class-transformer recurses without bound).
 * Keys are checked as values are.
 */
export function findUnsafeValue(value: unknown, path = '', depth = 0): FieldError | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { field: path, reason: 'must not contain a NUL character' };
    if (LONE_SURROGATE.test(value)) return { field: path, reason: 'must be valid Unicode text (it holds a lone surrogate)' };
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return { field: path, reason: `must not nest deeper than ${MAX_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeValue(value[i], path ? `${path}.${i}` : String(i), depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const field = path ? `${path}.${key}` : key;
    const unsafeKey = findUnsafeValue(key, field, depth + 1);
    if (unsafeKey) return { field: path, reason: `has a key that ${unsafeKey.reason}` };
    const found = findUnsafeValue((value as Record<string, unknown>)[key], field, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The one entry point every request passes (a preValidation hook): refuses a body, query string or route parameter
 * holding a value of findUnsafeValue, with a 400 naming the field (OAuth's invalid_request on the token endpoint),
 * before any route, validator or query sees it.
 */
export function refuseUnsafeInput(request: FastifyRequest, oauthRoute: boolean): void {
  const found = findUnsafeValue(request.body);
  if (found) refuse(found.field, found.reason, oauthRoute);
  for (const where of ['query', 'params'] as const) {
    const inUrl = findUnsafeValue(request[where]);
    if (inUrl) refuse(`${where}${inUrl.field ? `.${inUrl.field}` : ''}`, inUrl.reason, oauthRoute);
  }
}

function refuse(field: string, reason: string, oauthRoute: boolean): never {
  if (oauthRoute) throw new OAuthError('invalid_request', `${field || 'the body'} ${reason}.`);
  throw new ValidationFailed([{ field, reason }]);
}
