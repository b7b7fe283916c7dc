import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module';
import { PartnersModule } from '../partners/partners.module';
import { SlaModule } from '../sla/sla.module';
import { AccessGuard } from './access.guard';
import { OidcLogin } from './oidc-login';
import { OperatorLogin } from './operator-login';
import { PartnerAuthenticator } from './partner-authenticator';
import { SessionController } from './session.controller';
import { SigningKeys } from './signing-keys';
import { TokenController } from './token.controller';
import { TokenService } from './token.service';
import { TokenVerifier } from './token-verifier';

/** Tokens (issue, sign, verify, JWKS), operator sessions, and the guard in front of every route. */
@Module({
  imports: [PartnersModule, AuditModule, SlaModule],
  controllers: [TokenController, SessionController],
  providers: [SigningKeys, TokenVerifier, TokenService, PartnerAuthenticator, OperatorLogin, OidcLogin, { provide: APP_GUARD, useClass: AccessGuard }],
  exports: [SigningKeys, TokenVerifier, PartnerAuthenticator, OperatorLogin, OidcLogin],
})
export class AuthModule {}
