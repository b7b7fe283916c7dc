import { existsSync } from 'node:fs';
import { authenticator } from 'otplib';
import { Browser, chromium, Page } from 'playwright-core';
import { client } from './support/http';
import { operatorToken } from './support/factories';
import { OPERATOR, startTestApp, TestApp } from './support/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The code an authenticator shows at the gateway's time. */
const code = (secret: string, t: TestApp) => authenticator.clone({ epoch: t.clock.now().getTime() }).generate(secret);

/** Operators' second factor (DESIGN §4): TOTP enrolled in the console, needed at every login, OPERATOR_MFA_REQUIRED. */
describe('operators\' second factor (TOTP)', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  afterAll(async () => browser?.close());

  /** Logs in through the console's form; answers the page it lands on. */
  async function consoleLogin(t: TestApp, who: { email: string; password: string }, totp?: string): Promise<Page> {
    const page = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
    await page.goto(`${t.url}/console/connexion`);
    await page.getByLabel('Adresse électronique').fill(who.email);
    await page.getByLabel('Mot de passe').fill(who.password);
    if (totp) await page.getByLabel('Code de double authentification').fill(totp);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForLoadState('load');
    return page;
  }

  /** Enrols from the security page: scans nothing, reads the key the page prints, types the current code. */
  async function enrol(t: TestApp, page: Page): Promise<{ secret: string; recoveryCodes: string[] }> {
    await page.goto(`${t.url}/console/securite`);
    await page.getByRole('button', { name: 'Activer la double authentification' }).click();
    await page.waitForSelector('#totp-secret');
    expect(await page.locator('.cnam-qr svg').count()).toBe(1);
    const secret = (await page.locator('#totp-secret').textContent())!.trim();
    await page.getByLabel('Code à 6 chiffres').fill('000000');
    await page.getByRole('button', { name: 'Confirmer' }).click();
    await page.waitForSelector('.fr-error-text'); // a wrong first code: the same QR code again, with the reason
    expect((await page.locator('#totp-secret').textContent())!.trim()).toBe(secret);
    await page.getByLabel('Code à 6 chiffres').fill(code(secret, t));
    await page.getByRole('button', { name: 'Confirmer' }).click();
    await page.waitForSelector('#recovery-codes');
    const recoveryCodes = (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
    return { secret, recoveryCodes };
  }

  describe('optional (the default)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(async () => {
      for (const context of browser.contexts()) await context.close(); // their keep-alive connections would hold the server open
      await t?.close();
    });

    it('is enrolled from the console with a QR code drawn by the gateway, and recovery codes shown once', async () => {
      const admin = await operatorToken(t);
      const who = { email: 'totp@dinsic.test', password: 'totp password 1234', roles: ['operator'] };
      expect((await client(t.url).post('/admin/api/operators', who, { token: admin })).status).toBe(201);
      const page = await consoleLogin(t, who);
      // Confirming a code before any enrolment was started: refused as a French page, nothing enrolled.
      await page.goto(`${t.url}/console/securite`);
      const csrf = await page.locator('input[name=_csrf]').first().getAttribute('value');
      const early = await page.request.post(`${t.url}/console/securite/totp/confirmer`, { form: { _csrf: csrf!, code: '123456' } });
      expect(early.status()).toBe(409);
      expect(await early.text()).toContain('Action impossible');
      expect(await early.text()).toContain('no_pending_enrolment');
      const { secret, recoveryCodes } = await enrol(t, page);
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);
      const [row] = await t.sql<{ totp_secret: string; hashes: string[] }>(`SELECT o.totp_secret, array_agg(r.code_hash) AS hashes
        FROM operators o JOIN operator_recovery_codes r ON r.operator_id = o.id WHERE o.email = $1 GROUP BY o.totp_secret`, [who.email]);
      expect(row.totp_secret).not.toContain(secret); // encrypted at rest
      expect(row.hashes.every((h) => h.startsWith('scrypt$'))).toBe(true);
      expect(await page.locator('main').textContent()).toContain('ne seront plus jamais affichés');

      const api = client(t.url);
      const login = (totp?: string) => api.post('/admin/api/session', { email: who.email, password: who.password, ...(totp ? { totp } : {}) });
      // The password alone no longer opens a session.
      const missing = await login();
      expect(missing.status).toBe(401);
      expect(missing.body.code).toBe('totp_required');
      expect((await login('123456')).body.code).toBe('invalid_totp');
      // The next time step's code opens one, once.
      t.clock.advance(30_000);
      const current = code(secret, t);
      const ok = await login(current);
      expect(ok.status).toBe(200);
      expect(ok.body.operator).toMatchObject({ email: who.email, second_factor: true });
      expect((await login(current)).body.code).toBe('invalid_totp'); // replayed
      // A recovery code works once.
      expect((await login(recoveryCodes[3])).status).toBe(200);
      expect((await login(recoveryCodes[3])).body.code).toBe('invalid_totp');
      // The console's form asks for the code too.
      const refused = await consoleLogin(t, who);
      expect(await refused.locator('.fr-alert').textContent()).toContain('saisissez aussi le code');
      t.clock.advance(30_000);
      const accepted = await consoleLogin(t, who, code(secret, t));
      expect(new URL(accepted.url()).pathname).toBe('/console/demandes');
      // Enrolment and each step are in the trail.
      const [{ count }] = await t.sql<{ count: number }>(`SELECT count(*)::int AS count FROM audit_entries WHERE action = 'operator.second_factor_enrolled'`);
      expect(count).toBe(1);
    }, 60_000);
  });

  describe('OPERATOR_MFA_REQUIRED=true', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ OPERATOR_MFA_REQUIRED: 'true' });
    });
    afterAll(async () => {
      for (const context of browser.contexts()) await context.close(); // their keep-alive connections would hold the server open
      await t?.close();
    });

    it('lets an operator without a second factor do nothing but enrol one, from the API or the console', async () => {
      const api = client(t.url);
      const session = await api.post('/admin/api/session', OPERATOR);
      expect(session.status).toBe(200);
      const token = session.body.token;
      const refused = await api.get('/admin/api/partners', { token });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('second_factor_required');
      expect((await api.get('/admin/api/session', { token })).status).toBe(200);

      const page = await consoleLogin(t, OPERATOR);
      expect(new URL(page.url()).pathname).toBe('/console/securite');
      expect(await page.locator('main').textContent()).toContain('Double authentification obligatoire');
      await page.goto(`${t.url}/console/partenaires`);
      expect(new URL(page.url()).pathname).toBe('/console/securite');
      await enrol(t, page);
      // The same session now opens everything its roles allow.
      await page.goto(`${t.url}/console/partenaires`);
      expect(new URL(page.url()).pathname).toBe('/console/partenaires');
      expect((await api.get('/admin/api/partners', { token })).status).toBe(200);
    }, 60_000);
  });
});
