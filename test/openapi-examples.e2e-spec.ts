import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import { startSimulator, Simulator } from '../simulator/server';
import { makeSiret, onboardPartner, OnboardedPartner, operatorToken, partnerToken, requestToken, SIRET_CCAS_LYON } from './support/factories';
import { client, HttpAnswer } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

type Operation = {
  requestBody?: { content: Record<string, { schema: object; example?: unknown }> };
  responses: Record<string, { content?: Record<string, { examples?: Record<string, { value: Record<string, unknown> }> }> }>;
  'x-problem-codes'?: string[];
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/**
 * The OpenAPI document (DESIGN §3–4): an example for every request body and every error of every route; each request
 * example valid against its schema, each error example valid against Problem; and the gateway's live error answers are
 * the documented examples of their route, in code, status, content type and shape.
 */
describe('OpenAPI examples', () => {
  let simulator: Simulator;
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, object> } };
  let operator: string;
  let partner: OnboardedPartner;
  let token: string;
  const operations = () => Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ path, method, operation: item[method] })));

  /** Asserts that a live error answer is one of the examples documented for its route. */
  function expectDocumented(method: string, path: string, answer: HttpAnswer): void {
    const operation = doc.paths[path][method];
    const code = answer.body?.code as string;
    const where = `${method.toUpperCase()} ${path} → ${answer.status} ${code}`;
    expect([where, operation['x-problem-codes']?.includes(code)]).toEqual([where, true]);
    const contentType = answer.headers.get('content-type')!.split(';')[0];
    const example = operation.responses[answer.status]?.content?.[contentType]?.examples?.[code]?.value;
    expect([where, example !== undefined]).toEqual([where, true]);
    expect([where, Object.keys(answer.body).sort()]).toEqual([where, Object.keys(example!).sort()]);
    expect([where, answer.body.type, answer.body.title, answer.body.status]).toEqual([where, example!.type, example!.title, example!.status]);
  }

  const concrete = (path: string) => path.replace('{id}', randomUUID()).replace('{month}', '2025-01');

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    t = await startTestApp({ UPSTREAM_URL: simulator.url });
    api = client(t.url);
    doc = (await api.get('/openapi.json')).body;
    operator = await operatorToken(t);
    partner = await onboardPartner(t, { scopes: ['droits.ouverture', 'droits.c2s'] });
    token = await partnerToken(t, partner);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('gives every request body an example that its schema accepts', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'openapi.json', components: doc.components });
    const bodies = operations().filter(({ operation }) => operation.requestBody);
    expect(bodies.length).toBeGreaterThanOrEqual(19);
    for (const { path, method, operation } of bodies) {
      for (const [type, media] of Object.entries(operation.requestBody!.content)) {
        const where = `${method.toUpperCase()} ${path} (${type})`;
        expect([where, media.example !== undefined]).toEqual([where, true]);
        const schema = JSON.parse(JSON.stringify(media.schema).replace(/"#\/components/g, '"openapi.json#/components'));
        const valid = ajv.validate(schema, media.example);
        expect([where, valid ? [] : ajv.errors]).toEqual([where, []]);
      }
    }
  });

  it('gives every route its errors, each with an example per code that the Problem schema accepts', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const problem = ajv.compile(doc.components.schemas.Problem);
    for (const { path, method, operation } of operations()) {
      const codes = operation['x-problem-codes'] ?? [];
      expect([path, method, codes.length > 0]).toEqual([path, method, true]);
      const documented: string[] = [];
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const media of Object.values(response.content ?? {})) {
          for (const [code, example] of Object.entries(media.examples ?? {})) {
            if (Number(status) < 400) continue;
            documented.push(code);
            expect([path, code, example.value.code, example.value.status]).toEqual([path, code, code, Number(status)]);
            expect([path, code, problem(example.value) ? [] : problem.errors]).toEqual([path, code, []]);
          }
        }
      }
      expect([path, method, documented.sort()]).toEqual([path, method, [...codes].sort()]);
    }
  });

  it('answers every protected route without credentials with a documented 401', async () => {
    const guarded = operations().filter(({ operation }) => ['token_missing', 'session_missing'].some((c) => operation['x-problem-codes']?.includes(c)));
    expect(guarded.length).toBeGreaterThan(30);
    for (const { path, method, operation } of guarded) {
      const example = operation.requestBody ? Object.values(operation.requestBody.content)[0].example : undefined;
      const answer = await api.send(method.toUpperCase(), concrete(path), example === undefined ? {} : { body: example });
      expect([method, path, answer.status]).toEqual([method, path, 401]);
      expectDocumented(method, path, answer);
    }
  });

  it('answers every body route with a documented problem for a malformed body, and an unknown id with a documented 404', async () => {
    for (const { path, method, operation } of operations()) {
      const isOperator = operation['x-problem-codes']?.includes('session_missing');
      const credentials = isOperator ? operator : path.startsWith('/v1/me') || path === '/v1/droits/recherche' ? token : undefined;
      if (operation.requestBody && path !== '/oauth/token') {
        const malformed = await api.send(method.toUpperCase(), concrete(path), { raw: '{"truncated": ', token: credentials,
          headers: { 'content-type': 'application/json' } });
        expect([method, path, malformed.status]).toEqual([method, path, 400]);
        expectDocumented(method, path, malformed);
      }
      if (path.includes('{id}') && credentials) {
        const example = operation.requestBody ? Object.values(operation.requestBody.content)[0].example : undefined;
        const unknown = await api.send(method.toUpperCase(), concrete(path), { token: credentials, ...(example === undefined ? {} : { body: example }) });
        expect([method, path, unknown.status]).toEqual([method, path, 404]);
        expectDocumented(method, path, unknown);
      }
    }
  });

  it('answers the lookup, the token endpoint and the operators\' routes with their documented examples', async () => {
    const lookup = (body: Record<string, unknown>, bearer = token) => api.post('/v1/droits/recherche',
      { recipient: SIRET_CCAS_LYON, context: 'RSA', object: 'dossier 1', agent: 'agent-1', ...body }, { token: bearer });
    const cases: [string, string, HttpAnswer][] = [
      ['post', '/v1/droits/recherche', await lookup({ nir: '299011305520042' })],
      ['post', '/v1/droits/recherche', await lookup({ nir: '123' })],
      ['post', '/v1/droits/recherche', await lookup({ nir: '284057505612387', recipient: makeSiret('3569012310009') })],
      ['post', '/v1/droits/recherche', await lookup({ nir: '284057505612387' }, 'not-a-token')],
      ['post', '/v1/droits/recherche', await api.send('POST', '/v1/droits/recherche', { raw: 'nir=1', token, headers: { 'content-type': 'text/plain' } })],
      ['post', '/v1/droits/recherche', await api.send('POST', '/v1/droits/recherche', { raw: JSON.stringify({ pad: 'x'.repeat(200_000) }), token,
        headers: { 'content-type': 'application/json' } })],
      ['post', '/oauth/token', await requestToken(t, { clientId: partner.clientId, clientSecret: 'wrong' })],
      ['post', '/oauth/token', await requestToken(t, partner, 'droits.identite')],
      ['post', '/oauth/token', await api.send('POST', '/oauth/token', { raw: 'grant_type=password', headers: { 'content-type': 'application/x-www-form-urlencoded' } })],
      ['post', '/admin/api/session', await api.post('/admin/api/session', { email: 'personne@dinsic.test', password: 'pas le bon mot de passe' })],
      ['post', '/admin/api/terms', await api.post('/admin/api/terms', { version: '2026-01', effectiveAt: new Date(Date.now() + 86_400_000).toISOString(),
        summary: 'Version en double' }, { token: operator })],
      ['post', '/admin/api/partners/{id}/reactivate', await api.post(`/admin/api/partners/${partner.partnerId}/reactivate`, { reason: 'Déjà active' },
        { token: operator })],
      ['get', '/admin/api/sla/reports/{month}', await api.get('/admin/api/sla/reports/2025-13', { token: operator })],
      ['get', '/v1/open-data/usage.csv', await api.get(`/v1/open-data/usage.csv?month=${new Date().toISOString().slice(0, 7)}`)],
      ['get', '/v1/me/usage', await api.get('/v1/me/usage?month=hier', { token })],
    ];
    await fetch(`${simulator.url}/__admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
    try {
      cases.push(['post', '/v1/droits/recherche', await lookup({ nir: '284057505612387' })]);
    } finally {
      await fetch(`${simulator.url}/__admin/faults/reset`, { method: 'POST' });
    }
    const disengaging = await partnerToken(t, await onboardPartner(t, { organisation: { name: 'CCAS de Bron', siret: makeSiret('2169012310004') } }));
    await api.post('/v1/me/disengagement', { reason: 'Fin du dispositif' }, { token: disengaging });
    cases.push(['post', '/v1/me/disengagement', await api.post('/v1/me/disengagement', { reason: 'Encore' }, { token: disengaging })]);
    const codes = cases.map(([, , answer]) => answer.body?.code ?? answer.status);
    expect(codes).toEqual(['person_not_found', 'invalid_request', 'recipient_not_declared', 'invalid_token', 'unsupported_media_type', 'payload_too_large',
      'invalid_client', 'invalid_scope', 'unsupported_grant_type', 'invalid_credentials', 'terms_version_exists', 'invalid_transition', 'invalid_request',
      'month_not_over', 'invalid_request', 'upstream_error', 'disengagement_pending']);
    for (const [method, path, answer] of cases) expectDocumented(method, path, answer);
  });
});
