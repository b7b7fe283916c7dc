import { Inject, Injectable } from '@nestjs/common';
import { BaseClient, generators, Issuer } from 'openid-client';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { NotFound, Unauthenticated } from '../common/errors/domain-errors';
import { OperatorsService } from '../partners/operators.service';

/** What the browser keeps between the redirect to the provider and its return (a signed, short-lived cookie). */
export interface PendingOidcLogin {
  verifier: string;
  state: string;
  nonce: string;
  back: string;
}

/**
 * The console's single sign-on (DESIGN §4): OpenID Connect authorization code with PKCE (openid-client), ProConnect
 * in production. The provider vouches for the e-mail address; the operator must already exist with that address
 * (nobody is created by a login), and gets a session like a password login.
 */
@Injectable()
export class OidcLogin {
  private client?: Promise<BaseClient>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig, private readonly operators: OperatorsService) {}

  get enabled(): boolean {
    return this.config.oidc !== undefined;
  }

  /** Where to send the browser, and what to remember until it comes back. */
  async start(redirectUri: string, back: string): Promise<{ url: string; pending: PendingOidcLogin }> {
    const client = await this.discover();
    const pending = { verifier: generators.codeVerifier(), state: generators.state(), nonce: generators.nonce(), back };
    const url = client.authorizationUrl({
      scope: 'openid email', redirect_uri: redirectUri, code_challenge: generators.codeChallenge(pending.verifier),
      code_challenge_method: 'S256', state: pending.state, nonce: pending.nonce,
    });
    return { url, pending };
  }

  /** The provider's answer: the code exchanged (PKCE, state, nonce checked), then the operator's session. */
  async finish(redirectUri: string, params: Record<string, string>, pending: PendingOidcLogin) {
    const client = await this.discover();
    let email: unknown;
    try {
      const tokens = await client.callback(redirectUri, client.callbackParams(`${redirectUri}?${new URLSearchParams(params)}`),
        { code_verifier: pending.verifier, state: pending.state, nonce: pending.nonce });
      let claims: Record<string, unknown> = tokens.claims();
      // Providers that follow the spec closely (ProConnect among them) give the e-mail at the userinfo endpoint only.
      if (claims.email === undefined && tokens.access_token) claims = { ...claims, ...(await client.userinfo(tokens.access_token)) };
      if (claims.email_verified === false) throw new Error('email not verified');
      email = claims.email;
    } catch {
      throw new Unauthenticated('oidc_failed', 'The identity provider did not confirm the login.', 'Session');
    }
    if (typeof email !== 'string' || email === '') throw new Unauthenticated('oidc_failed', 'The identity provider gave no e-mail address.', 'Session');
    const operator = await this.operators.findActiveByEmail(email);
    if (!operator) throw new Unauthenticated('oidc_unknown_operator', 'No operator has this e-mail address.', 'Session');
    return this.operators.openSession(operator);
  }

  private discover(): Promise<BaseClient> {
    const oidc = this.config.oidc;
    if (!oidc) throw new NotFound('Single sign-on is not configured.');
    this.client ??= Issuer.discover(oidc.issuer).then(
      (issuer) => new issuer.Client({ client_id: oidc.clientId, client_secret: oidc.clientSecret, response_types: ['code'] }),
      (error: unknown) => {
        this.client = undefined; // the provider may be back on the next try
        throw error;
      });
    return this.client;
  }
}
