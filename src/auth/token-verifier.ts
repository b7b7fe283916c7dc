import { Inject, Injectable } from '@nestjs/common';
import { decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Unauthenticated } from '../common/errors/domain-errors';
import { ALGORITHM, SigningKeys } from './signing-keys';

export interface AccessClaims {
  partnerId: string;
  scopes: readonly string[];
  tokenId: string;
  expiresAtMs: number;
}

/** Verified tokens are remembered until they expire; the map is emptied when it grows past this size. */
const CACHE_MAX = 50_000;

/**
 * Verifies partner access tokens: ES256 only (so `none` and HS256-with-the-public-key are refused), our
 * issuer and audience, a known kid, unexpired. A token's signature is checked once; its claims are then
 * served from memory until it expires.
 */
@Injectable()
export class TokenVerifier {
  private readonly verified = new Map<string, AccessClaims>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async verify(token: string): Promise<AccessClaims> {
    const now = this.clock.now().getTime();
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAtMs > now) return cached;
      this.verified.delete(token);
      throw new Unauthenticated('token_expired', 'The access token has expired.');
    }
    const claims = await this.verifySignature(token);
    if (this.verified.size >= CACHE_MAX) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }

  private async verifySignature(token: string): Promise<AccessClaims> {
    if (token.length > 4096) throw new Unauthenticated('invalid_token', 'The access token is malformed.');
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      if (header.alg !== ALGORITHM) throw new Unauthenticated('invalid_token', 'The access token must be signed with ES256.');
      kid = header.kid;
    } catch (error) {
      if (error instanceof Unauthenticated) throw error;
      throw new Unauthenticated('invalid_token', 'The access token is malformed.');
    }
    const key = kid ? await this.keys.publicKey(kid) : undefined;
    if (!key) throw new Unauthenticated('invalid_token', 'The access token was not signed by a key of this gateway.');
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALGORITHM],
        issuer: this.config.token.issuer,
        audience: this.config.token.audience,
        currentDate: this.clock.now(),
        requiredClaims: ['sub', 'exp', 'jti', 'scope'],
      });
      if (typeof payload.scope !== 'string' || typeof payload.sub !== 'string') throw new errors.JWTClaimValidationFailed('claims', payload);
      return {
        partnerId: payload.sub,
        scopes: payload.scope.split(' ').filter(Boolean),
        tokenId: String(payload.jti),
        expiresAtMs: payload.exp! * 1000,
      };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new Unauthenticated('token_expired', 'The access token has expired.');
      throw new Unauthenticated('invalid_token', 'The access token is invalid.');
    }
  }
}
