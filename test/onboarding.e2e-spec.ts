import { accessRequestBody, makeSiret } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

describe('onboarding: terms and access requests (DESIGN §3.1)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp();
    api = client(t.url);
  });
  afterAll(() => t.close());

  it('publishes the initial terms version on a fresh installation', async () => {
    const answer = await api.get('/v1/terms/current');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ version: '2026-01', summary: expect.any(String), text: expect.any(String) });
    expect(new Date(answer.body.effective_at).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('records a valid access request as pending', async () => {
    const answer = await api.post('/v1/access-requests', accessRequestBody());
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'pending',
      organisation: { name: 'CCAS de Lyon', siret: accessRequestBody().organisation.siret, type: 'autre' },
      scopes: ['droits.ouverture', 'droits.c2s'], retention_months: 36, terms_version: '2026-01',
    });
    const [row] = await t.sql('SELECT status, purpose FROM access_requests WHERE id = $1', [answer.body.id]);
    expect(row).toEqual({ status: 'pending', purpose: "instruction des demandes d'aide sociale" });
  });

  it('records the kind of organisation, for the published statistics only', async () => {
    const answer = await api.post('/v1/access-requests', accessRequestBody({
      organisation: { name: 'CAF du Rhône', siret: makeSiret('2169012310002'), type: 'caf' } }));
    expect(answer.status).toBe(201);
    expect(answer.body.organisation).toEqual({ name: 'CAF du Rhône', siret: makeSiret('2169012310002'), type: 'caf' });
  });

  it("accepts La Poste's SIRETs", async () => {
    const answer = await api.post('/v1/access-requests', accessRequestBody({
      organisation: { name: 'La Poste', siret: '35600000012346' }, recipients: ['35600000012346'] }));
    expect(answer.status).toBe(201);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['a SIRET failing the Luhn check', { organisation: { name: 'CCAS', siret: '21690123100012' } }, 'organisation.siret'],
    ['a 13-digit SIRET', { organisation: { name: 'CCAS', siret: '2169012310001' } }, 'organisation.siret'],
    ['a malformed contact email', { contact: { name: 'Camille', email: 'camille-at-lyon' } }, 'contact.email'],
    ['a missing technical contact', { technicalContact: undefined }, 'technicalContact'],
    ['an unknown scope', { scopes: ['droits.ouverture', 'droits.tout'] }, 'scopes'],
    ['no scope at all', { scopes: [] }, 'scopes'],
    ['a repeated scope', { scopes: ['droits.c2s', 'droits.c2s'] }, 'scopes'],
    ['a recipient that is not a SIRET', { recipients: ['123'] }, 'recipients'],
    ['no recipient', { recipients: [] }, 'recipients'],
    ['a retention of zero months', { retentionMonths: 0 }, 'retentionMonths'],
    ['a volume given as a string', { expectedDailyVolume: '500' }, 'expectedDailyVolume'],
    ['a purpose with markup', { purpose: '<script>alert(1)</script>' }, 'purpose'],
    ['a terms version that is not the current one', { termsVersion: '2025-01' }, 'termsVersion'],
    ['an unknown field', { isAdmin: true }, 'isAdmin'],
    ['an unknown kind of organisation', { organisation: { name: 'CCAS', siret: makeSiret('2169012310001'), type: 'mairie' } }, 'organisation.type'],
    ['an unknown nested field', { organisation: { name: 'CCAS', siret: makeSiret('2169012310001'), naf: '8899B' } }, 'organisation.naf'],
  ];

  it.each(invalid)('refuses %s with a 400 problem naming the field', async (_, change, field) => {
    const answer = await api.post('/v1/access-requests', accessRequestBody(change));
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ status: 400, code: 'invalid_request', type: expect.any(String), title: expect.any(String) });
    expect(answer.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, reason: expect.any(String) })]));
  });

  it('stores nothing for a refused request', async () => {
    const before = await t.sql<{ count: string }>('SELECT count(*) FROM access_requests');
    await api.post('/v1/access-requests', accessRequestBody({ scopes: ['droits.tout'] }));
    const after = await t.sql<{ count: string }>('SELECT count(*) FROM access_requests');
    expect(after[0].count).toBe(before[0].count);
  });

  it('answers malformed JSON with 400 malformed_body', async () => {
    const answer = await api.send('POST', '/v1/access-requests', { raw: '{"organisation": ', headers: { 'content-type': 'application/json' } });
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe('malformed_body');
  });

  it('answers a JSON array or scalar body with 400 naming the body', async () => {
    for (const raw of ['[1,2]', '"text"', 'null']) {
      const answer = await api.send('POST', '/v1/access-requests', { raw, headers: { 'content-type': 'application/json' } });
      expect(answer.status).toBe(400);
      expect(answer.body.code).toMatch(/invalid_request|malformed_body/);
    }
  });

  it('answers a wrong content type with 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const answer = await api.send('POST', '/v1/access-requests', { raw: 'a=b', headers: { 'content-type': type } });
      expect(answer.status).toBe(415);
      expect(answer.body.code).toBe('unsupported_media_type');
    }
  });

  it('answers an oversized body with 413', async () => {
    const huge = accessRequestBody({ purpose: 'x'.repeat(t.config.bodyLimitBytes + 10) });
    const answer = await api.post('/v1/access-requests', huge);
    expect(answer.status).toBe(413);
    expect(answer.body.code).toBe('payload_too_large');
  });

  it('refuses prototype pollution attempts', async () => {
    const answer = await api.send('POST', '/v1/access-requests', {
      raw: JSON.stringify(accessRequestBody()).replace('{', '{"__proto__":{"admin":true},'),
      headers: { 'content-type': 'application/json' },
    });
    expect(answer.status).toBe(400);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('echoes a well-formed X-Request-Id and makes one up otherwise', async () => {
    const given = await api.get('/v1/terms/current', { headers: { 'x-request-id': 'partner-req-42' } });
    expect(given.headers.get('x-request-id')).toBe('partner-req-42');
    const bad = await api.get('/v1/terms/current', { headers: { 'x-request-id': 'bad id with spaces <>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const problem = await api.post('/v1/access-requests', {}, { headers: { 'x-request-id': 'r-1' } });
    expect(problem.body.request_id).toBe('r-1');
  });

  it('answers an unknown route with a 404 problem', async () => {
    const answer = await api.get('/v1/nothing-here');
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ code: 'not_found', status: 404 });
  });
});
