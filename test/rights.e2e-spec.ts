import { SignJWT } from 'jose';
import { startSimulator, Simulator } from '../simulator/server';
import { SigningKeys } from '../src/auth/signing-keys';
import { onboardPartner, OnboardedPartner, partnerToken, SIRET_CCAS_LYON } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

const ALL_SCOPES = ['droits.ouverture', 'droits.caisse', 'droits.c2s', 'droits.identite', 'droits.exonerations', 'droits.medecin_traitant'];
const DUPONT = { nom_naissance: 'DUPONT', prenoms: ['Marie', 'Claire'], date_naissance: '1984-05-12', sexe: 'F', code_lieu_naissance: '75056' };

describe('rights lookup (DESIGN §3.4)', () => {
  let simulator: Simulator;
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let partner: OnboardedPartner;
  let token: string;

  const lookup = (body: Record<string, unknown>, bearer = token, headers: Record<string, string> = {}) =>
    api.post('/v1/droits/recherche', { recipient: SIRET_CCAS_LYON, object: 'dossier 2026-001234', agent: 'agent-4711',
      context: 'RSA', ...body }, { token: bearer, headers });

  beforeAll(async () => {
    simulator = await startSimulator({ population: 2000 });
    t = await startTestApp({ UPSTREAM_URL: simulator.url, UPSTREAM_TIMEOUT_MS: '300', BREAKER_VOLUME_THRESHOLD: '5',
      BREAKER_RESET_MS: '700', TOKEN_RATE_LIMIT_PER_MINUTE: '1000' });
    api = client(t.url);
    partner = await onboardPartner(t, { scopes: ALL_SCOPES }, { rateLimitPerSecond: 100_000 });
    token = await partnerToken(t, partner);
  });
  afterEach(() => simulator.setFaults({ latencyMs: 0, errorRate: 0, timeoutRate: 0, malformedRate: 0, down: false, flapPeriodMs: 0 }));
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('publishes Prometheus metrics by route template and status class, with no personal data', async () => {
    const counter = (text: string, status: string) => Number(new RegExp(
      `gateway_http_requests_total\\{route="/v1/droits/recherche",method="POST",status_class="${status}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    const before = (await api.get('/metrics')).text;
    expect((await lookup({ nir: '284057505612387' })).status).toBe(200);
    expect((await lookup({ nir: '299011305520042' })).status).toBe(404);
    expect((await lookup({ nir: '284057505612388' })).status).toBe(400);
    const scraped = await api.get('/metrics');
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = scraped.text;
    expect(counter(text, '2xx') - counter(before, '2xx')).toBe(1);
    expect(counter(text, '4xx') - counter(before, '4xx')).toBe(2);
    expect(text).toMatch(/gateway_http_request_duration_seconds_count\{route="\/v1\/droits\/recherche"\} \d+/);
    expect(text).toMatch(/gateway_upstream_request_duration_seconds_count [1-9]\d*/);
    expect(text).toMatch(/^gateway_upstream_breaker_state 0$/m);
    expect(text).toMatch(/^gateway_audit_pending_entries \d+$/m);
    expect(text).toMatch(/^gateway_audit_seal_lag_seconds [\d.e-]+$/m);
    // Each of the three lookups waited for its audit entry to be committed.
    const waits = (scrape: string) => Number(/^gateway_audit_append_wait_seconds_count (\d+)$/m.exec(scrape)?.[1] ?? 0);
    expect(waits(text) - waits(before)).toBe(3);
    expect(text).toContain('gateway_audit_append_wait_seconds_bucket{le="0.001"}');
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds [\d.e-]+$/m);
    expect(text).toMatch(/^nodejs_gc_duration_seconds_count\{kind="minor"\} \d+$/m);
    expect(text).toMatch(/^gateway_sla_flush_age_seconds [\d.e-]+$/m);
    expect(text).toContain('# TYPE gateway_sla_availability_ratio gauge'); // its value: availability.e2e-spec.ts
    expect(text).toMatch(/^gateway_sla_error_budget_remaining_minutes -?\d+$/m);
    expect(text).not.toMatch(/284057505612387|299011305520042|DUPONT/);
  });

  it('returns every granted category for DUPONT Marie Claire, and no NIR', async () => {
    const answer = await lookup({ nir: '284057505612387', date_reference: '2026-11-01' }, token, { 'x-request-id': 'case-42' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('x-request-id')).toBe('case-42');
    expect(answer.body).toEqual({
      request_id: 'case-42',
      date_reference: '2026-11-01',
      droits: {
        ouverture: { ouverts: true, periodes: [{ debut: '2002-09-01', fin: null }] },
        caisse: { grand_regime: '01', code_caisse: '751', code_centre: '0000', libelle: 'CPAM de Paris' },
        c2s: { est_beneficiaire: true, avec_participation: false, date_debut: '2025-04-01' },
        identite: { nom_famille: 'DUPONT', nom_usage: null, prenoms: ['Marie', 'Claire'], date_naissance: '1984-05-12',
          rang_naissance: 1, qualite: 'assure' },
        exonerations: [],
        medecin_traitant: { declare: true, debut: '2012-03-15' },
      },
    });
    expect(answer.text).not.toContain('284057505612387');
    expect(simulator.lastCorrelationId()).toBe('case-42');
  });

  it('finds SANTONI by a Corsican NIR typed with spaces: régime agricole, no C2S', async () => {
    const answer = await lookup({ nir: '1 71 12 2a 004 001 06' });
    expect(answer.status).toBe(200);
    expect(answer.body.droits.caisse.grand_regime).toBe('02');
    expect(answer.body.droits.c2s.est_beneficiaire).toBe(false);
    expect(answer.body.droits.ouverture.ouverts).toBe(true);
  });

  it('tells a known person without open rights (MARTIN) apart from an unknown one', async () => {
    const martin = await lookup({ nir: '192036912304577' });
    expect(martin.status).toBe(200);
    expect(martin.body.droits.ouverture).toEqual({ ouverts: false, periodes: [{ debut: '2010-09-01', fin: '2025-12-31' }] });
    const unknown = await lookup({ nir: '299011305520042' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'person_not_found', status: 404 });
    expect(unknown.body.retryable).toBeUndefined();
  });

  it('finds a person by identity as by NIR', async () => {
    const byIdentity = await lookup({ identite: DUPONT });
    const byNir = await lookup({ nir: '284057505612387' });
    expect(byIdentity.status).toBe(200);
    expect(byIdentity.body.droits).toEqual(byNir.body.droits);
    const unknown = await lookup({ identite: { ...DUPONT, date_naissance: '1984-05-13' } });
    expect(unknown.status).toBe(404);
  });

  it('returns only the categories both granted and in the token', async () => {
    const c2sOnly = await partnerToken(t, partner, 'droits.c2s');
    const answer = await lookup({ nir: '284057505612387' }, c2sOnly);
    expect(Object.keys(answer.body.droits)).toEqual(['c2s']);

    const narrow = await onboardPartner(t, { scopes: ['droits.ouverture', 'droits.caisse'] }, { scopes: ['droits.ouverture'] });
    const narrowToken = await partnerToken(t, narrow);
    const narrowed = await lookup({ nir: '284057505612387' }, narrowToken);
    expect(Object.keys(narrowed.body.droits)).toEqual(['ouverture']);
  });

  it('refuses a token whose scopes are not granted (403 scope_not_granted)', async () => {
    const signer = t.app.get(SigningKeys).signer();
    const now = Math.floor(t.clock.now().getTime() / 1000);
    const scopeless = await new SignJWT({ scope: '' }).setProtectedHeader({ alg: 'ES256', kid: signer.kid })
      .setIssuer(t.config.token.issuer).setAudience(t.config.token.audience).setSubject(partner.partnerId)
      .setJti('scopeless').setIssuedAt(now).setExpirationTime(now + 60).sign(signer.privateKey);
    const answer = await lookup({ nir: '284057505612387' }, scopeless);
    expect(answer.status).toBe(403);
    expect(answer.body.code).toBe('scope_not_granted');
  });

  it('refuses a recipient the partner did not declare (403) and a malformed one (400)', async () => {
    const undeclared = await lookup({ nir: '284057505612387', recipient: '21690123100011' === SIRET_CCAS_LYON ? '73282932000074' : '21690123100011' });
    expect(undeclared.status).toBe(403);
    expect(undeclared.body.code).toBe('recipient_not_declared');
    const malformed = await lookup({ nir: '284057505612387', recipient: '12345' });
    expect(malformed.status).toBe(400);
  });

  it('refuses without a token (401) and with the token of a suspended partner (401)', async () => {
    expect((await api.post('/v1/droits/recherche', { nir: '284057505612387' })).status).toBe(401);
    const other = await onboardPartner(t, { scopes: ['droits.ouverture'] });
    const otherToken = await partnerToken(t, other);
    await api.post(`/admin/api/partners/${other.partnerId}/suspend`, { reason: 'test' }, { token: other.operator });
    const answer = await lookup({ nir: '284057505612387' }, otherToken);
    expect(answer.status).toBe(401);
    expect(answer.body.code).toBe('partner_inactive');
  });

  it.each([
    ['an invalid NIR key', { nir: '284057505612388' }, 'nir'],
    ['a 16-digit NIR', { nir: '2840575056123870' }, 'nir'],
    ['both nir and identite', { nir: '284057505612387', identite: DUPONT }, 'nir'],
    ['neither nir nor identite', {}, 'nir'],
    ['a name with digits', { identite: { ...DUPONT, nom_naissance: 'DUP0NT' } }, 'identite.nom_naissance'],
    ['a future reference date', { nir: '284057505612387', date_reference: '2999-01-01' }, 'date_reference'],
    ['an impossible date', { identite: { ...DUPONT, date_naissance: '1984-02-31' } }, 'identite.date_naissance'],
    ['an object too long', { nir: '284057505612387', object: 'x'.repeat(101) }, 'object'],
    ['a missing agent', { nir: '284057505612387', agent: undefined }, 'agent'],
  ])('answers %s with 400 naming the field, without calling the upstream', async (_, body, field) => {
    const before = simulator.lookups();
    const answer = await lookup(body);
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe('invalid_request');
    expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(simulator.lookups()).toBe(before);
  });

  describe('upstream failures are never "no rights"', () => {
    const expectProviderFailure = (answer: { status: number; body: Record<string, unknown>; headers: Headers }, status: number, code: string) => {
      expect(answer.status).toBe(status);
      expect(answer.body).toMatchObject({ code, retryable: true });
      expect(answer.body.detail).toMatch(/not a decision on the person's rights/);
      expect(answer.body.droits).toBeUndefined();
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    };

    it('answers an upstream 500 with 502 upstream_error', async () => {
      simulator.setFaults({ errorRate: 1 });
      expectProviderFailure(await lookup({ nir: '284057505612387' }), 502, 'upstream_error');
    });

    it('answers a malformed upstream answer with 502, never passing it on', async () => {
      simulator.setFaults({ malformedRate: 1 });
      const answer = await lookup({ nir: '284057505612387' });
      expectProviderFailure(answer, 502, 'upstream_error');
      expect(answer.text).not.toContain('corrompu');
    });

    it('answers a slow upstream with 504 upstream_timeout', async () => {
      simulator.setFaults({ timeoutRate: 1 });
      const started = Date.now();
      expectProviderFailure(await lookup({ nir: '284057505612387' }), 504, 'upstream_timeout');
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('opens the circuit after repeated failures (503 at once), then recovers through half-open', async () => {
      simulator.setFaults({ down: true });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await lookup({ nir: '284057505612387' })).status);
      expect(statuses.slice(0, 5).every((s) => s === 502)).toBe(true);
      expect(statuses.slice(-3)).toEqual([503, 503, 503]);
      const before = simulator.lookups();
      const open = await lookup({ nir: '284057505612387' });
      expectProviderFailure(open, 503, 'upstream_unavailable');
      expect(simulator.lookups()).toBe(before);

      simulator.setFaults({ down: false });
      await new Promise((resolve) => setTimeout(resolve, 800));
      const recovered = await lookup({ nir: '284057505612387' });
      expect(recovered.status).toBe(200);
      expect((await lookup({ nir: '284057505612387' })).status).toBe(200);
    });

    it('closes again only after a successful trial: a failed half-open trial re-opens it', async () => {
      simulator.setFaults({ errorRate: 1 });
      for (let i = 0; i < 12; i++) await lookup({ nir: '284057505612387' });
      expect((await lookup({ nir: '284057505612387' })).status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect((await lookup({ nir: '284057505612387' })).status).toBe(502);
      expect((await lookup({ nir: '284057505612387' })).status).toBe(503);
      simulator.setFaults({ errorRate: 0 });
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect((await lookup({ nir: '284057505612387' })).status).toBe(200);
    });
  });

  it('answers 503 maintenance with Retry-After during an announced window, and tells partners ahead', async () => {
    const start = new Date(t.clock.now().getTime() + 60_000);
    const end = new Date(start.getTime() + 3600_000);
    const announced = await api.post('/admin/api/maintenance-windows', { start: start.toISOString(), end: end.toISOString(),
      reason: 'Montée de version' }, { token: partner.operator });
    expect(announced.status).toBe(201);
    const me = await api.get('/v1/me', { token });
    expect(me.body.maintenance_windows).toEqual([expect.objectContaining({ reason: 'Montée de version' })]);
    expect((await lookup({ nir: '284057505612387' })).status).toBe(200);
    t.clock.advance(120_000);
    try {
      const answer = await lookup({ nir: '284057505612387' });
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: 'maintenance', retryable: true });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(3000);
      t.clock.advance(3600_000);
      expect((await lookup({ nir: '284057505612387' }, await partnerToken(t, partner))).status).toBe(200);
    } finally {
      t.clock.set(new Date());
    }
    const past = await api.post('/admin/api/maintenance-windows', { start: '2020-01-01T00:00:00Z', end: '2020-01-02T00:00:00Z',
      reason: 'trop tard' }, { token: partner.operator });
    expect(past.status).toBe(400);
    expect(past.body.errors[0].field).toBe('start');
    const start2 = new Date(t.clock.now().getTime() + 3600_000).toISOString();
    const backwards = await api.post('/admin/api/maintenance-windows', { start: start2, end: start.toISOString(), reason: 'à l\'envers' },
      { token: partner.operator });
    expect(backwards.status).toBe(400);
    expect(backwards.body).toMatchObject({ code: 'invalid_request', errors: [{ field: 'end', reason: 'must be after start' }] });
  });
});

describe('rights lookup rate limit', () => {
  let simulator: Simulator;
  let t: TestApp;
  beforeAll(async () => {
    simulator = await startSimulator({ population: 10 });
    t = await startTestApp({ UPSTREAM_URL: simulator.url });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('answers 429 with Retry-After and RateLimit headers past the approved requests per second', async () => {
    const partner = await onboardPartner(t, {}, { rateLimitPerSecond: 3 });
    const token = await partnerToken(t, partner);
    const body = { nir: '284057505612387', recipient: SIRET_CCAS_LYON, object: 'dossier 1', agent: 'a1' };
    const rejections = async () => Number(/^gateway_rate_limit_rejections_total\{route="\/v1\/droits\/recherche"\} (\d+)$/m
      .exec((await client(t.url).get('/metrics')).text)?.[1] ?? 0);
    const before = await rejections();
    // Start at the beginning of a second so that the four calls fall in one window.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000)));
    t.clock.set(new Date());
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await client(t.url).post('/v1/droits/recherche', body, { token }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(await rejections()).toBe(before + 1);
    expect(answers[0].headers.get('ratelimit-limit')).toBe('3');
    expect(answers[0].headers.get('ratelimit-remaining')).toBe('2');
    const refused = answers[3];
    expect(refused.body.code).toBe('rate_limited');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
  });
});
