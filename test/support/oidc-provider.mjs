// A real OpenID provider on loopback for the single sign-on tests (oidc-provider is ESM-only: it runs in its own
// process). Any login is accepted in its development interactions; the account id is the e-mail address.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{ client_id: process.env.OIDC_CLIENT_ID, client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: [process.env.OIDC_REDIRECT_URI], response_types: ['code'], grant_types: ['authorization_code'] }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: id, email_verified: true }) }),
  cookies: { keys: ['oidc-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});
provider.listen(port, '127.0.0.1', () => console.log('oidc provider ready'));
