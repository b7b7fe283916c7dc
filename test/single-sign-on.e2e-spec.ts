import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { freePort } from '../src/common/database/embedded-postgres';
import { operatorToken } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Starts the OpenID provider (test/support/oidc-provider.mjs) and waits until it listens. */
function startProvider(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(__dirname, 'support/oidc-provider.mjs')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('oidc provider ready')) resolve(child);
    });
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => reject(new Error(`OpenID provider exited (${code}): ${output}`)));
  });
}

/**
 * The console's single sign-on (DESIGN §4): authorization code + PKCE with openid-client, against a real OpenID
 * provider (oidc-provider) on loopback, through a real browser.
 */
describe('console single sign-on (OpenID Connect, ProConnect in production)', () => {
  let provider: ChildProcess;
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
    const port = await freePort();
    const oidc = { OIDC_ISSUER: `http://127.0.0.1:${port}`, OIDC_CLIENT_ID: 'console-dinsic', OIDC_CLIENT_SECRET: 'a client secret for the tests' };
    t = await startTestApp(oidc);
    provider = await startProvider({ OIDC_PORT: String(port), OIDC_CLIENT_ID: oidc.OIDC_CLIENT_ID, OIDC_CLIENT_SECRET: oidc.OIDC_CLIENT_SECRET,
      OIDC_REDIRECT_URI: `${t.url}/console/oidc/retour` });
    const admin = await operatorToken(t);
    expect((await client(t.url).post('/admin/api/operators', { email: 'agent.sso@dinsic.test', password: 'unused password 1234', roles: ['auditor'] },
      { token: admin })).status).toBe(201);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    provider?.kill();
    await t?.close();
  });

  /** From the console's login page through the provider's own login and consent pages, back to the console. */
  async function signOn(login: string): Promise<Page> {
    const page = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
    await page.goto(`${t.url}/console/connexion?retour=/console/audit`);
    await page.getByRole('link', { name: 'Se connecter avec ProConnect' }).click();
    await page.waitForURL(/127\.0\.0\.1:\d+\/interaction\//);
    expect(new URL(page.url()).origin).not.toBe(new URL(t.url).origin);
    await page.locator('input[name=login]').fill(login);
    await page.locator('input[name=password]').fill('anything');
    await page.locator('button[type=submit]').click();
    await page.waitForLoadState('load');
    if (new URL(page.url()).pathname.startsWith('/interaction/')) await page.locator('button[type=submit]').click(); // consent
    await page.waitForURL((url) => url.origin === t.url);
    return page;
  }

  it('logs an existing operator in through the provider (code + PKCE), back to the page asked for, with its roles', async () => {
    const page = await signOn('agent.sso@dinsic.test');
    await page.waitForURL(/\/console\/audit$/); // the return page moves on at once, same-site, so the Strict cookie goes
    expect(await page.locator('header').textContent()).toContain('agent.sso@dinsic.test');
    // The session is the console's own cookie, httpOnly and SameSite=Strict, and works for the API too.
    const cookie = (await page.context().cookies()).find((c) => c.name === 'cnam_console_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect((await client(t.url).get('/admin/api/session', { token: cookie.value })).body.operator.email).toBe('agent.sso@dinsic.test');
  }, 60_000);

  it('refuses a person the provider knows but the console does not, and a return without the login it started', async () => {
    const page = await signOn('inconnu@exemple.gouv.fr');
    expect(new URL(page.url()).pathname).toBe('/console/oidc/retour');
    expect(await page.locator('.fr-alert').textContent()).toContain("n'est associé à aucun opérateur");
    expect((await page.context().cookies()).some((c) => c.name === 'cnam_console_session' && c.value)).toBe(false);

    const forged = await (await browser.newContext()).newPage();
    const answer = await forged.goto(`${t.url}/console/oidc/retour?code=stolen&state=whatever`);
    expect(answer!.status()).toBe(400);
    expect(await forged.locator('.fr-alert').textContent()).toContain('a expiré');
  }, 60_000);
});
