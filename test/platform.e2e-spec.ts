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

  it('exposes every series the example alert rules read (a renamed metric would silence its alert)', async () => {
    const rules = parse(readFileSync(join(__dirname, '../deploy/prometheus/alerts.yml'), 'utf8')) as
      { groups: { rules: { alert: string; expr: string }[] }[] };
    const read = new Set(rules.groups.flatMap((group) => group.rules.flatMap((rule) => rule.expr.match(/\bgateway_\w+/g) ?? [])));
    expect(read).toContain('gateway_audit_retention_overdue_seconds');
    const exposed = new Set([...(await api.get('/metrics')).text.matchAll(/^# HELP (\w+) /gm)].map((match) => match[1]));
    expect([...read].filter((name) => !exposed.has(name))).toEqual([]);
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
  // Docker Compose reads YAML merge keys (<<), as the two gateway instances share one definition.
  const compose = parse(readFileSync(join(__dirname, '../docker-compose.yml'), 'utf8'), { merge: true });
  const known = new Set(Object.keys(new EnvironmentVariables()));
  const gateways = ['gateway-1', 'gateway-2'];

  it('runs PostgreSQL, Redis, the simulator, two gateway instances and a proxy, each with a healthcheck', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway-1', 'gateway-2', 'postgres', 'proxy', 'redis', 'simulator']);
    for (const service of Object.values(compose.services) as { healthcheck?: { test: unknown } }[]) {
      expect(service.healthcheck?.test).toBeDefined();
    }
    for (const name of gateways) {
      expect(compose.services[name].depends_on).toEqual({ postgres: { condition: 'service_healthy' },
        simulator: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
      expect(compose.services[name].ports).toBeUndefined(); // reached through the proxy only
    }
    expect(compose.services.proxy.depends_on).toEqual({ 'gateway-1': { condition: 'service_healthy' }, 'gateway-2': { condition: 'service_healthy' } });
  });

  it('gives each gateway only variables it knows, pointing at the other services, with one secret and a shared rate limit', () => {
    for (const name of gateways) {
      const env = compose.services[name].environment as Record<string, string>;
      for (const variable of Object.keys(env)) expect(known).toContain(variable);
      expect(env.DATABASE_URL).toMatch(/@postgres:5432\/gateway$/);
      expect(env.DATABASE_URL).toContain(`postgres://${compose.services.postgres.environment.POSTGRES_USER}:`);
      expect(env.UPSTREAM_URL).toBe(`http://simulator:${compose.services.simulator.environment.SIMULATOR_PORT}`);
      expect(env.HOST).toBe('0.0.0.0');
      expect(env).toMatchObject({ RATE_LIMIT_POLICY: 'redis', RATE_LIMIT_REDIS_URL: 'redis://redis:6379', RATE_LIMIT_INSTANCES: String(gateways.length) });
      expect(env.SECRET_KEY).toMatch(/^\$\{SECRET_KEY:\?/);
      expect(env.TRUSTED_PROXIES).toBe(compose.services.proxy.networks.backend.ipv4_address);
      // The graceful stop ends by its own deadline before Docker's SIGKILL.
      expect(Number(env.SHUTDOWN_TIMEOUT_MS) / 1000).toBeLessThan(parseInt(compose.services[name].stop_grace_period, 10));
    }
  });

  it('puts the proxy in front of both instances, on the port the README gives', () => {
    const nginx = readFileSync(join(__dirname, '../deploy/nginx/gateway.conf'), 'utf8');
    for (const name of gateways) expect(nginx).toContain(`server ${name}:${compose.services[name].environment.PORT}`);
    const listen = /listen (\d+);/.exec(nginx)![1];
    expect(compose.services.proxy.ports).toEqual([`3000:${listen}`]);
    expect(compose.services.proxy.volumes).toEqual(['./deploy/nginx/gateway.conf:/etc/nginx/conf.d/default.conf:ro']);
    expect(nginx).toMatch(/proxy_next_upstream error;/); // never replays a lookup that may have been answered
    // The proxy closes its idle connections before the gateway would: never a lookup sent on a connection being closed.
    const proxyIdle = Number(/\n    keepalive_timeout (\d+)s;/.exec(nginx)![1]) * 1000;
    for (const name of gateways) {
      const gatewayIdle = Number(compose.services[name].environment.HTTP_KEEP_ALIVE_TIMEOUT_MS ?? new EnvironmentVariables().HTTP_KEEP_ALIVE_TIMEOUT_MS);
      expect(proxyIdle).toBeLessThan(gatewayIdle);
    }
    expect(nginx).toMatch(/location = \/metrics \{\s*return 404;\s*\}/); // scraped per instance, not from outside
    // A verification answers once it has recomputed its whole range: longer than a lookup's 30 s at the proxy.
    const verification = /location ~ \^\/\(admin\/api\/audit\/verify\|console\/audit\/verifier\)\$ \{([^}]*)\}/.exec(nginx)![1];
    expect(verification).toMatch(/proxy_read_timeout 1h;/);
    expect(nginx).toMatch(/\n    proxy_read_timeout 30s;/);
  });

  it('builds images whose commands exist in the compiled output', () => {
    const dockerfile = readFileSync(join(__dirname, '../Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/CMD \["node", "--max-semi-space-size=32", "dist\/src\/main.js"\]/);
    expect(compose.services.simulator.command).toEqual(['node', 'dist/simulator/server.js']);
    expect(() => readFileSync(join(__dirname, '../dist/simulator/server.js'))).not.toThrow();
    expect(() => readFileSync(join(__dirname, '../dist/src/main.js'))).not.toThrow();
  });
});
