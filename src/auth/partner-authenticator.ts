import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Forbidden, Unauthenticated } from '../common/errors/domain-errors';
import { PartnerDirectory } from '../partners/partner-directory';
import type { PartnerPrincipal } from './access.decorators';
import { ProbeClient } from '../sla/probe-client';
import { TokenVerifier } from './token-verifier';

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}

/**
 * A partner's bearer token → the partner it acts for: token verified (signature once, then cached),
 * partner active in the directory (so a suspension applies within seconds), scopes granted ∩ token.
 */
@Injectable()
export class PartnerAuthenticator {
  constructor(private readonly verifier: TokenVerifier, private readonly directory: PartnerDirectory,
    private readonly probe: ProbeClient) {}

  /**
   * With `anyOfScopes`, at least one must be both granted and in the token (else 403 scope_not_granted). With
   * `acceptProbe` (the lookup route only), the availability probe's in-memory token is accepted too.
   */
  async authenticate(request: FastifyRequest, anyOfScopes: readonly string[], acceptProbe = false): Promise<PartnerPrincipal> {
    const token = bearerToken(request);
    if (!token) throw new Unauthenticated('token_missing', 'A bearer access token is required.');
    if (acceptProbe && this.probe.isProbeToken(token)) {
      const scopes = [...this.probe.access.scopes];
      return (request.partnerPrincipal = { partner: this.probe.access, tokenScopes: scopes, effectiveScopes: scopes, tokenId: 'probe', probe: true });
    }
    const claims = await this.verifier.verify(token);
    const partner = await this.directory.get(claims.partnerId);
    if (!partner) throw new Unauthenticated('invalid_token', 'The access token is invalid.');
    if (partner.status !== 'active') {
      throw new Unauthenticated('partner_inactive', `The partner is ${partner.status}; its tokens no longer work.`);
    }
    const effectiveScopes = claims.scopes.filter((scope) => partner.scopes.has(scope));
    const principal = { partner, tokenScopes: claims.scopes, effectiveScopes, tokenId: claims.tokenId };
    // Known before the scope check, so that a refused lookup is still traced against its partner.
    request.partnerPrincipal = principal;
    if (anyOfScopes.length > 0 && !anyOfScopes.some((scope) => effectiveScopes.includes(scope))) {
      throw new Forbidden('scope_not_granted', `This call needs one of the scopes: ${anyOfScopes.join(' ')}.`);
    }
    return principal;
  }
}
