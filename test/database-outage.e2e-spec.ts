import { escapeIdentifier } from 'pg';
import { startSimulator, Simulator } from '../simulator/server';
import { accessRequestBody, onboardPartner, partnerToken, SIRET_CCAS_LYON } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

/**
 * While the gateway cannot reach its database, every answer is the contract's 503 audit_unavailable (DESIGN §3.4):
 * no personal data, no 500, and no code the contract does not have; once it is back, everything works again.
 */
describe('database out of reach', () => {
  let simulator: Simulator;
  let t: TestApp;
  let token: string;
  let login: string;
  let api: ReturnType<typeof client>;

  const lookup = () => api.post('/v1/droits/recherche', { nir: '284057505612387', recipient: SIRET_CCAS_LYON, object: 'dossier', agent: 'a-1' },
    { token });

  beforeAll(async () => {
    simulator = await startSimulator({ population: 10 });
    t = await startTestApp({ UPSTREAM_URL: simulator.url });
    api = client(t.url);
    token = await partnerToken(t, await onboardPartner(t));
    login = new URL(t.appDatabaseUrl).username;
  });
  afterAll(async () => {
    await t?.sql(`ALTER ROLE ${escapeIdentifier(login)} CONNECTION LIMIT -1`);
    await t?.close();
    await simulator?.close();
  });

  it('answers 503 audit_unavailable on every route, longer than the partner directory may serve from memory, then recovers', async () => {
    expect((await lookup()).status).toBe(200);
    // The application's connections are cut and new ones refused (53300), as when the server is gone.
    await t.sql(`ALTER ROLE ${escapeIdentifier(login)} CONNECTION LIMIT 0`);
    await t.sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [login]);
    for (const wait of [0, 5500]) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      const refused = await lookup();
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ code: 'audit_unavailable', retryable: true });
      expect(refused.text).not.toMatch(/DUPONT|ouverture|c2s/);
    }
    for (const answer of [await api.get('/v1/me', { token }), await api.post('/v1/access-requests', accessRequestBody())]) {
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: 'audit_unavailable', retryable: true });
    }

    await t.sql(`ALTER ROLE ${escapeIdentifier(login)} CONNECTION LIMIT -1`);
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = (await lookup()).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
  });
});
