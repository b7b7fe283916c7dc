import { accessRequestBody, operatorToken } from './support/factories';
import { client } from './support/http';
import { OPERATOR, startTestApp, TestApp } from './support/test-app';

/** The access request as a conversation (DESIGN §3.1, §4): tracked by the applicant, sent back for changes, amended. */
describe('access request conversation', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await startTestApp();
    api = client(t.url);
  });
  afterAll(async () => t?.close());

  it('lets the applicant follow its request, an operator ask for changes, the applicant amend it, and keeps the exchange', async () => {
    const submitted = await api.post('/v1/access-requests', accessRequestBody());
    expect(submitted.status).toBe(201);
    const { id, tracking_token: tracking } = submitted.body;
    expect(tracking).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [stored] = await t.sql<{ tracking_token_hash: Buffer }>('SELECT tracking_token_hash FROM access_requests WHERE id = $1', [id]);
    expect(stored.tracking_token_hash.toString('base64url')).not.toBe(tracking); // only its hash is kept

    const followed = await api.get(`/v1/access-requests/${id}`, { token: tracking });
    expect(followed.status).toBe(200);
    expect(followed.body).toMatchObject({ id, status: 'pending', messages: [] });
    expect(followed.body.tracking_token).toBeUndefined();
    // No token: 401; a wrong token or an unknown request: the same 404, so that ids cannot be probed.
    expect((await api.get(`/v1/access-requests/${id}`)).body.code).toBe('token_missing');
    expect((await api.get(`/v1/access-requests/${id}`, { token: 'x'.repeat(43) })).status).toBe(404);
    expect((await api.get('/v1/access-requests/00000000-0000-0000-0000-000000000000', { token: tracking })).status).toBe(404);

    const operator = await operatorToken(t);
    const asked = await api.post(`/admin/api/access-requests/${id}/request-changes`, { message: 'Précisez la base légale (article et code).' },
      { token: operator });
    expect(asked.status).toBe(200);
    expect(asked.body.status).toBe('changes_requested');
    expect((await api.post(`/admin/api/access-requests/${id}/request-changes`, { message: 'x' }, { token: operator })).status).toBe(400);
    expect((await api.post(`/admin/api/access-requests/${id}/approve`, {}, { token: operator })).body.code).toBe('request_not_pending');
    const sentBack = await api.get(`/v1/access-requests/${id}`, { token: tracking });
    expect(sentBack.body).toMatchObject({ status: 'changes_requested',
      messages: [{ author: 'operator', message: 'Précisez la base légale (article et code).' }] });

    const amended = await api.send('PATCH', `/v1/access-requests/${id}`, { token: tracking,
      body: accessRequestBody({ legalBasis: 'article L114-8 du code des relations entre le public et l\'administration' }) });
    expect(amended.status).toBe(200);
    expect(amended.body).toMatchObject({ status: 'pending', legal_basis: "article L114-8 du code des relations entre le public et l'administration" });
    expect((await api.send('PATCH', `/v1/access-requests/${id}`, { token: tracking, body: accessRequestBody() })).body.code).toBe('request_not_amendable');
    const invalid = await api.send('PATCH', `/v1/access-requests/${id}`, { token: tracking, body: accessRequestBody({ scopes: [] }) });
    expect(invalid.status).toBe(400);

    // Told, traced, and shown to operators with the request.
    const notified = await t.sql<{ type: string }>(`SELECT DISTINCT type FROM notifications WHERE access_request_id = $1 ORDER BY type`, [id]);
    expect(notified.map((n) => n.type)).toEqual(['access_request.changes_requested', 'access_request.received']);
    const actions = await t.sql<{ action: string; actor: string }>(
      `SELECT action, detail ->> 'actor_type' AS actor FROM audit_entries WHERE target = $1 ORDER BY id`, [`access_request:${id}`]);
    expect(actions).toEqual([{ action: 'access_request.changes_requested', actor: 'operator' }, { action: 'access_request.amended', actor: 'applicant' }]);
    const detail = await api.get(`/admin/api/access-requests/${id}`, { token: operator });
    expect(detail.body.messages.map((m: { author: string }) => m.author)).toEqual(['operator', 'applicant']);
    const session = await api.post('/admin/api/session', OPERATOR);
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0];
    const page = await api.get(`/console/demandes/${id}`, { headers: { cookie } });
    expect(page.text).toContain('Échanges avec le demandeur');
    expect(page.text).toContain('Précisez la base légale (article et code).');
    expect((await api.post(`/admin/api/access-requests/${id}/approve`, {}, { token: operator })).status).toBe(200);
  });
});
