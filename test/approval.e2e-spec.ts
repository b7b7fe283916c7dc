import { accessRequestBody, operatorToken } from './support/factories';
import { client } from './support/http';
import { OPERATOR, startTestApp, TestApp } from './support/test-app';

describe('operators review access requests (DESIGN §4)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let operator: string;

  beforeAll(async () => {
    t = await startTestApp();
    api = client(t.url);
    operator = await operatorToken(t);
  });
  afterAll(() => t.close());

  const submit = async (overrides: Record<string, unknown> = {}) => {
    const answer = await api.post('/v1/access-requests', accessRequestBody(overrides));
    expect(answer.status).toBe(201);
    return answer.body.id as string;
  };

  it('lists pending requests for operators only', async () => {
    const id = await submit();
    const listed = await api.get('/admin/api/access-requests?status=pending', { token: operator });
    expect(listed.status).toBe(200);
    expect(listed.body.map((r: { id: string }) => r.id)).toContain(id);
    const anonymous = await api.get('/admin/api/access-requests');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('session_missing');
    const bad = await api.get('/admin/api/access-requests?status=maybe', { token: operator });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('status');
  });

  it('approves with narrowed scopes and a rate limit, showing the secret once', async () => {
    const id = await submit({ scopes: ['droits.ouverture', 'droits.c2s', 'droits.identite'] });
    const approved = await api.post(`/admin/api/access-requests/${id}/approve`,
      { scopes: ['droits.ouverture'], rateLimitPerSecond: 7, note: 'identité non justifiée' }, { token: operator });
    expect(approved.status).toBe(200);
    expect(approved.body.partner).toMatchObject({ status: 'active', scopes: ['droits.ouverture'], rate_limit_per_second: 7,
      name: 'CCAS de Lyon', access_request_id: id });
    expect(approved.body.credentials).toEqual({ client_id: approved.body.partner.client_id, client_secret: expect.any(String) });
    expect(approved.body.credentials.client_secret.length).toBeGreaterThanOrEqual(40);
    const request = await api.get(`/admin/api/access-requests/${id}`, { token: operator });
    expect(request.body).toMatchObject({ status: 'approved', partner_id: approved.body.partner.id, decision_note: 'identité non justifiée' });
    const partner = await api.get(`/admin/api/partners/${approved.body.partner.id}`, { token: operator });
    expect(JSON.stringify(partner.body)).not.toContain(approved.body.credentials.client_secret);
  });

  it('keeps the kind of organisation the applicant gave, or the one the operator corrects it to', async () => {
    const declared = await api.post(`/admin/api/access-requests/${await submit({ organisation: { name: 'CAF du Rhône',
      siret: '21690123100011', type: 'caf' } })}/approve`, {}, { token: operator });
    expect(declared.body.partner.organisation_type).toBe('caf');
    const id = await submit();
    const wrong = await api.post(`/admin/api/access-requests/${id}/approve`, { organisationType: 'mairie' }, { token: operator });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([expect.objectContaining({ field: 'organisationType' })]);
    const corrected = await api.post(`/admin/api/access-requests/${id}/approve`, { organisationType: 'departement' }, { token: operator });
    expect(corrected.body.partner.organisation_type).toBe('departement');
    const partner = await api.get(`/admin/api/partners/${corrected.body.partner.id}`, { token: operator });
    expect(partner.body.organisation_type).toBe('departement');
  });

  it('refuses to widen the requested scopes', async () => {
    const id = await submit({ scopes: ['droits.ouverture'] });
    const answer = await api.post(`/admin/api/access-requests/${id}/approve`, { scopes: ['droits.ouverture', 'droits.identite'] }, { token: operator });
    expect(answer.status).toBe(400);
    expect(answer.body.errors[0].field).toBe('scopes');
    const [row] = await t.sql('SELECT status FROM access_requests WHERE id = $1', [id]);
    expect(row.status).toBe('pending');
  });

  it('refuses to decide a request twice (409) and an unknown one (404)', async () => {
    const id = await submit();
    expect((await api.post(`/admin/api/access-requests/${id}/reject`, { reason: 'convention absente' }, { token: operator })).status).toBe(200);
    const again = await api.post(`/admin/api/access-requests/${id}/approve`, {}, { token: operator });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('request_not_pending');
    for (const unknown of ['00000000-0000-0000-0000-000000000000', 'not-a-uuid']) {
      const answer = await api.post(`/admin/api/access-requests/${unknown}/approve`, {}, { token: operator });
      expect(answer.status).toBe(404);
      expect(answer.body.code).toBe('not_found');
    }
  });

  it('requires a reason to reject', async () => {
    const id = await submit();
    const answer = await api.post(`/admin/api/access-requests/${id}/reject`, {}, { token: operator });
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([{ field: 'reason', reason: 'is required' }]);
  });

  it('approves a request only once even when two operators click at the same time', async () => {
    const id = await submit();
    const answers = await Promise.all([1, 2, 3].map(() =>
      api.post(`/admin/api/access-requests/${id}/approve`, {}, { token: operator })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    const partners = await t.sql('SELECT id FROM partners WHERE access_request_id = $1', [id]);
    expect(partners).toHaveLength(1);
  });

  it('records every decision with the operator who made it', async () => {
    const id = await submit();
    await api.post(`/admin/api/access-requests/${id}/reject`, { reason: 'finalité non conforme' }, { token: operator });
    const [action] = await t.sql(
      `SELECT a.kind, o.email, a.action, a.detail FROM audit_entries a JOIN operators o ON o.id = a.operator_id
       WHERE a.target = $1`, [`access_request:${id}`]);
    expect(action).toMatchObject({ kind: 'action', email: OPERATOR.email, action: 'access_request.rejected',
      detail: { reason: 'finalité non conforme', actor_type: 'operator' } });
    const listed = await api.get('/admin/api/actions', { token: operator });
    expect(listed.body.some((a: { target: string }) => a.target === `access_request:${id}`)).toBe(true);
  });
});
