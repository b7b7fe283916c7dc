import { PartnersService } from '../src/partners/partners.service';
import { DisengagementScheduler } from '../src/partners/disengagement.scheduler';
import { onboardPartner, partnerToken, requestToken } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

const DAY = 86_400_000;

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

describe("partners' lifecycle (DESIGN §3.3, §3.5, §4)", () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp({ TOKEN_RATE_LIMIT_PER_MINUTE: '1000' });
    api = client(t.url);
  });
  afterAll(() => t.close());

  it('suspends at once: no new token, outstanding tokens refused; reactivation restores both', async () => {
    const partner = await onboardPartner(t);
    const token = await partnerToken(t, partner);
    const suspended = await api.post(`/admin/api/partners/${partner.partnerId}/suspend`, { reason: 'usage non conforme' }, { token: partner.operator });
    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({ status: 'suspended', status_reason: 'usage non conforme' });

    const refused = await api.get('/v1/me', { token });
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('partner_inactive');
    const noToken = await requestToken(t, partner);
    expect(noToken.status).toBe(401);
    expect(noToken.body.error).toBe('invalid_client');

    const again = await api.post(`/admin/api/partners/${partner.partnerId}/suspend`, { reason: 'deux fois' }, { token: partner.operator });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invalid_transition');

    const reactivated = await api.post(`/admin/api/partners/${partner.partnerId}/reactivate`, { reason: 'régularisé' }, { token: partner.operator });
    expect(reactivated.body.status).toBe('active');
    expect((await api.get('/v1/me', { token })).status).toBe(200);
    expect((await requestToken(t, partner)).status).toBe(200);
  });

  it('revokes for good: credentials stop working and the partner cannot be reactivated', async () => {
    const partner = await onboardPartner(t);
    const token = await partnerToken(t, partner);
    const revoked = await api.post(`/admin/api/partners/${partner.partnerId}/revoke`, { reason: 'fin de convention' }, { token: partner.operator });
    expect(revoked.body.status).toBe('revoked');
    expect((await api.get('/v1/me', { token })).status).toBe(401);
    expect((await requestToken(t, partner)).status).toBe(401);
    const reactivate = await api.post(`/admin/api/partners/${partner.partnerId}/reactivate`, { reason: 'erreur' }, { token: partner.operator });
    expect(reactivate.status).toBe(409);
    const rotate = await api.post(`/admin/api/partners/${partner.partnerId}/credentials`, undefined, { token: partner.operator });
    expect(rotate.status).toBe(409);
    expect(rotate.body.code).toBe('partner_closed');
    const [secrets] = await t.sql<{ open: string }>(
      `SELECT count(*) AS open FROM partner_secrets WHERE partner_id = $1 AND (valid_until IS NULL OR valid_until > now() + interval '1 minute')`,
      [partner.partnerId]);
    expect(secrets.open).toBe('0');
  });

  it('requires a reason for every lifecycle action and names unknown partners', async () => {
    const partner = await onboardPartner(t);
    const noReason = await api.post(`/admin/api/partners/${partner.partnerId}/suspend`, {}, { token: partner.operator });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors[0].field).toBe('reason');
    const unknown = await api.post('/admin/api/partners/00000000-0000-4000-8000-000000000000/suspend', { reason: 'test' }, { token: partner.operator });
    expect(unknown.status).toBe(404);
  });

  it('records lifecycle actions with who, what and why', async () => {
    const partner = await onboardPartner(t);
    await api.post(`/admin/api/partners/${partner.partnerId}/suspend`, { reason: 'contrôle CNIL' }, { token: partner.operator });
    const detail = await api.get(`/admin/api/partners/${partner.partnerId}`, { token: partner.operator });
    expect(detail.body.actions.map((a: { action: string }) => a.action)).toEqual(['partner.suspended', 'access_request.approved']);
    expect(detail.body.actions[0]).toMatchObject({ actor_type: 'operator', detail: { reason: 'contrôle CNIL', from: 'active' } });
  });

  describe('disengagement with 15 days notice', () => {
    it('takes effect 15 days later, applied by the scheduler, unless cancelled', async () => {
      const partner = await onboardPartner(t);
      const token = await partnerToken(t, partner);
      const requested = await api.post('/v1/me/disengagement', { reason: 'fin du dispositif' }, { token });
      expect(requested.status).toBe(200);
      const effective = new Date(requested.body.effective_at).getTime();
      expect(effective - new Date(requested.body.requested_at).getTime()).toBe(15 * DAY);
      expect(requested.body.status).toBe('active');

      const duplicate = await api.post('/v1/me/disengagement', { reason: 'encore' }, { token });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.code).toBe('disengagement_pending');

      const me = await api.get('/v1/me', { token });
      expect(me.body.disengagement).toMatchObject({ reason: 'fin du dispositif' });

      const scheduler = t.app.get(DisengagementScheduler);
      t.clock.advance(15 * DAY - 60_000);
      await scheduler.run();
      const early = await t.sql('SELECT status FROM partners WHERE id = $1', [partner.partnerId]);
      expect(early[0].status).toBe('active');

      t.clock.advance(61_000);
      await scheduler.run();
      const [row] = await t.sql('SELECT status, status_reason FROM partners WHERE id = $1', [partner.partnerId]);
      expect(row).toEqual({ status: 'left', status_reason: 'disengagement' });
      const fresh = await requestToken(t, partner);
      expect(fresh.status).toBe(401);
      const [action] = await t.sql(`SELECT detail->>'actor_type' AS actor_type FROM audit_entries WHERE partner_id = $1 AND action = 'partner.left'`, [partner.partnerId]);
      expect(action.actor_type).toBe('system');
      t.clock.set(new Date());
    });

    it('can be cancelled before it takes effect', async () => {
      const partner = await onboardPartner(t);
      const token = await partnerToken(t, partner);
      await api.post('/v1/me/disengagement', { reason: 'réorganisation' }, { token });
      const cancelled = await api.delete('/v1/me/disengagement', { token });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.disengagement).toBeNull();
      const none = await api.delete('/v1/me/disengagement', { token });
      expect(none.status).toBe(404);
      expect(none.body.code).toBe('not_found');
      t.clock.advance(16 * DAY);
      await t.app.get(PartnersService).applyDueDisengagements();
      const [row] = await t.sql('SELECT status FROM partners WHERE id = $1', [partner.partnerId]);
      expect(row.status).toBe('active');
      t.clock.set(new Date());
    });
  });

  describe('terms of use', () => {
    it('publishes a new version ahead of its date; partners see it and accept it', async () => {
      const partner = await onboardPartner(t);
      const token = await partnerToken(t, partner);
      const before = await api.get('/v1/me', { token });
      expect(before.body.terms).toEqual({ current_version: '2026-01', accepted: false, upcoming: [] });
      expect((await api.post('/v1/me/terms/accept', { version: '2026-01' }, { token })).status).toBe(200);

      const effectiveAt = new Date(t.clock.now().getTime() + 30 * DAY).toISOString();
      const published = await api.post('/admin/api/terms', { version: '2027-01', effectiveAt, summary: 'Ajout des exonérations.' },
        { token: partner.operator });
      expect(published.status).toBe(201);
      expect((await api.get('/v1/terms/current')).body.version).toBe('2026-01');
      const me = await api.get('/v1/me', { token });
      expect(me.body.terms).toEqual({ current_version: '2026-01', accepted: true,
        upcoming: [{ version: '2027-01', effective_at: effectiveAt, summary: 'Ajout des exonérations.', accepted: false }] });
      expect((await api.post('/v1/me/terms/accept', { version: '2027-01' }, { token })).status).toBe(200);

      const listed = await api.get('/admin/api/terms', { token: partner.operator });
      const upcoming = listed.body.find((v: { version: string }) => v.version === '2027-01');
      expect(upcoming).toMatchObject({ current: false, upcoming: true, acceptances: [{ partner_id: partner.partnerId }] });

      t.clock.advance(31 * DAY);
      try {
        expect((await api.get('/v1/terms/current')).body.version).toBe('2027-01');
        const submitted = await api.post('/v1/access-requests', { ...(await import('./support/factories')).accessRequestBody(), termsVersion: '2026-01' });
        expect(submitted.status).toBe(400);
        expect(submitted.body.errors[0].field).toBe('termsVersion');
      } finally {
        t.clock.set(new Date());
      }
    });

    it('refuses a version in the past, a duplicate, or an unknown version to accept', async () => {
      const partner = await onboardPartner(t);
      const token = await partnerToken(t, partner);
      const past = await api.post('/admin/api/terms', { version: '2020-01', effectiveAt: '2020-01-01T00:00:00Z', summary: 'trop tard' },
        { token: partner.operator });
      expect(past.status).toBe(400);
      expect(past.body.errors[0].field).toBe('effectiveAt');
      const notADate = await api.post('/admin/api/terms', { version: '2028-01', effectiveAt: 'demain', summary: 'quand ?' },
        { token: partner.operator });
      expect(notADate.status).toBe(400);
      const duplicate = await api.post('/admin/api/terms', { version: '2026-01', effectiveAt: new Date(Date.now() + 400 * DAY).toISOString(), summary: 'doublon' },
        { token: partner.operator });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.code).toBe('terms_version_exists');
      const unknown = await api.post('/v1/me/terms/accept', { version: '1999-01' }, { token });
      expect(unknown.status).toBe(400);
    });
  });

  it('takes incident reports from partners and shows them to operators', async () => {
    const partner = await onboardPartner(t);
    const token = await partnerToken(t, partner);
    const reported = await api.post('/v1/me/incidents', { summary: 'Lenteurs', detail: 'Réponses en 8 s depuis 9h.' }, { token });
    expect(reported.status).toBe(201);
    const listed = await api.get('/admin/api/incidents', { token: partner.operator });
    expect(listed.body[0]).toMatchObject({ id: reported.body.id, partner_id: partner.partnerId, summary: 'Lenteurs' });
    expect((await api.post('/v1/me/incidents', { summary: 'x' }, { token })).status).toBe(400);
  });
});

describe('suspension reaches every instance within 5 seconds', () => {
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await startTestApp();
    second = await startTestApp({}, { databaseUrl: first.databaseUrl });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('refuses on instance B a token suspended through instance A', async () => {
    const partner = await onboardPartner(first);
    const token = await partnerToken(first, partner);
    // Instance B verifies tokens with keys published by A (one database, one key set).
    expect((await client(second.url).get('/v1/me', { token })).status).toBe(200);
    await client(first.url).post(`/admin/api/partners/${partner.partnerId}/suspend`, { reason: 'incident' }, { token: partner.operator });
    const elapsed = await waitFor(async () => (await client(second.url).get('/v1/me', { token })).status === 401, 5000);
    expect(elapsed).toBeLessThan(5000);
  });
});
