import type { FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-errors';

export class UnsupportedMediaType extends DomainError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
  readonly title = 'Unsupported media type';
}

/** The token endpoint takes forms (RFC 6749); everything else takes JSON only. */
const FORM_ROUTES = new Set(['/oauth/token']);

/** The console's pages post HTML forms (and answer with pages, never problems). */
const isConsoleRoute = (request: FastifyRequest): boolean => (request.routeOptions?.url ?? '').startsWith('/console');

/** Whether the request is for a route that speaks OAuth's forms and errors (RFC 6749). */
export const isFormRoute = (request: FastifyRequest): boolean => FORM_ROUTES.has(request.routeOptions?.url ?? '');

/** Refuses a request body in any media type but JSON (and forms where OAuth requires them) with a 415. */
export function refuseUnexpectedMediaType(request: FastifyRequest): void {
  if (request.body === undefined && !request.headers['content-length'] && !request.headers['transfer-encoding']) return;
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return;
  if (type === 'application/x-www-form-urlencoded' && (FORM_ROUTES.has(request.routeOptions?.url ?? '') || isConsoleRoute(request))) return;
  if (request.body === undefined && request.headers['content-length'] === '0') return;
  throw new UnsupportedMediaType(FORM_ROUTES.has(request.routeOptions?.url ?? '')
    ? 'Send application/x-www-form-urlencoded (or application/json).'
    : 'Unsupported Content-Type; send application/json.');
}
