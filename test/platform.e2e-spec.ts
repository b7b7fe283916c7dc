import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EnvironmentVariables } from '../src/common/config/config';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

describe('platform: health, OpenAPI, deployment files', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp();
    api = client(t.url);
  });
  afterAll(() => t?.close());

  it('answers liveness and readiness', async () => {
    expect((await api.get('/health/live')).body).toEqual({ status: 'ok' });
    expect((await api.get('/health/ready')).body).toEqual({ status: 'ok', database: 'ok' });
  });

  it('serves an OpenAPI document generated from the code, and a browsable /docs', async () => {
    const doc = await api.get('/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    for (const path of ['/v1/access-requests', '/oauth/token', '/.well-known/jwks.json', '/v1/me', '/v1/terms/current',
      '/admin/api/access-requests/{id}/approve', '/admin/api/partners/{id}/suspend', '/admin/api/session',
      '/v1/droits/recherche', '/admin/api/maintenance-windows']) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
    const schema = doc.body.components.schemas.AccessRequestDto;
    expect(schema.required).toEqual(expect.arrayContaining(['organisation', 'scopes', 'recipients', 'termsVersion']));
    expect(doc.body.components.schemas.LookupDto.required).toEqual(expect.arrayContaining(['recipient', 'object', 'agent']));
    expect(Object.keys(doc.body.paths['/v1/droits/recherche'].post.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '429', '502', '503', '504']));
    const docs = await api.get('/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toMatch(/swagger/i);
  });

  it('serves the console\'s pages with a strict content security policy, and the DSFR from its own origin', async () => {
    const page = await api.get('/console/connexion');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    // No inline script or style, and nothing from another host.
    expect(page.text).not.toMatch(/<script>|<style|style="/);
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const asset of ['/assets/dsfr/dsfr.min.css', '/assets/dsfr/dsfr.module.min.js', '/assets/dsfr/fonts/Marianne-Regular.woff2',
      '/assets/console.css', '/assets/console.js']) {
      expect([asset, (await api.get(asset)).status]).toEqual([asset, 200]);
    }
    const session = await api.get('/console');
    expect(session.status).toBe(200); // fetch follows the redirect to the login page
    expect(session.text).toContain('Connexion à la console');
  });

  it('sends no stack or internal detail in a problem', async () => {
    const answer = await api.post('/admin/api/session', { email: 'a@b.c', password: 'x', extra: 1 });
    expect(answer.text).not.toMatch(/at \w+ \(|node_modules|\.ts:/);
  });
});

describe('a sandbox (SANDBOX=true)', () => {
  it('says so on every console page and on the status page', async () => {
    const sandbox = await startTestApp({ SANDBOX: 'true', SANDBOX_UPSTREAM_OK: 'true' });
    try {
      for (const path of ['/console/connexion', '/status']) expect((await client(sandbox.url).get(path)).text).toContain('Bac à sable');
    } finally {
      await sandbox.close();
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(__dirname, '../docker-compose.yml'), 'utf8'));
  const known = new Set(Object.keys(new EnvironmentVariables()));

  it('runs PostgreSQL, the simulator and the gateway, each with a healthcheck', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'postgres', 'simulator']);
    for (const service of Object.values(compose.services) as { healthcheck?: { test: unknown } }[]) {
      expect(service.healthcheck?.test).toBeDefined();
    }
    expect(compose.services.gateway.depends_on).toEqual({
      postgres: { condition: 'service_healthy' }, simulator: { condition: 'service_healthy' } });
  });

  it('gives the gateway only variables it knows, pointing at the other services', () => {
    const env = compose.services.gateway.environment as Record<string, string>;
    for (const name of Object.keys(env)) expect(known).toContain(name);
    expect(env.DATABASE_URL).toMatch(/@postgres:5432\/gateway$/);
    expect(env.DATABASE_URL).toContain(`postgres://${compose.services.postgres.environment.POSTGRES_USER}:`);
    expect(env.UPSTREAM_URL).toBe(`http://simulator:${compose.services.simulator.environment.SIMULATOR_PORT}`);
    expect(env.HOST).toBe('0.0.0.0');
    expect(compose.services.gateway.ports).toEqual([`${env.PORT}:${env.PORT}`]);
  });

  it('builds images whose commands exist in the compiled output', () => {
    const dockerfile = readFileSync(join(__dirname, '../Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/CMD \["node", "--max-semi-space-size=32", "dist\/src\/main.js"\]/);
    expect(compose.services.simulator.command).toEqual(['node', 'dist/simulator/server.js']);
    expect(() => readFileSync(join(__dirname, '../dist/simulator/server.js'))).not.toThrow();
    expect(() => readFileSync(join(__dirname, '../dist/src/main.js'))).not.toThrow();
  });
});
