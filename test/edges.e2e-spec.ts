import { connect, Socket } from 'node:net';
import { accessRequestBody, basic, onboardPartner, operatorToken, partnerToken } from './support/factories';
import { client } from './support/http';
import { OPERATOR, startTestApp, TestApp } from './support/test-app';

/** A raw connection to the gateway, to send what fetch never would (slow bodies, many idle sockets). */
function rawSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Resolves with what the server sent and how long after `since` it closed the connection. */
function closed(socket: Socket, since: number): Promise<{ ms: number; received: string }> {
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  return new Promise((resolve) => socket.on('close', () => resolve({ ms: Date.now() - since, received })));
}

const form = (fields: Record<string, string>) => ({ raw: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' } });

/** Edges anyone can reach without a valid account: each answers a 4xx problem, never a 500 (issue: hardening). */
describe('edges reachable without a valid account', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp({ HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_MAX_CONNECTIONS: '40' });
    api = client(t.url);
  });
  afterAll(() => t?.close());

  describe('values no route accepts, refused at the one entry point', () => {
    it('refuses a NUL byte in a form field, an HTTP Basic credential, a JSON field and a query parameter', async () => {
      const token = await api.send('POST', '/oauth/token', form({ grant_type: 'client_credentials', client_id: '\u0000', client_secret: 'x' }));
      expect(token.status).toBe(400);
      expect(token.body).toMatchObject({ error: 'invalid_request', code: 'invalid_request' });
      const basicNul = await api.send('POST', '/oauth/token', { ...form({ grant_type: 'client_credentials' }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('\u0000', 'x') } });
      expect(basicNul.status).toBe(401);
      expect(basicNul.body).toMatchObject({ error: 'invalid_client' });
      const login = await api.post('/admin/api/session', { email: 'ops\u0000@dinsic.test', password: 'whatever it is' });
      expect(login.status).toBe(400);
      expect(login.body).toMatchObject({ code: 'invalid_request', errors: [{ field: 'email', reason: 'must not contain a NUL character' }] });
      const partner = await partnerToken(t, await onboardPartner(t));
      const query = await api.get('/v1/me/accesses?agent=%00', { token: partner });
      expect(query.status).toBe(400);
      expect(query.body.errors).toEqual([{ field: 'query.agent', reason: 'must not contain a NUL character' }]);
    });

    it('refuses a lone UTF-16 surrogate instead of storing it as U+FFFD, and stores nothing', async () => {
      const [{ count: before }] = await t.sql<{ count: string }>('SELECT count(*) FROM access_requests');
      const body = JSON.stringify(accessRequestBody()).replace('Camille Martin', 'Camille \\ud800Martin');
      const refused = await api.send('POST', '/v1/access-requests', { raw: body, headers: { 'content-type': 'application/json' } });
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([{ field: 'contact.name', reason: 'must be valid Unicode text (it holds a lone surrogate)' }]);
      const login = await api.send('POST', '/admin/api/session', { raw: '{"email":"\\udfffops@dinsic.test","password":"whatever it is"}',
        headers: { 'content-type': 'application/json' } });
      expect(login.status).toBe(400);
      expect((await t.sql<{ count: string }>('SELECT count(*) FROM access_requests'))[0].count).toBe(before);
      // A character outside the BMP is a surrogate pair: valid text, accepted.
      expect((await api.post('/v1/access-requests', accessRequestBody({ purpose: "instruction des demandes d'aide sociale 🏛" }))).status).toBe(201);
    });

    it('refuses JSON nested thousands of levels deep with a 400, on a route validated by class-transformer', async () => {
      const deep = '{"organisation":'.repeat(3000) + '{}' + '}'.repeat(3000);
      const answer = await api.send('POST', '/v1/access-requests', { raw: deep, headers: { 'content-type': 'application/json' } });
      expect(answer.status).toBe(400);
      expect(answer.body.errors[0].reason).toBe('must not nest deeper than 16 levels');
      expect((await api.get('/health/live')).status).toBe(200);
    });

    it('answers a malformed percent-encoded console cookie with a 401, not a 500', async () => {
      const answer = await api.get('/admin/api/partners', { headers: { cookie: 'cnam_console_session=%E0%A4%A' } });
      expect(answer.status).toBe(401);
      expect(answer.body.code).toBe('session_missing');
    });
  });

  describe('connections', () => {
    it('cuts a request whose body never finishes arriving, within the request timeout', async () => {
      const socket = await rawSocket(t.url);
      const started = Date.now();
      const end = closed(socket, started);
      socket.write('POST /v1/access-requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"organ');
      const drip = setInterval(() => socket.writable && socket.write(' '), 200);
      const { ms, received } = await end;
      clearInterval(drip);
      expect(ms).toBeLessThan(4000);
      expect(received).toMatch(/^HTTP\/1.1 408/);
    });

    it('cuts a client that never finishes its headers', async () => {
      const socket = await rawSocket(t.url);
      const end = closed(socket, Date.now());
      socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
      const { ms } = await end;
      clearInterval(drip);
      expect(ms).toBeLessThan(4000);
    });

    it('bounds the number of open connections', async () => {
      const sockets = await Promise.all(Array.from({ length: 40 }, () => rawSocket(t.url)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const extra = await rawSocket(t.url);
      const refused = closed(extra, Date.now());
      extra.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
      const { ms, received } = await refused;
      expect(ms).toBeLessThan(500);
      expect(received).toBe('');
      // The connections already open are served.
      const served = closed(sockets[0], Date.now());
      sockets[0].end('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect((await served).received).toMatch(/^HTTP\/1.1 200/);
      for (const socket of sockets) socket.destroy();
    });
  });

  describe('headers', () => {
    it('sends nosniff and HSTS on every answer, and no-store on answers that carry secrets or traces', async () => {
      const operator = await operatorToken(t);
      const partner = await onboardPartner(t);
      const token = await partnerToken(t, partner);
      const answers = {
        session: await api.post('/admin/api/session', OPERATOR),
        accesses: await api.get('/v1/me/accesses', { token }),
        audit: await api.get('/admin/api/audit', { token: operator }),
        rotated: await api.post(`/admin/api/partners/${partner.partnerId}/credentials`, {}, { token: operator }),
        notFound: await api.get('/nothing-here'),
        lookupRefused: await api.post('/v1/droits/recherche', {}),
      };
      for (const [name, answer] of Object.entries(answers)) {
        expect([name, answer.headers.get('x-content-type-options')]).toEqual([name, 'nosniff']);
        expect([name, answer.headers.get('strict-transport-security')]).toEqual([name, 'max-age=31536000; includeSubDomains']);
        expect([name, answer.headers.get('cache-control')]).toEqual([name, 'no-store']);
      }
      expect(answers.rotated.status).toBe(200);
      expect((await api.get('/.well-known/jwks.json')).headers.get('cache-control')).toBe('public, max-age=300');
    });
  });

  describe('the OpenAPI document', () => {
    it('shows every operator and partner route as authenticated, and the public ones as open', async () => {
      const document = (await api.get('/openapi.json')).body as { paths: Record<string, Record<string, { security?: unknown[] }>> };
      const open = new Set(['post /admin/api/session', 'post /v1/access-requests', 'get /v1/terms', 'get /v1/terms/current',
        'post /oauth/token', 'get /.well-known/jwks.json', 'get /v1/audit/checkpoints/latest', 'get /health/live', 'get /health/ready',
        'get /metrics', 'get /console', 'get /v1/status', 'get /v1/open-data/usage.csv']);
      const wrong: string[] = [];
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const key = `${method} ${path}`;
          const secured = (operation.security ?? []).length > 0;
          if (secured === open.has(key)) wrong.push(`${key}: ${secured ? 'secured' : 'open'}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(document.paths['/admin/api/partners'].get.security).toEqual(expect.arrayContaining([{ bearer: [] }, { 'console-session': [] }]));
    });
  });
});

describe('throttles that a third party cannot turn against an account', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  const from = (address: string, headers: Record<string, string> = {}) => ({ ...headers, 'x-forwarded-for': address });

  beforeAll(async () => {
    t = await startTestApp({ TRUSTED_PROXIES: '127.0.0.1', LOGIN_FAILURES_PER_MINUTE: '10', LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE: '20',
      ACCESS_REQUESTS_PER_HOUR: '3' });
    api = client(t.url);
  });
  afterAll(() => t?.close());

  const tokenFrom = (address: string, clientId: string, secret: string) => api.send('POST', '/oauth/token', {
    ...form({ grant_type: 'client_credentials' }),
    headers: from(address, { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, secret) }) });

  it('lets the owner of a client_id get tokens while someone elsewhere guesses its secret', async () => {
    const partner = await onboardPartner(t);
    const statuses: number[] = [];
    for (let i = 0; i < 70; i++) statuses.push((await tokenFrom('203.0.113.9', partner.clientId, `guess-${i}`)).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(new Set(statuses.slice(10))).toEqual(new Set([429]));
    expect((await tokenFrom('198.51.100.4', partner.clientId, partner.clientSecret)).status).toBe(200);
  });

  it('stops one address spraying many client ids or e-mails', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) statuses.push((await tokenFrom('203.0.113.10', `client-${i}`, 'guess')).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20)).toEqual([429, 429]);
    const logins: number[] = [];
    for (let i = 0; i < 22; i++) {
      logins.push((await api.post('/admin/api/session', { email: `op-${i}@dinsic.test`, password: 'guess guess guess' },
        { headers: from('203.0.113.11') })).status);
    }
    expect(logins.slice(20)).toEqual([429, 429]);
  });

  it('lets an operator log in while someone elsewhere guesses the password', async () => {
    for (let i = 0; i < 12; i++) await api.post('/admin/api/session', { ...OPERATOR, password: `guess ${i}` }, { headers: from('203.0.113.12') });
    expect((await api.post('/admin/api/session', OPERATOR, { headers: from('203.0.113.12') })).status).toBe(429);
    const owner = await api.post('/admin/api/session', OPERATOR, { headers: from('198.51.100.5') });
    expect(owner.status).toBe(200);
  });

  it('believes X-Forwarded-For and X-Forwarded-Proto only from the configured proxy: Secure cookie over HTTPS', async () => {
    const overHttps = await api.post('/admin/api/session', OPERATOR, { headers: from('198.51.100.6', { 'x-forwarded-proto': 'https' }) });
    expect(overHttps.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    const overHttp = await api.post('/admin/api/session', OPERATOR, { headers: from('198.51.100.6') });
    expect(overHttp.headers.get('set-cookie')).not.toMatch(/Secure/);
  });

  it('limits access requests per address and per hour', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.post('/v1/access-requests', accessRequestBody(), { headers: from('203.0.113.20') })).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const refused = await api.post('/v1/access-requests', accessRequestBody(), { headers: from('203.0.113.20') });
    expect(refused.body.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api.post('/v1/access-requests', accessRequestBody(), { headers: from('203.0.113.21') })).status).toBe(201);
  });
});

describe('X-Forwarded-For from a client that is not a trusted proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOGIN_FAILURES_PER_MINUTE: '3' });
  });
  afterAll(() => t?.close());

  it('is ignored: a blocked address cannot unblock itself by claiming another', async () => {
    const api = client(t.url);
    for (let i = 0; i < 3; i++) await api.post('/admin/api/session', { ...OPERATOR, password: `guess ${i}` });
    const claimed = await api.post('/admin/api/session', OPERATOR, { headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(claimed.status).toBe(429);
    const overHttps = await api.post('/admin/api/session', { ...OPERATOR, email: 'other@dinsic.test' },
      { headers: { 'x-forwarded-proto': 'https' } });
    expect(overHttps.status).toBe(401);
  });
});
