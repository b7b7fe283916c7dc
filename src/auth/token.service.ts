import { Inject, Injectable } from '@nestjs/common';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { OAuthError, RateLimited } from '../common/errors/domain-errors';
import { FailedAttempts, WindowRateLimiter } from '../common/rate-limiter';
import { CredentialsService } from '../partners/credentials.service';
import { isScope } from '../rights/scopes';
import { ALGORITHM, SigningKeys } from './signing-keys';

export interface TokenRequest {
  /** The client's address (X-Forwarded-For believed from TRUSTED_PROXIES only). */
  clientAddress: string;
  grantType?: string;
  scope?: string;
  clientId?: string;
  clientSecret?: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** OAuth 2.0 client credentials grant (RFC 6749 §4.4): partner credentials in, short-lived ES256 JWT out. */
@Injectable()
export class TokenService {
  private readonly issued = new WindowRateLimiter(60_000);
  private readonly failures: FailedAttempts;

  constructor(
    private readonly credentials: CredentialsService,
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.failures = new FailedAttempts(config.limits.loginFailuresPerMinute, config.limits.loginFailuresPerAddressPerMinute);
  }

  async issue(request: TokenRequest): Promise<TokenResponse> {
    if (request.grantType !== 'client_credentials') {
      throw new OAuthError(request.grantType ? 'unsupported_grant_type' : 'invalid_request',
        request.grantType ? 'Only grant_type=client_credentials is supported.' : 'grant_type is required.');
    }
    if (!request.clientId || !request.clientSecret) {
      throw new OAuthError('invalid_client', 'Client authentication is required (HTTP Basic or client_id/client_secret).');
    }
    // Checked before the (deliberately slow) secret check, so that guessing costs the attacker, not the gateway; per
    // address, so that whoever knows a client_id (it is in every token) cannot lock its owner out.
    // On the gateway's clock, like every other limit (tests move it; windows do not roll under them).
    const nowMs = this.clock.now().getTime();
    const wait = this.failures.retryAfterMs(request.clientId, request.clientAddress, nowMs);
    if (wait > 0) throw new RateLimited(wait / 1000, 'Too many failed token requests from this address; retry later.');

    const authenticated = await this.credentials.authenticate(request.clientId, request.clientSecret);
    if (!authenticated) {
      this.failures.failed(request.clientId, request.clientAddress, nowMs);
      throw new OAuthError('invalid_client', 'Unknown client or wrong secret.');
    }
    const { partner, expiredAt } = authenticated;
    if (expiredAt) {
      throw new OAuthError('invalid_client', `The client secret expired on ${expiredAt.toISOString()}; ask DINSIC for a new one (secret rotation).`);
    }
    if (partner.status !== 'active') throw new OAuthError('invalid_client', `The client is ${partner.status}.`);
    // The client's own quota of tokens: counted once it proved who it is, so that nobody else can spend it.
    const decision = this.issued.take(partner.id, this.config.token.rateLimitPerMinute, nowMs);
    if (!decision.allowed) throw new RateLimited(decision.resetMs / 1000, 'Too many token requests for this client.');

    const requested = (request.scope ?? '').split(' ').filter(Boolean);
    const unknown = requested.filter((scope) => !isScope(scope));
    if (unknown.length > 0) throw new OAuthError('invalid_scope', `Unknown scope: ${unknown.join(' ')}.`);
    const notGranted = requested.filter((scope) => !partner.scopes.includes(scope));
    if (notGranted.length > 0) throw new OAuthError('invalid_scope', `Scope not granted to this client: ${notGranted.join(' ')}.`);
    const scopes = requested.length > 0 ? [...new Set(requested)] : partner.scopes;

    const now = Math.floor(this.clock.now().getTime() / 1000);
    const { kid, privateKey } = this.keys.signer();
    const accessToken = await new SignJWT({ scope: scopes.join(' '), client_id: partner.client_id })
      .setProtectedHeader({ alg: ALGORITHM, kid, typ: 'at+jwt' })
      .setIssuer(this.config.token.issuer)
      .setAudience(this.config.token.audience)
      .setSubject(partner.id)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + this.config.token.ttlSeconds)
      .sign(privateKey);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.config.token.ttlSeconds, scope: scopes.join(' ') };
  }
}
