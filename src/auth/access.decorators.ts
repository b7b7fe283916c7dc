import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
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

/** A partner's bearer token; with scopes, at least one of them must be both granted and in the token. */
export const PartnerAuth = (...anyOfScopes: string[]) =>
  SetMetadata(ACCESS_POLICY, { kind: 'partner', anyOfScopes } satisfies AccessPolicy);

/** An operator session holding at least one of the roles. */
export const OperatorAuth = (...anyOfRoles: OperatorRole[]) =>
  SetMetadata(ACCESS_POLICY, { kind: 'operator', anyOfRoles } satisfies AccessPolicy);

/** The authenticated partner of the request, and the scopes it may receive now (granted ∩ token). */
export interface PartnerPrincipal {
  partner: PartnerAccess;
  tokenScopes: readonly string[];
  effectiveScopes: readonly string[];
  tokenId: string;
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
