import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, Simulator } from '../simulator/server';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

/** The README's sandbox block, as a partner's developer would paste it. */
function documentedCommands(): string {
  const readme = readFileSync(join(__dirname, '../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The sandbox'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README: no sh block in the sandbox section');
  return block[1];
}

/** SANDBOX=true (DESIGN §8): approved at once, credentials in the 201 answer, said on every answer, simulator only. */
describe('sandbox', () => {
  let simulator: Simulator;
  let t: TestApp;
  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    t = await startTestApp({ SANDBOX: 'true', UPSTREAM_URL: simulator.url });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('takes a developer from nothing to a first lookup with the README\'s three curl commands, exactly as written', async () => {
    const script = documentedCommands().replace(/^BASE=.*$/m, `BASE=${t.url}`);
    expect(script.match(/\bcurl\b/g)).toHaveLength(3);
    // Asynchronously: the gateway answering those commands runs in this very process.
    const run = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    const answer = JSON.parse(run.stdout);
    expect(answer.droits.ouverture.ouverts).toBe(true);
    expect(Object.keys(answer.droits).sort()).toEqual(['c2s', 'ouverture']);
  });

  it('approves an access request at once with the scopes it asks for, and says "sandbox" on every answer', async () => {
    const api = client(t.url);
    const submitted = await api.post('/v1/access-requests', {
      organisation: { name: 'CCAS de Lyon', siret: '21690123100011' }, contact: { name: 'Camille', email: 'c@lyon.test' },
      technicalContact: { name: 'Alex', email: 'a@lyon.test' }, legalBasis: 'article L114-8 CRPA', purpose: 'tests',
      scopes: ['droits.caisse'], retentionMonths: 12, expectedDailyVolume: 10, recipients: ['21690123100011'], termsVersion: '2026-01' });
    expect(submitted.status).toBe(201);
    expect(submitted.body).toMatchObject({ status: 'approved', partner: { status: 'active', scopes: ['droits.caisse'] },
      credentials: { client_id: expect.any(String), client_secret: expect.any(String) }, tracking_token: expect.any(String) });
    for (const path of ['/v1/terms/current', '/health/live', '/v1/status', '/nowhere']) {
      expect([path, (await api.get(path)).headers.get('x-sandbox')]).toEqual([path, 'true']);
    }
    const [action] = await t.sql<{ actor: string }>(`SELECT detail ->> 'actor_type' AS actor FROM audit_entries WHERE action = 'access_request.approved'
      AND target = $1`, [`access_request:${submitted.body.id}`]);
    expect(action.actor).toBe('system');
  });

  it('refuses to start against an upstream that is not the bundled simulator, unless told it is a test backend', async () => {
    const notSimulator = 'http://127.0.0.1:9'; // nothing listens
    await expect(startTestApp({ SANDBOX: 'true', UPSTREAM_URL: notSimulator })).rejects.toThrow(/SANDBOX=true runs against the bundled simulator only/);
    const allowed = await startTestApp({ SANDBOX: 'true', UPSTREAM_URL: notSimulator, SANDBOX_UPSTREAM_OK: 'true' });
    await allowed.close();
    expect((await client(t.url).get('/health/live')).status).toBe(200);
  });
});
