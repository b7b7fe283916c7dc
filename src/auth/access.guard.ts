import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Forbidden, Unauthenticated } from '../common/errors/domain-errors';
import { OperatorsService } from '../partners/operators.service';
import { PartnerDirectory } from '../partners/partner-directory';
import { ACCESS_POLICY, AccessPolicy } from './access.decorators';
import { TokenVerifier } from './token-verifier';

export const CONSOLE_COOKIE = 'cnam_console_session';

/**
 * The single guard in front of every route. Deny by default: a route without an access policy is refused.
 * Partners: verified token, partner active in the directory (suspension applies within seconds), scopes.
 * Operators: live session (bearer or the console's httpOnly cookie) with a required role.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger(AccessGuard.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: TokenVerifier,
    private readonly directory: PartnerDirectory,
    private readonly operators: OperatorsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const policy = this.reflector.getAllAndOverride<AccessPolicy | undefined>(ACCESS_POLICY,
      [context.getHandler(), context.getClass()]);
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!policy) {
      this.logger.error(`route ${request.routeOptions?.url} has no access policy; refused`);
      throw new Forbidden('forbidden', 'This route is not open.');
    }
    if (policy.kind === 'public') return true;
    if (policy.kind === 'partner') return this.authenticatePartner(request, policy.anyOfScopes);
    return this.authenticateOperator(request, policy.anyOfRoles);
  }

  private async authenticatePartner(request: FastifyRequest, anyOfScopes: string[]): Promise<boolean> {
    const token = bearerToken(request);
    if (!token) throw new Unauthenticated('token_missing', 'A bearer access token is required.');
    const claims = await this.verifier.verify(token);
    const partner = await this.directory.get(claims.partnerId);
    if (!partner) throw new Unauthenticated('invalid_token', 'The access token is invalid.');
    if (partner.status !== 'active') {
      throw new Unauthenticated('partner_inactive', `The partner is ${partner.status}; its tokens no longer work.`);
    }
    const effectiveScopes = claims.scopes.filter((scope) => partner.scopes.has(scope));
    if (anyOfScopes.length > 0 && !anyOfScopes.some((scope) => effectiveScopes.includes(scope))) {
      throw new Forbidden('scope_not_granted', `This call needs one of the scopes: ${anyOfScopes.join(' ')}.`);
    }
    request.partnerPrincipal = { partner, tokenScopes: claims.scopes, effectiveScopes, tokenId: claims.tokenId };
    return true;
  }

  private async authenticateOperator(request: FastifyRequest, anyOfRoles: string[]): Promise<boolean> {
    const token = bearerToken(request) ?? cookie(request, CONSOLE_COOKIE);
    if (!token) throw new Unauthenticated('session_missing', 'An operator session is required.', 'Session');
    const operator = token.length <= 128 ? await this.operators.authenticate(token) : undefined;
    if (!operator) throw new Unauthenticated('invalid_session', 'The session is invalid or has expired.', 'Session');
    if (anyOfRoles.length > 0 && !anyOfRoles.some((role) => operator.roles.includes(role as never))) {
      throw new Forbidden('role_required', `This action needs the role: ${anyOfRoles.join(' or ')}.`);
    }
    request.operatorPrincipal = { operator, sessionToken: token };
    return true;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return decodeURIComponent(part.slice(index + 1).trim());
  }
  return undefined;
}
