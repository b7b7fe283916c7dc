import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Forbidden, Unauthenticated } from '../common/errors/domain-errors';
import { OperatorsService } from '../partners/operators.service';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { ACCESS_POLICY, AccessPolicy, BEFORE_SECOND_FACTOR } from './access.decorators';
import { bearerToken, PartnerAuthenticator } from './partner-authenticator';

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
    private readonly partners: PartnerAuthenticator,
    private readonly operators: OperatorsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
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
    if (policy.kind === 'partner') return Boolean(await this.partners.authenticate(request, policy.anyOfScopes));
    const beforeSecondFactor = this.reflector.getAllAndOverride<boolean | undefined>(BEFORE_SECOND_FACTOR,
      [context.getHandler(), context.getClass()]) ?? false;
    return this.authenticateOperator(request, policy.anyOfRoles, beforeSecondFactor);
  }

  private async authenticateOperator(request: FastifyRequest, anyOfRoles: string[], beforeSecondFactor: boolean): Promise<boolean> {
    const token = bearerToken(request) ?? cookie(request, CONSOLE_COOKIE);
    if (!token) throw new Unauthenticated('session_missing', 'An operator session is required.', 'Session');
    const operator = token.length <= 128 ? await this.operators.authenticate(token) : undefined;
    if (!operator) throw new Unauthenticated('invalid_session', 'The session is invalid or has expired.', 'Session');
    // Known before the role check, so that a refusal page can still show who is logged in and what they may open.
    request.operatorPrincipal = { operator, sessionToken: token };
    if (anyOfRoles.length > 0 && !anyOfRoles.some((role) => operator.roles.includes(role as never))) {
      throw new Forbidden('role_required', `This action needs the role: ${anyOfRoles.join(' or ')}.`);
    }
    if (this.config.operatorMfaRequired && !operator.second_factor && !beforeSecondFactor) {
      throw new Forbidden('second_factor_required', 'Second factor required: enrol a TOTP authenticator in the console (/console/securite) first.');
    }
    return true;
  }
}

/** A cookie's value; a malformed one (bad percent-encoding) counts as absent, so that it is refused with a 401. */
function cookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
