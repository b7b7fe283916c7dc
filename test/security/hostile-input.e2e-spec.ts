import fc from 'fast-check';
import { connect } from 'node:net';
import { startSimulator, Simulator } from '../../simulator/server';
import { gatewayEnv, GatewayProcess, sleep, startGatewayProcess } from '../faults/harness';
import { consoleMutations, declaredRoutes } from '../support/declared-routes';
import { createTestDatabase } from '../support/database';
import { accessRequestBody, basic, makeSiret, onboardPartner, OnboardedPartner, operatorToken, partnerToken, SIRET_CCAS_LYON } from '../support/factories';
import { client, http, HttpAnswer } from '../support/http';
import { OPERATOR, TestApp } from '../support/test-app';

const NIRS = ['284057505612387', '171122A00400106', '192036912304577', '299011305520042'];
const SQL_INJECTIONS = ["'; DROP TABLE partners; --", '" OR "1"="1', "' OR 1=1 --", '1; SELECT pg_sleep(5)', '$1', "\\'; COPY audit_entries TO '/tmp/x'; --"];
const BODIES_PER_ROUTE = 2000;
const CONCURRENCY = 16;
const AUDITOR = { email: 'auditrice@dinsic.test', password: 'auditor password 1234', roles: ['auditor'] };
const OPERATOR_ONLY = { email: 'operateur@dinsic.test', password: 'operator password 1234', roles: ['operator'] };
const ADMIN_ONLY = { email: 'admin-seul@dinsic.test', password: 'admin password 1234', roles: ['admin'] };

type Operation = { requestBody?: { content: Record<string, { example?: unknown }> }; parameters?: { name: string; in: string }[] };

/**
 * Hostile input against the real gateway process (issue 14's security suite): other partners' data, other roles'
 * actions, forged console forms, injection strings, oversized, deep, NUL and lone-surrogate input, slow bodies,
 * header injection, and a fuzzer over every route of the OpenAPI document. No 5xx, no crash, nothing leaked —
 * and, at the end, none of the test's NIRs, secrets, passwords or tokens in anything the gateway logged.
 */
describe('security: hostile input', () => {
  let simulator: Simulator;
  let database: { url: string; drop(): Promise<void> };
  let gateway: GatewayProcess;
  let api: ReturnType<typeof client>;
  let a: OnboardedPartner & { token: string; trackingToken?: string };
  let b: OnboardedPartner & { token: string };
  let admin: string;
  const secrets: string[] = [OPERATOR.password, AUDITOR.password, OPERATOR_ONLY.password, ADMIN_ONLY.password];

  const lookup = (token: string, body: Record<string, unknown> = {}) => api.post('/v1/droits/recherche',
    { nir: NIRS[0], recipient: SIRET_CCAS_LYON, context: 'RSA', object: 'dossier 1', agent: 'agent-1', ...body }, { token });
  const noServerError = (answers: HttpAnswer[]) => expect(answers.filter((x) => x.status >= 500).map((x) => x.text.slice(0, 200))).toEqual([]);

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    database = await createTestDatabase();
    // The throttles keep their production values: once the fuzzer has spent an address's failed logins, its other
    // attempts are refused with 429 before any scrypt, which keeps the suite from starving the files run beside it.
    gateway = await startGatewayProcess(gatewayEnv(database.url, simulator.url, { LOG_LEVEL: 'debug', HTTP_REQUEST_TIMEOUT_MS: '2000',
      ACCESS_REQUESTS_PER_HOUR: '1000' }));
    api = client(gateway.url);
    const target = { url: gateway.url } as TestApp;
    admin = await operatorToken(target);
    for (const account of [AUDITOR, OPERATOR_ONLY]) expect((await api.post('/admin/api/operators', account, { token: admin })).status).toBe(201);
    const pa = await onboardPartner(target, { organisation: { name: 'CCAS de Lyon', siret: SIRET_CCAS_LYON } }, { rateLimitPerSecond: 100_000 });
    const pb = await onboardPartner(target, { organisation: { name: 'CAF du Rhône', siret: makeSiret('2169012310002') },
      recipients: [makeSiret('2169012310002')] }, { rateLimitPerSecond: 100_000 });
    a = { ...pa, token: await partnerToken(target, pa) };
    b = { ...pb, token: await partnerToken(target, pb) };
    secrets.push(a.clientSecret, b.clientSecret, a.token, b.token, admin);
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop('SIGKILL');
    await database?.drop();
    await simulator?.close();
  });

  it('never shows a partner another partner\'s accesses, notifications, usage or access request (BOLA)', async () => {
    expect((await lookup(b.token, { recipient: makeSiret('2169012310002'), agent: 'agent-de-b' })).status).toBe(200);
    expect((await lookup(a.token, { agent: 'agent-de-a' })).status).toBe(200);
    const accesses = (await api.get('/v1/me/accesses', { token: a.token })).body;
    expect(accesses.entries.length).toBeGreaterThan(0);
    expect(accesses.entries.every((e: { partner_id: string; agent: string }) => e.partner_id === a.partnerId && e.agent !== 'agent-de-b')).toBe(true);
    const filtered = (await api.get(`/v1/me/accesses?agent=agent-de-b&partner=${b.partnerId}`, { token: a.token })).body;
    expect(filtered.entries ?? []).toEqual([]);
    const notifications = (await api.get('/v1/me/notifications', { token: a.token })).body.notifications;
    expect(JSON.stringify(notifications)).not.toContain('CAF du Rhône');
    // An access request is reached with its own tracking token only.
    const submitted = await api.post('/v1/access-requests', accessRequestBody({ organisation: { name: 'CCAS de Bron', siret: makeSiret('2169012310003') } }));
    expect((await api.get(`/v1/access-requests/${submitted.body.id}`, { token: a.token })).status).toBe(404);
    expect((await api.get(`/v1/access-requests/${submitted.body.id}`, { token: submitted.body.tracking_token })).status).toBe(200);
    secrets.push(submitted.body.tracking_token);
    // A partner's token opens no operator route, whatever the partner id in the path.
    for (const path of [`/admin/api/partners/${b.partnerId}`, '/admin/api/audit', `/admin/api/partners/${a.partnerId}`]) {
      expect((await api.get(path, { token: a.token })).status).toBe(401);
    }
    // The recipient must be one of the caller's own SIRETs, not another partner's.
    expect((await lookup(a.token, { recipient: makeSiret('2169012310002') })).body).toMatchObject({ status: 403, code: 'recipient_not_declared' });
    // Every partner route that reads (from the controllers' decorators), asked by a with b's id wherever one fits —
    // in the path, or as a query parameter a route might take — answers nothing of b.
    const reads = declaredRoutes().filter((route) => route.policy?.kind === 'partner' && route.method === 'GET');
    expect(reads.length).toBeGreaterThanOrEqual(5);
    const ofB = [b.partnerId, b.clientId, 'CAF du Rhône', 'agent-de-b', makeSiret('2169012310002')];
    const leaks: string[] = [];
    for (const { path } of reads) {
      const answer = await api.get(`${path.replace(/:[a-z]+/gi, b.partnerId)}?partner=${b.partnerId}&partner_id=${b.partnerId}`, { token: a.token });
      const shown = answer.text.replaceAll(`partner=${b.partnerId}`, '').replaceAll(`partner_id=${b.partnerId}`, '');
      for (const value of ofB) if (shown.includes(value)) leaks.push(`${path} → ${answer.status} shows ${value}`);
    }
    expect(leaks).toEqual([]);
  });

  it('refuses every operator route to a role that does not hold it, on the server', async () => {
    const logIn = async (who: { email: string; password: string }) => (await api.post('/admin/api/session', { email: who.email, password: who.password })).body.token as string;
    const auditor = await logIn(AUDITOR);
    const operator = await logIn(OPERATOR_ONLY);
    secrets.push(auditor, operator);
    const refused = [
      await api.post(`/admin/api/partners/${b.partnerId}/suspend`, { reason: 'Tentative' }, { token: auditor }),
      await api.post('/admin/api/operators', { email: 'intrus@dinsic.test', password: 'mot de passe intrus', roles: ['admin'] }, { token: operator }),
      await api.get('/admin/api/audit', { token: operator }),
      await api.get('/admin/api/audit/export', { token: operator }),
      await api.send('PUT', `/admin/api/partners/${b.partnerId}/webhook`, { body: { url: 'https://8.8.8.8/x' }, token: auditor }),
      await api.get('/admin/api/operators', { token: operator }),
    ];
    expect(refused.map((answer) => [answer.status, answer.body.code])).toEqual(Array(refused.length).fill([403, 'role_required']));

    // Then every route that asks for a role (read from the controllers' decorators: the API's and the console's), tried
    // by each one-role account without it, with partner b's id where it takes one: a route that let one through would act.
    expect((await api.post('/admin/api/operators', ADMIN_ONLY, { token: admin })).status).toBe(201);
    const accounts = { auditor, operator, admin: await logIn(ADMIN_ONLY) };
    secrets.push(accounts.admin);
    const guarded = declaredRoutes().filter((route) => route.policy?.kind === 'operator' && route.policy.anyOfRoles.length > 0);
    expect(guarded.length).toBeGreaterThanOrEqual(40);
    const tried: string[] = [];
    const wrong: string[] = [];
    for (const { method, path, policy } of guarded) {
      const roles = (policy as { anyOfRoles: string[] }).anyOfRoles;
      for (const [role, token] of Object.entries(accounts).filter(([role]) => !roles.includes(role))) {
        const answer = await api.send(method, path.replace(':action', 'suspendre').replace(/:[a-z]+/gi, b.partnerId), { token });
        tried.push(`${method} ${path}`);
        if (answer.status !== 403 || !(answer.body?.code === 'role_required' || answer.text.includes('role_required'))) {
          wrong.push(`${role}: ${method} ${path} → ${answer.status} ${answer.text.slice(0, 100)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(tried.length).toBeGreaterThanOrEqual(guarded.length);
    expect((await api.get(`/admin/api/partners/${b.partnerId}`, { token: admin })).body.status).toBe('active');
    const invented = await api.post('/admin/api/operators', { email: 'x@dinsic.test', password: 'mot de passe assez long', roles: ['superadmin'] }, { token: admin });
    expect(invented.body).toMatchObject({ status: 400, errors: [{ field: 'roles' }] });
  });

  it('refuses every console form that does not carry its CSRF token, or carries another, before it does anything', async () => {
    const page = await fetch(`${gateway.url}/console/connexion`);
    const cookies = page.headers.getSetCookie().map((c) => c.split(';')[0]);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1];
    const login = await fetch(`${gateway.url}/console/connexion`, { method: 'POST', redirect: 'manual', headers: { cookie: cookies.join('; '),
      'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf, email: OPERATOR.email, password: OPERATOR.password }) });
    expect(login.status).toBe(303);
    const session = [...cookies, ...login.headers.getSetCookie().map((c) => c.split(';')[0])].join('; ');
    // Each form of the console's controllers (read from their decorators: a form added later is checked too), with
    // real identifiers where it takes one: a form that let the request through would suspend partner b.
    const mutations = consoleMutations();
    expect(mutations.length).toBeGreaterThanOrEqual(17);
    const refused: string[] = [];
    for (const { method, path } of mutations) {
      const url = gateway.url + path.replace(':action', 'suspendre').replace(/:[a-z]+/gi, b.partnerId);
      for (const form of [{ reason: 'Sans jeton' }, { reason: 'Jeton inventé', _csrf: 'forged-token' }] as Record<string, string>[]) {
        const forged = await fetch(url, { method, redirect: 'manual', headers: { cookie: session,
          'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
        const page = await forged.text();
        if (forged.status === 403 && /lang="fr"/.test(page) && page.includes('csrf_invalid')) refused.push(`${method} ${path}`);
      }
    }
    expect(refused).toEqual(mutations.flatMap(({ method, path }) => [`${method} ${path}`, `${method} ${path}`]));
    expect((await api.get(`/admin/api/partners/${b.partnerId}`, { token: admin })).body.status).toBe('active');
    // The session itself was not ended by the forged logout.
    expect((await fetch(`${gateway.url}/console/partenaires`, { redirect: 'manual', headers: { cookie: session } })).status).toBe(200);
  });

  it('stores injection strings as text, and answers NUL bytes, lone surrogates, oversized and deep bodies with 4xx', async () => {
    const answers: HttpAnswer[] = [];
    for (const injection of SQL_INJECTIONS) {
      const submitted = await api.post('/v1/access-requests', accessRequestBody({ organisation: { name: `CCAS ${injection}`, siret: makeSiret('2169012310004') },
        purpose: injection, legalBasis: `article ${injection}` }));
      answers.push(submitted);
      if (submitted.status === 201) {
        const tracked = await api.get(`/v1/access-requests/${submitted.body.id}`, { token: submitted.body.tracking_token });
        expect(tracked.body.organisation.name).toBe(`CCAS ${injection}`);
      }
      answers.push(await lookup(a.token, { agent: injection, object: injection, context: injection }));
      answers.push(await api.get(`/admin/api/audit?agent=${encodeURIComponent(injection)}`, { token: admin }));
      answers.push(await api.post('/admin/api/session', { email: injection, password: injection }));
    }
    noServerError(answers);
    expect((await api.get('/admin/api/partners', { token: admin })).body.length).toBeGreaterThanOrEqual(2); // the table is still there

    const textFields = ['agent', 'object', 'context', 'recipient', 'nir'];
    for (const field of textFields) {
      for (const bad of ['a\u0000b', 'x\ud800y', '\udfff', 'é\u0000'.repeat(50)]) {
        const answer = await http(gateway.url, 'POST', '/v1/droits/recherche', { token: a.token, headers: { 'content-type': 'application/json' },
          raw: JSON.stringify({ nir: NIRS[0], recipient: SIRET_CCAS_LYON, context: 'RSA', object: 'dossier', agent: 'agent-1', [field]: bad }) });
        expect([field, answer.status, answer.body?.code]).toEqual([field, 400, 'invalid_request']);
      }
    }
    for (const [body, field] of [[{ purpose: 'aide\u0000sociale' }, 'purpose'], [{ contact: { name: 'Camille\ud800', email: 'c@lyon.test' } }, 'contact.name'],
      [{ ['clé\u0000']: 1 }, '']] as const) {
      const refused = await api.post('/v1/access-requests', accessRequestBody(body));
      expect(refused.body).toMatchObject({ status: 400, code: 'invalid_request', errors: [{ field }] });
    }

    const oversized = await http(gateway.url, 'POST', '/v1/access-requests', { raw: JSON.stringify({ purpose: 'x'.repeat(200_000) }),
      headers: { 'content-type': 'application/json' } });
    expect(oversized.body).toMatchObject({ status: 413, code: 'payload_too_large' });
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    for (const path of ['/v1/droits/recherche', '/v1/access-requests', '/admin/api/session']) {
      const answer = await http(gateway.url, 'POST', path, { raw: deep, token: a.token, headers: { 'content-type': 'application/json' } });
      expect([path, answer.status]).toEqual([path, 400]);
    }
    const nested = JSON.stringify(Array.from({ length: 1000 }).reduce<unknown>((inner) => ({ a: inner }), 'x'));
    expect((await http(gateway.url, 'POST', '/v1/droits/recherche', { raw: nested, token: a.token, headers: { 'content-type': 'application/json' } })).status).toBe(400);
  });

  it('refuses a NUL byte or a lone surrogate in every field of every route, naming it, and takes SQL in every text field as text', async () => {
    const doc = (await api.get('/openapi.json')).body as { paths: Record<string, Record<string, Operation>> };
    /** The dotted path of each leaf of an example body (as the refusals name fields), with its value. */
    const leaves = (value: unknown, path = ''): [string, unknown][] => value !== null && typeof value === 'object'
      ? Object.entries(value).flatMap(([key, inner]) => leaves(inner, path ? `${path}.${key}` : key))
      : [[path, value]];
    const replaced = (value: unknown, path: string[], by: unknown): unknown => {
      if (path.length === 0) return by;
      const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string, unknown>;
      copy[path[0]] = replaced(copy[path[0]], path.slice(1), by);
      return copy;
    };
    const wrong: string[] = [];
    const serverErrors: string[] = [];
    let fields = 0;
    for (const [template, item] of Object.entries(doc.paths)) {
      const path = template.replace(/\{[^}]+\}/g, '7a1e3c52-2f8d-4b6e-9c0a-5d4f3e2b1a09');
      for (const [method, operation] of Object.entries(item)) {
        const token = template.startsWith('/admin/api') ? admin : a.token;
        const form = template === '/oauth/token';
        const send = (body: unknown, query = '') => http(gateway.url, method.toUpperCase(), `${path}${query}`, {
          token: form ? undefined : token,
          raw: body === undefined ? undefined : form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
          headers: body === undefined ? {} : { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' } });
        const refusedNaming = (answer: HttpAnswer, field: string) => answer.status === 400
          && (form ? answer.body?.error === 'invalid_request' : answer.body?.errors?.[0]?.field === field);
        const example = operation.requestBody ? Object.values(operation.requestBody.content)[0].example : undefined;
        for (const [field, original] of example === undefined ? [] : leaves(example)) {
          fields++;
          // (A form cannot carry a lone surrogate: URL encoding turns it into U+FFFD, on the client or on the server.)
          for (const bad of form ? ['a\u0000b'] : ['a\u0000b', 'x\ud800y']) {
            const answer = await send(replaced(example, field.split('.'), bad));
            if (!refusedNaming(answer, field)) wrong.push(`${method.toUpperCase()} ${template} ${field} ${JSON.stringify(bad)} → ${answer.status} ${answer.text.slice(0, 120)}`);
          }
          if (typeof original !== 'string') continue;
          for (const injection of SQL_INJECTIONS) {
            const answer = await send(replaced(example, field.split('.'), injection));
            if (answer.status >= 500) serverErrors.push(`${method.toUpperCase()} ${template} ${field} → ${answer.status} ${answer.text.slice(0, 120)}`);
          }
        }
        for (const { name } of (operation.parameters ?? []).filter((p) => p.in === 'query')) {
          fields++;
          const answer = await send(example, `?${name}=a%00b`);
          if (!refusedNaming(answer, `query.${name}`)) wrong.push(`${method.toUpperCase()} ${template} ?${name} NUL → ${answer.status} ${answer.text.slice(0, 120)}`);
        }
      }
    }
    expect(fields).toBeGreaterThan(60);
    expect(wrong).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 300_000);

  it('cuts a body that arrives too slowly, and keeps answering others meanwhile', async () => {
    const socket = connect(gateway.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/access-requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const drip = setInterval(() => socket.writable && socket.write(' '), 300);
    expect((await api.get('/health/live')).status).toBe(200);
    await Promise.race([closed, sleep(8000)]);
    clearInterval(drip);
    expect(socket.destroyed || received.startsWith('HTTP/1.1 408')).toBe(true);
    expect(received === '' || /^HTTP\/1\.1 408/.test(received)).toBe(true);
    socket.destroy();
  }, 15_000);

  it('keeps injected header lines out of its answers, and replaces a request id it cannot use', async () => {
    const raw = async (requestId: string) => {
      const socket = connect(gateway.port, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n`);
      await new Promise((resolve) => socket.once('close', resolve));
      return text;
    };
    const injected = await raw('abc%0d%0aSet-Cookie:%20pwned=1');
    expect(injected).not.toMatch(/set-cookie:\s*pwned/i);
    expect(/x-request-id: ([^\r\n]+)/i.exec(injected)![1]).toMatch(/^[0-9a-f-]{36}$/);
    const split = await raw('abc\r\nSet-Cookie: pwned=1');
    expect(split).not.toMatch(/set-cookie:\s*pwned/i);
    const long = await raw('x'.repeat(500));
    expect(/x-request-id: ([^\r\n]+)/i.exec(long)![1]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it(`answers ${BODIES_PER_ROUTE} random bodies or queries on every route of the OpenAPI document without a 5xx`, async () => {
    const doc = (await api.get('/openapi.json')).body as { paths: Record<string, Record<string, Operation>> };
    const hostileString = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom(...SQL_INJECTIONS), fc.constantFrom('\u0000', '\ud800', '𝕏'.repeat(50), '../../etc/passwd',
      '<script>alert(1)</script>', '%00', '{{7*7}}', '${jndi:ldap://x}'), fc.string({ unit: 'grapheme', maxLength: 50 }));
    const hostileValue = fc.oneof(hostileString, fc.jsonValue({ maxDepth: 3 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const failures: string[] = [];
    let requests = 0;
    // Each verification recomputes the whole trail, which every other route's requests lengthen (each is traced):
    // it goes first, while the trail is shortest (one verification at a time: it is the slowest route here).
    const first = (path: string) => path === '/admin/api/audit/verify';
    const paths = [...Object.entries(doc.paths).filter(([path]) => first(path)), ...Object.entries(doc.paths).filter(([path]) => !first(path))];
    for (const [path, item] of paths) {
      if (path === '/metrics') continue;
      for (const [method, operation] of Object.entries(item)) {
        const token = path.startsWith('/admin/api') ? admin : a.token;
        const example = operation.requestBody ? Object.values(operation.requestBody.content)[0].example : undefined;
        const form = path === '/oauth/token';
        // A body: the example with fields replaced or added, arbitrary JSON, or text that may not be JSON.
        const bodies = operation.requestBody ? fc.sample(fc.oneof(
          { weight: 5, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...Object.keys((example ?? {}) as object)), fc.string({ maxLength: 20 })), hostileValue, { maxKeys: 4 })
            .map((changes) => JSON.stringify({ ...(example as object), ...changes })) },
          { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
          { weight: 1, arbitrary: fc.string({ maxLength: 200 }) }), { numRuns: BODIES_PER_ROUTE, seed: 20261203 }) : [];
        const queries = fc.sample(fc.dictionary(fc.oneof(fc.constantFrom(...(operation.parameters ?? []).map((p) => p.name), 'cursor', 'month'),
          fc.string({ maxLength: 10 })), hostileString.map(String), { maxKeys: 3 }), { numRuns: operation.requestBody ? 50 : BODIES_PER_ROUTE, seed: 20261203 });
        const pathValues = fc.sample(fc.oneof(hostileString, fc.uuid(), fc.constant('2026-11')), { numRuns: BODIES_PER_ROUTE, seed: 7 });
        const total = Math.max(bodies.length, queries.length);
        for (let i = 0; i < total; i += CONCURRENCY) {
          await Promise.all(Array.from({ length: Math.min(CONCURRENCY, total - i) }, async (_, j) => {
            const n = i + j;
            const concrete = path.replace(/\{[^}]+\}/g, () => {
              try {
                return encodeURIComponent(pathValues[n % pathValues.length]).slice(0, 200) || 'x';
              } catch {
                return '%ED%A0%80'; // a lone surrogate, as its UTF-8 bytes would be sent
              }
            });
            let query: string;
            try {
              query = new URLSearchParams(queries[n % queries.length]).toString();
            } catch {
              query = 'cursor=%ED%A0%80';
            }
            const body = bodies.length ? bodies[n % bodies.length] : undefined;
            const answer = await http(gateway.url, method.toUpperCase(), `${concrete}${query ? `?${query}` : ''}`, {
              token: form ? undefined : token, raw: body,
              headers: body === undefined ? {} : { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
                ...(form ? { authorization: basic(a.clientId, 'not-the-secret') } : {}) } }).catch((error: Error) => ({ status: 599, text: error.message } as HttpAnswer));
            requests++;
            if (answer.status >= 500 && !(answer.status === 503 && ['maintenance', 'upstream_unavailable'].includes(answer.body?.code))) {
              failures.push(`${method.toUpperCase()} ${concrete}?${query} ${String(body).slice(0, 120)} → ${answer.status} ${answer.text.slice(0, 160)}`);
            }
          }));
        }
      }
    }
    expect(failures.slice(0, 20)).toEqual([]);
    expect(requests).toBeGreaterThan(40 * BODIES_PER_ROUTE);
    expect(gateway.child.exitCode).toBeNull();
  }, 900_000); // 3–4 minutes alone; up to 9 beside the other files on a busy 2-core machine

  it('logged none of the NIRs, secrets, passwords and tokens it was given', () => {
    const logged = gateway.output();
    expect(logged.length).toBeGreaterThan(10_000); // it did log (LOG_LEVEL=debug): every request at least
    const found = [...NIRS, ...secrets].filter((value) => value && logged.includes(value));
    expect(found.map((value) => `${value.slice(0, 6)}…`)).toEqual([]);
  });
});
