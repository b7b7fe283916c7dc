import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth } from '@nestjs/swagger';
import { ApiProblems } from '../common/errors/api-problems';
import type { OperatorRole, Operator } from '../partners/operators.repository';
import type { PartnerAccess } from '../partners/partner-directory';

export const ACCESS_POLICY = 'access-policy';

/** Who may call a route. Every route states one: the access guard refuses routes that do not. */
export type AccessPolicy =
  | { kind: 'public' }
  | { kind: 'partner'; anyOfScopes: string[] }
  | { kind: 'operator'; anyOfRoles: OperatorRole[] };

/** No authentication (onboarding, terms, JWKS, health). */
export const Public = () => SetMetadata(ACCESS_POLICY, { kind: 'public' } satisfies AccessPolicy);

/** The console's session cookie, documented as the operators' second way in (security scheme name). */
export const CONSOLE_COOKIE_SCHEME = 'console-session';

/**
 * A partner's bearer token; with scopes, at least one of them must be both granted and in the token. The policy
 * and what the OpenAPI document says of it come from this one decorator, so that they cannot disagree.
 */
export const PartnerAuth = (...anyOfScopes: string[]) => applyDecorators(
  SetMetadata(ACCESS_POLICY, { kind: 'partner', anyOfScopes } satisfies AccessPolicy),
  ApiBearerAuth(),
  ApiProblems('token_missing', 'invalid_token', 'token_expired', 'partner_inactive', ...(anyOfScopes.length ? ['scope_not_granted' as const] : [])));

/** An operator session (bearer token or the console's cookie) holding at least one of the roles. */
export const OperatorAuth = (...anyOfRoles: OperatorRole[]) => applyDecorators(
  SetMetadata(ACCESS_POLICY, { kind: 'operator', anyOfRoles } satisfies AccessPolicy),
  ApiBearerAuth(),
  ApiCookieAuth(CONSOLE_COOKIE_SCHEME),
  ApiProblems('session_missing', 'invalid_session', 'second_factor_required', ...(anyOfRoles.length ? ['role_required' as const] : [])));

export const BEFORE_SECOND_FACTOR = 'before-second-factor';

/**
 * With OPERATOR_MFA_REQUIRED, an operator without a second factor may use only the routes marked so (enrolment,
 * logout, who am I): every other operator route answers 403 second_factor_required until it enrols one.
 */
export const BeforeSecondFactor = () => SetMetadata(BEFORE_SECOND_FACTOR, true);

/** The authenticated partner of the request, and the scopes it may receive now (granted ∩ token). */
export interface PartnerPrincipal {
  partner: PartnerAccess;
  tokenScopes: readonly string[];
  effectiveScopes: readonly string[];
  tokenId: string;
  /** The availability probe's built-in client (auth/probe-client.ts), not a partner. */
  probe?: boolean;
}

export interface OperatorPrincipal {
  operator: Operator;
  sessionToken: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    partnerPrincipal?: PartnerPrincipal;
    operatorPrincipal?: OperatorPrincipal;
  }
}

export const CurrentPartner = createParamDecorator((_: unknown, context: ExecutionContext): PartnerPrincipal =>
  context.switchToHttp().getRequest().partnerPrincipal);

export const CurrentOperator = createParamDecorator((_: unknown, context: ExecutionContext): OperatorPrincipal =>
  context.switchToHttp().getRequest().operatorPrincipal);
