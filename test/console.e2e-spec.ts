import AxeBuilder from '@axe-core/playwright';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import Parser from 'rss-parser';
import { startSimulator, Simulator } from '../simulator/server';
import { AuditSealer } from '../src/audit/audit-sealer';
import { AuditService } from '../src/audit/audit.service';
import { ScheduledVerification } from '../src/audit/scheduled-verification';
import { Stopping } from '../src/common/stopping';
import { accessRequestBody, makeSiret, onboardPartner, operatorToken, requestToken } from './support/factories';
import { eventually } from './faults/harness';
import { client } from './support/http';
import { OPERATOR, startTestApp, TestApp } from './support/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(tmpdir(), 'console-screenshots');
const OPERATOR_ONLY = { email: 'operateur@dinsic.test', password: 'operator password 1234', roles: ['operator'] };
const AUDITOR_ONLY = { email: 'auditrice@dinsic.test', password: 'auditor password 1234', roles: ['auditor'] };
const DUPONT = '284057505612387';

/**
 * The console in a real browser (Debian's Chromium through playwright-core) against the real gateway, PostgreSQL
 * and simulator: the operators' and auditors' journey, role refusals, keyboard use, and every page scanned by axe.
 */
describe('console and status page in a real browser (DESIGN §4)', () => {
  let simulator: Simulator;
  let t: TestApp;
  let browser: Browser;
  let api: ReturnType<typeof client>;
  const scanned: { page: string; violations: { id: string; impact: string | null | undefined; nodes: number }[] }[] = [];

  /** Saves a screenshot and scans the page with axe; serious and critical violations are asserted at the end. */
  async function look(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    const result = await new AxeBuilder({ page }).analyze();
    scanned.push({ page: name, violations: result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })) });
  }

  async function logIn(context: BrowserContext, who: { email: string; password: string }): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${t.url}/console`);
    await page.waitForURL(/\/console\/connexion/);
    await page.getByLabel('Adresse électronique').fill(who.email);
    await page.getByLabel('Mot de passe').fill(who.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/console/connexion'));
    return page;
  }

  const submitRequest = async (name: string) => {
    const answer = await api.post('/v1/access-requests', accessRequestBody({ organisation: { name, siret: makeSiret('2169012310001'), type: 'ccas' },
      scopes: ['droits.ouverture', 'droits.c2s', 'droits.identite'] }));
    expect(answer.status).toBe(201);
    return answer.body.id as string;
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    console.log(`console screenshots: ${SCREENSHOTS}`);
    simulator = await startSimulator({ population: 100 });
    t = await startTestApp({ UPSTREAM_URL: simulator.url });
    api = client(t.url);
    const admin = await operatorToken(t);
    for (const account of [OPERATOR_ONLY, AUDITOR_ONLY]) expect((await api.post('/admin/api/operators', account, { token: admin })).status).toBe(201);
    browser = await chromium.launch({ executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await simulator?.close();
  });

  it('takes an operator from a pending request to a working partner, an auditor to its lookup, and a suspension to a refusal', async () => {
    const requestId = await submitRequest('CCAS de Villeurbanne');
    const operatorContext = await browser.newContext({ locale: 'fr-FR', timezoneId: 'Europe/Paris' });
    const page = await logIn(operatorContext, OPERATOR_ONLY);
    await look(page, 'demandes');
    // The queue shows the pending request; its page shows what was asked.
    await page.getByRole('link', { name: 'CCAS de Villeurbanne' }).click();
    await page.waitForURL(/\/console\/demandes\/[0-9a-f-]+$/);
    expect(await page.locator('h1').textContent()).toBe('Demande de CCAS de Villeurbanne');
    expect(await page.locator('main').textContent()).toContain("instruction des demandes d'aide sociale");
    await look(page, 'demande');
    // Narrow the scopes: identity is not granted.
    await page.locator('label', { hasText: /^Identité$/ }).click(); // the DSFR draws the box on the label
    expect(await page.getByLabel('Identité').isChecked()).toBe(false);
    await page.getByLabel('Limite de consultations par seconde').fill('25');
    await page.getByRole('button', { name: 'Approuver et créer les identifiants' }).click();
    await page.waitForSelector('#client-secret');
    const secret = (await page.locator('#client-secret').textContent())!.trim();
    const clientId = (await page.locator('#client-id, code').first().textContent())!.trim();
    expect(secret.length).toBeGreaterThanOrEqual(40);
    expect(await page.locator('main').textContent()).toContain('ne sera plus jamais affiché');
    await look(page, 'secret');
    // The secret works through the API, with the narrowed scopes only.
    const token = await requestToken(t, { clientId, clientSecret: secret });
    expect(token.status).toBe(200);
    expect(token.body.scope.split(' ').sort()).toEqual(['droits.c2s', 'droits.ouverture']);
    const lookup = await api.post('/v1/droits/recherche', { nir: DUPONT, recipient: makeSiret('2169012310001'), object: 'dossier 42',
      agent: 'agent-villeurbanne', context: 'RSA' }, { token: token.body.access_token });
    expect(lookup.status).toBe(200);
    expect(Object.keys(lookup.body.droits).sort()).toEqual(['c2s', 'ouverture']);
    await t.app.get(AuditSealer).sealPending(); // exports carry the sealed chain (tests seal by hand)
    // As the gateway does on its own each night, shortly after 00:00 UTC (the first run waits for the night).
    const now = t.clock.now();
    t.clock.set(new Date(Math.floor(now.getTime() / 86_400_000) * 86_400_000 + 5 * 60_000));
    await t.app.get(ScheduledVerification).runIfDue();
    t.clock.set(now);
    // The request is approved; the partner page is reachable from it.
    await page.goto(`${t.url}/console/demandes/${requestId}`);
    expect(await page.locator('main').textContent()).toContain('Approuvée');

    // An auditor finds that lookup by the person's NIR, which the page never shows back, and exports the trail.
    const auditorContext = await browser.newContext({ locale: 'fr-FR', timezoneId: 'Europe/Paris', acceptDownloads: true });
    const audit = await logIn(auditorContext, AUDITOR_ONLY);
    expect(new URL(audit.url()).pathname).toBe('/console/audit');
    expect(await audit.locator('#scheduled-verification').textContent()).toMatch(/Dernière vérification de toute la chaîne le .+ \(automatique\) : chaîne intacte/);
    await look(audit, 'audit');
    await audit.getByLabel('NIR de la personne').fill(DUPONT);
    await audit.getByRole('button', { name: 'Rechercher', exact: true }).click();
    await audit.waitForSelector('table');
    const results = (await audit.locator('main').textContent())!;
    expect(results).toContain('agent-villeurbanne');
    expect(results).toContain('RSA — dossier 42');
    expect(await audit.content()).not.toContain(DUPONT);
    expect(audit.url()).not.toContain(DUPONT);
    await look(audit, 'audit-resultats');
    const [download] = await Promise.all([audit.waitForEvent('download'), audit.getByRole('link', { name: 'Exporter en NDJSON' }).click()]);
    const exported = readFileSync((await download.path())!, 'utf8');
    expect(exported).toContain('agent-villeurbanne');
    expect(exported).not.toContain(DUPONT);
    // The whole chain is verified in the background (minutes for a long trail); its result shows on the page.
    await audit.getByRole('button', { name: 'Vérifier toute la chaîne' }).click();
    await audit.waitForSelector('text=Vérification de toute la chaîne lancée');
    await look(audit, 'audit-verification-lancee');
    await eventually('the result on the page', async () => {
      await audit.reload();
      return /\(demandée depuis la console\) : chaîne intacte/.test((await audit.locator('#scheduled-verification').textContent())!);
    });

    // The operator suspends the partner behind a confirmation; its next token request is refused.
    await page.goto(`${t.url}/console/partenaires`);
    await look(page, 'partenaires');
    await page.getByRole('link', { name: 'CCAS de Villeurbanne' }).click();
    await look(page, 'partenaire');
    await page.getByRole('link', { name: 'Suspendre' }).click();
    await look(page, 'partenaire-suspendre');
    await page.getByLabel(/Motif/).fill('Convention expirée');
    await page.getByRole('button', { name: 'Suspendre le partenaire' }).click();
    await page.waitForURL(/\/console\/partenaires\/[0-9a-f-]+$/);
    expect(await page.locator('main').textContent()).toContain('partenaire suspendu');
    expect(await page.locator('main').textContent()).toContain('Suspendu');
    const refused = await requestToken(t, { clientId, clientSecret: secret });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');

    // A maintenance window announced in the console shows on the public status page and in its Atom feed.
    await page.goto(`${t.url}/console/disponibilite`);
    const start = new Date(Date.now() + 2 * 86_400_000);
    const local = (date: Date) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' })
      .format(date).replace(' ', 'T');
    await page.getByLabel('Début (heure de Paris)').fill(local(start));
    await page.getByLabel('Fin (heure de Paris)').fill(local(new Date(start.getTime() + 2 * 3_600_000)));
    await page.getByLabel('Motif (public)').fill('Migration du serveur de bases de données');
    await page.getByRole('button', { name: 'Annoncer la maintenance' }).click();
    await page.waitForURL(/\/console\/disponibilite$/);
    expect(await page.locator('main').textContent()).toContain('Maintenance annoncée');
    await look(page, 'disponibilite');
    // Extended by an hour from its own page: partners are told (maintenance.changed).
    await page.getByRole('link', { name: 'Modifier' }).first().click();
    await page.waitForURL(/\/console\/disponibilite\/maintenance\/[0-9a-f-]+$/);
    expect(await page.getByLabel('Fin (heure de Paris)').inputValue()).toBe(local(new Date(start.getTime() + 2 * 3_600_000)));
    await page.getByLabel('Fin (heure de Paris)').fill(local(start)); // before its start: refused beside the field
    await page.getByRole('button', { name: 'Enregistrer la modification' }).click();
    await page.waitForSelector('.fr-error-text');
    expect(await page.locator('.fr-error-text').textContent()).toBe('Doit être après le début.');
    await look(page, 'maintenance-modifier');
    await page.getByLabel('Fin (heure de Paris)').fill(local(new Date(start.getTime() + 3 * 3_600_000)));
    await page.getByRole('button', { name: 'Enregistrer la modification' }).click();
    await page.waitForURL(/\/console\/disponibilite$/);
    expect(await page.locator('main').textContent()).toContain('Maintenance modifiée');
    const [changed] = await t.sql<{ action: string }>(`SELECT action FROM audit_entries WHERE action = 'maintenance.changed'`);
    expect(changed).toBeDefined();
    // A new terms version, published ahead from the console.
    await page.goto(`${t.url}/console/conditions`);
    await page.locator('#field-version').fill('2027-01');
    await page.getByLabel('Entrée en vigueur (heure de Paris)').fill(local(new Date(Date.now() + 30 * 86_400_000)));
    await page.getByLabel('Résumé des changements').fill('Nouvelle catégorie : exonérations.');
    await page.getByRole('button', { name: 'Publier la version' }).click();
    await page.waitForURL(/\/console\/conditions$/);
    expect(await page.locator('main').textContent()).toContain('Version 2027-01 publiée');
    expect(await page.locator('tbody').textContent()).toMatch(/2027-01\s*à venir/);
    for (const [name, path] of [['conditions', '/console/conditions'], ['incidents', '/console/incidents'], ['notifications', '/console/notifications'],
      ['securite', '/console/securite']]) {
      await page.goto(`${t.url}${path}`);
      await look(page, name);
    }
    await page.getByRole('button', { name: 'Activer la double authentification' }).click();
    await page.waitForSelector('#totp-secret');
    await look(page, 'securite-qr');
    t.clock.advance(11_000); // past the status's 10-second cache
    const status = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
    await status.goto(`${t.url}/status`);
    expect(await status.locator('main').textContent()).toContain('Migration du serveur de bases de données');
    await look(status, 'status');
    const feed = await api.get('/status/feed.atom');
    expect(feed.headers.get('content-type')).toMatch(/^application\/atom\+xml/);
    expect(feed.text).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?>\s*<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"/);
    const parsed = await new Parser().parseString(feed.text);
    expect(parsed.title).toBe('API droits CNAM — incidents et maintenances');
    expect(parsed.items.some((item) => item.contentSnippet?.includes('Migration du serveur de bases de données')
      || item.summary?.includes('Migration du serveur de bases de données'))).toBe(true);
    await operatorContext.close();
    await auditorContext.close();
  }, 120_000);

  it('approves a request with the keyboard alone (Tab and Enter), from the queue to the secret', async () => {
    await submitRequest('CCAS de Bron');
    const context = await browser.newContext({ locale: 'fr-FR' });
    const page = await logIn(context, OPERATOR);
    await page.goto(`${t.url}/console/demandes`);
    const tabTo = async (matches: string) => {
      for (let i = 0; i < 120; i++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate(matches) as boolean) return true;
      }
      return false;
    };
    expect(await tabTo('document.activeElement?.textContent?.trim() === "CCAS de Bron"')).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/demandes\/[0-9a-f-]+$/);
    expect(await tabTo('document.activeElement?.id === "approve"')).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#client-secret');
    expect(await page.locator('h1').textContent()).toBe('Demande de CCAS de Bron approuvée');
    await context.close();
  }, 60_000);

  it('registers a partner\'s webhook (secret shown once), refuses a private address in French, and removes it', async () => {
    const partner = await onboardPartner(t, { organisation: { name: 'CAF de la Loire', siret: makeSiret('2169012310003'), type: 'caf' } });
    const context = await browser.newContext({ locale: 'fr-FR' });
    const page = await logIn(context, OPERATOR);
    await page.goto(`${t.url}/console/partenaires/${partner.partnerId}`);
    expect(await page.locator('main').textContent()).toContain('aucun enregistré');
    await page.getByRole('link', { name: 'enregistrer' }).click();
    await page.waitForURL(/\/webhook$/);
    await look(page, 'partenaire-webhook');
    const field = page.getByLabel(/Adresse du webhook/);
    await field.fill('http://sif.caf-loire.test/hooks');
    await page.getByRole('button', { name: 'Enregistrer et générer le secret' }).click();
    await page.waitForSelector('.fr-error-text');
    expect(await page.locator('.fr-error-text').textContent()).toBe('Doit être une adresse https:// complète.');
    await field.fill('https://127.0.0.1:8443/hooks');
    await page.getByRole('button', { name: 'Enregistrer et générer le secret' }).click();
    await page.waitForSelector('.fr-error-text');
    expect(await page.locator('.fr-error-text').textContent()).toMatch(/127\.0\.0\.1.*n'est pas publique : refusée/);
    expect(await field.inputValue()).toBe('https://127.0.0.1:8443/hooks'); // what was typed is kept
    await look(page, 'partenaire-webhook-erreur');
    // A public address (given as an IP literal: nothing resolves names here, and nothing is delivered in this test).
    await field.fill('https://90.85.10.10/hooks/api-droits-cnam');
    await page.getByRole('button', { name: 'Enregistrer et générer le secret' }).click();
    await page.waitForSelector('#webhook-secret');
    expect(await page.locator('#webhook-secret').textContent()).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    await look(page, 'partenaire-webhook-secret');
    await page.getByRole('link', { name: 'Retour au partenaire' }).click();
    await page.waitForURL(/\/console\/partenaires\/[0-9a-f-]+$/);
    expect(await page.locator('main').textContent()).toContain('https://90.85.10.10/hooks/api-droits-cnam');
    expect(await page.content()).not.toContain('whsec_');
    await page.getByRole('link', { name: 'modifier' }).click();
    await page.getByRole('button', { name: 'Supprimer le webhook' }).click();
    await page.waitForURL(/\/console\/partenaires\/[0-9a-f-]+$/);
    expect(await page.locator('main').textContent()).toContain('webhook supprimé');
    expect(await page.locator('main').textContent()).toContain('aucun enregistré');
    // Removing it again, or changing a maintenance window that does not exist: a French 404 page.
    const csrf = (await page.locator('input[name=_csrf]').first().getAttribute('value'))!;
    const again = await page.request.post(`${t.url}/console/partenaires/${partner.partnerId}/webhook/supprimer`, { form: { _csrf: csrf } });
    expect(again.status()).toBe(404);
    expect(await again.text()).toMatch(/lang="fr"/);
    const noWindow = await page.request.get(`${t.url}/console/disponibilite/maintenance/00000000-0000-4000-8000-000000000000`);
    expect(noWindow.status()).toBe(404);
    expect(await noWindow.text()).toMatch(/lang="fr"/);
    await context.close();
  }, 60_000);

  it('refuses by role on the server: an operator cannot open the audit pages, an auditor cannot approve, nobody without a session', async () => {
    const operatorContext = await browser.newContext();
    const operator = await logIn(operatorContext, OPERATOR_ONLY);
    const refused = await operator.goto(`${t.url}/console/audit`);
    expect(refused!.status()).toBe(403);
    expect(await operator.locator('h1').textContent()).toBe('Accès refusé');
    expect(await operator.locator('header').textContent()).toContain(OPERATOR_ONLY.email); // still logged in, with its own sections
    expect(await operator.content()).not.toMatch(/at .*\.(ts|js):\d+/);
    await look(operator, 'acces-refuse');

    const requestId = await submitRequest('CCAS de Vénissieux');
    const auditorContext = await browser.newContext();
    const auditor = await logIn(auditorContext, AUDITOR_ONLY);
    expect((await auditor.goto(`${t.url}/console/demandes/${requestId}`))!.status()).toBe(403);
    // A forged approval from the auditor's session, with a valid CSRF token from a page it can open, is still refused.
    await auditor.goto(`${t.url}/console/audit`);
    const csrf = await auditor.locator('input[name=_csrf]').first().getAttribute('value');
    const forged = await auditor.request.post(`${t.url}/console/demandes/${requestId}/approuver`, { form: { _csrf: csrf!, scopes: 'droits.ouverture' } });
    expect(forged.status()).toBe(403);
    expect((await api.get(`/admin/api/access-requests/${requestId}`, { token: await operatorToken(t) })).body.status).toBe('pending');

    // Without a session: to the login page. A form posted without its CSRF token: refused, nothing done.
    const anonymous = await (await browser.newContext()).newPage();
    await anonymous.goto(`${t.url}/console/partenaires`);
    expect(new URL(anonymous.url()).pathname).toBe('/console/connexion');
    await look(anonymous, 'connexion');
    // Single sign-on is offered only when configured: its route is a French 404 otherwise.
    const sso = await anonymous.goto(`${t.url}/console/oidc`);
    expect(sso!.status()).toBe(404);
    expect(await anonymous.locator('h1').textContent()).toBe('Page introuvable');
    await anonymous.goto(`${t.url}/console/connexion`);
    expect(await anonymous.getByRole('link', { name: 'Se connecter avec ProConnect' }).count()).toBe(0);
    expect(await anonymous.content()).not.toContain('Bac à sable'); // not a sandbox
    const noToken = await operator.request.post(`${t.url}/console/demandes/${requestId}/rejeter`, { form: { reason: 'sans jeton' } });
    expect(noToken.status()).toBe(403);
    expect(await noToken.text()).toContain('Formulaire expiré');
    expect((await api.get(`/admin/api/access-requests/${requestId}`, { token: await operatorToken(t) })).body.status).toBe('pending');
    await operatorContext.close();
    await auditorContext.close();
  }, 60_000);

  it('shows a French error beside a wrong field and keeps what was typed', async () => {
    const context = await browser.newContext({ locale: 'fr-FR' });
    const page = await logIn(context, OPERATOR);
    await page.goto(`${t.url}/console/disponibilite`);
    await page.getByLabel('Début (heure de Paris)').fill('2030-06-01T22:00');
    await page.getByLabel('Fin (heure de Paris)').fill('2030-06-01T20:00'); // before the start
    await page.getByLabel('Motif (public)').fill('Montée de version');
    await page.getByRole('button', { name: 'Annoncer la maintenance' }).click();
    await page.waitForSelector('.fr-error-text');
    expect(await page.locator('#field-end-error').textContent()).toBe('Doit être après le début.');
    expect(await page.getByLabel('Motif (public)').inputValue()).toBe('Montée de version');
    expect(await page.getByLabel('Début (heure de Paris)').inputValue()).toBe('2030-06-01T22:00');
    expect((await api.get('/admin/api/maintenance-windows', { token: await operatorToken(t) })).body
      .some((w: { reason: string }) => w.reason === 'Montée de version')).toBe(false);
    await look(page, 'erreur-champ');
    await context.close();
  }, 60_000);

  it('pages lists that grow, 50 rows at a time', async () => {
    for (let i = 0; i < 52; i++) await submitRequest(`Commune n° ${i}`);
    const pending = (await api.get('/admin/api/access-requests?status=pending', { token: await operatorToken(t) })).body.length;
    const context = await browser.newContext({ locale: 'fr-FR' });
    const page = await logIn(context, OPERATOR_ONLY);
    await page.goto(`${t.url}/console/demandes`);
    expect(await page.locator('tbody tr').count()).toBe(50);
    await page.getByRole('link', { name: 'Page suivante' }).click();
    await page.waitForURL(/page=2/);
    expect(await page.locator('tbody tr').count()).toBe(pending - 50);
    expect(await page.getByRole('link', { name: 'Page suivante' }).getAttribute('aria-disabled')).toBe('true'); // the last page
    await look(page, 'demandes-page-2');
    await page.getByRole('link', { name: 'Page précédente' }).click();
    await page.waitForURL(/page=1/);
    expect(await page.locator('tbody tr').count()).toBe(50);
    await context.close();
  }, 60_000);

  it('exports and verifies the Paris days chosen in the search, the last one included', async () => {
    const today = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Paris' }).format(t.clock.now());
    const context = await browser.newContext({ locale: 'fr-FR' });
    const page = await logIn(context, AUDITOR_ONLY);
    await page.goto(`${t.url}/console/audit`);
    // How long the trail keeps entries (the database's period, the default 36 months), and that nothing was removed yet.
    expect((await page.locator('#retention').textContent())!.replace(/\s+/g, ' ')).toMatch(
      /Les entrées sont conservées 36 mois\..*Aucune entrée n'a encore atteint cette durée/);
    await page.getByLabel('Du', { exact: true }).fill(today);
    await page.getByLabel('Au (inclus)').fill(today);
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await page.waitForSelector('h2:has-text("Résultats")');
    // The export covers the same days as the search: from the day's start in Paris to the next day's, not UTC midnights.
    const href = new URL((await page.getByRole('link', { name: 'Exporter en NDJSON' }).getAttribute('href'))!, t.url);
    const dayStart = (day: string) => Date.parse(`${day}T00:00:00${new Intl.DateTimeFormat('en', { timeZone: 'Europe/Paris', timeZoneName: 'longOffset' })
      .formatToParts(new Date(`${day}T12:00:00Z`)).find((p) => p.type === 'timeZoneName')!.value.replace('GMT', '') || 'Z'}`);
    const next = new Date(Date.parse(`${today}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    expect(Date.parse(href.searchParams.get('from')!)).toBe(dayStart(today));
    expect(Date.parse(href.searchParams.get('to')!)).toBe(dayStart(next));
    await t.app.get(AuditSealer).sealPending(); // the auditor's own login and search, at least
    const exported = (await api.get(`${href.pathname}${href.search}`, { token: await operatorToken(t) })).text.trim().split('\n');
    expect(exported.length).toBeGreaterThan(1); // the header and today's entries
    await page.getByRole('button', { name: /^Vérifier la période choisie \(du .* inclus\)$/ }).click();
    await page.waitForSelector('.fr-alert');
    expect(await page.locator('main').textContent()).toMatch(/La chaîne est intacte sur la période \(du .+ au .+ inclus\)/);
    await look(page, 'audit-verification-periode');
    // A forged or mistyped day is named beside its field, and nothing is verified.
    await page.locator('form:has(#verify-period) input[name="from"]').evaluate((input) => ((input as { value: string }).value = 'hier'));
    const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/console/audit/verifier')),
      page.locator('#verify-period').click()]);
    expect(refused.status()).toBe(400);
    await page.waitForSelector('text=Saisissez une date.');
    expect(await page.locator('.fr-alert--success').count()).toBe(0);
    await context.close();
  }, 60_000);

  it('tells an auditor in French that other verifications are running or waiting, not that they tried too often', async () => {
    const auditor = await operatorToken(t);
    const context = await browser.newContext({ locale: 'fr-FR' });
    // One verification held (as a long range holds it), four waiting behind it: the line is full.
    const service = t.app.get(AuditService);
    const verifyNow = (service as unknown as { verifyNow: (...args: unknown[]) => Promise<unknown> }).verifyNow.bind(service);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const spy = jest.spyOn(service as never, 'verifyNow').mockImplementation((async (...args: unknown[]) => {
      await held;
      return verifyNow(...args);
    }) as never);
    try {
      const page = await logIn(context, AUDITOR_ONLY);
      const today = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Paris' }).format(t.clock.now());
      await page.goto(`${t.url}/console/audit`);
      await page.getByLabel('Du', { exact: true }).fill(today);
      await page.getByLabel('Au (inclus)').fill(today);
      await page.getByRole('button', { name: 'Rechercher' }).click();
      await page.waitForSelector('#verify-period');
      const running = Array.from({ length: 5 }, () => api.get('/admin/api/audit/verify', { token: auditor }));
      await eventually('four verifications waiting', () => service.verificationsQueued() === 4);
      const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/console/audit/verifier')),
        page.locator('#verify-period').click()]);
      expect(answer.status()).toBe(429);
      await page.waitForSelector('h1:has-text("Vérifications en attente")');
      expect(await page.locator('main').textContent()).toContain("D'autres vérifications de la chaîne sont en cours ou attendent");
      await look(page, 'erreur-verifications-en-attente');
      release();
      for (const done of await Promise.all(running)) expect(done.body).toMatchObject({ ok: true });
    } finally {
      release();
      spy.mockRestore();
      await context.close();
    }
  }, 60_000);

  // Last but the axe summary: the instance's stop cannot be undone.
  it('tells an auditor in French that a verification was cut short by the instance stopping, and to start it again', async () => {
    const context = await browser.newContext({ locale: 'fr-FR' });
    const page = await logIn(context, AUDITOR_ONLY);
    await page.goto(`${t.url}/console/audit`);
    t.app.get(Stopping).begin();
    await page.getByRole('button', { name: 'Vérifier toute la chaîne' }).click();
    await page.waitForSelector('h1:has-text("Service en cours de redémarrage")');
    expect(await page.locator('main').textContent()).toMatch(/redémarre : elle a été interrompue et rien n'a été modifié\. Relancez-la/);
    expect(await page.locator('main').textContent()).toContain('instance_stopping');
    await look(page, 'erreur-redemarrage');
    await context.close();
  }, 60_000);

  it('has no serious or critical accessibility violation on any page (axe)', () => {
    expect(scanned.length).toBeGreaterThanOrEqual(20);
    expect(scanned.filter((s) => s.violations.length > 0)).toEqual([]);
  });
});
