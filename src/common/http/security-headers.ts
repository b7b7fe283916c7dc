import helmet, { HelmetOptions } from 'helmet';

/**
 * The headers helmet sets for these options, computed once by running helmet itself against a response that only
 * records them. Helmet stays the source of what to send; the request path then sets a ready object (one call per
 * answer) instead of running helmet's middleware per request, which cost about a tenth of the lookup's
 * throughput (docs/decisions.md). Only for options that do not depend on the request (no CSP nonce).
 */
export function securityHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
    getHeader: (name: string) => headers[name.toLowerCase()],
  };
  let failure: unknown;
  helmet(options)({ headers: {} } as never, recorder as never, (error?: unknown) => (failure = error));
  if (failure) throw failure;
  return Object.freeze(headers);
}

/** What every answer carries: no sniffing, HTTPS only (HSTS), no framing, no referrer. Pages add their own CSP. */
export const SECURITY_HEADERS = securityHeaders({
  contentSecurityPolicy: false, crossOriginEmbedderPolicy: false, frameguard: { action: 'deny' },
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
});
