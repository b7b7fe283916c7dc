import { Client } from 'pg';
import { startSimulator, Simulator } from '../../simulator/server';
import { GENESIS_HASH, SealedEntry, verifier } from '../../src/audit/chain';
import { createTestDatabase } from '../support/database';
import { onboardPartner, operatorToken, partnerToken, SIRET_CCAS_LYON } from '../support/factories';
import { client, http } from '../support/http';
import { TestApp } from '../support/test-app';
import { gatewayEnv, GatewayProcess, startGatewayProcess } from './harness';

describe('crash safety of the audit trail', () => {
  let simulator: Simulator;
  let database: { url: string; drop(): Promise<void> };
  let sql: Client;
  let gateway: GatewayProcess | undefined;

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    database = await createTestDatabase();
    sql = new Client({ connectionString: database.url });
    sql.on('error', () => undefined);
    await sql.connect();
  });
  afterAll(async () => {
    await gateway?.stop('SIGKILL');
    await sql?.end();
    await database?.drop();
    await simulator?.close();
  });

  it('keeps an entry for every 200 a client received when the gateway is killed, and seals the rest after restart', async () => {
    gateway = await startGatewayProcess(gatewayEnv(database.url, simulator.url, { AUDIT_CHECKPOINT_EVERY: '100' }));
    const env = gatewayEnv(database.url, simulator.url, { AUDIT_CHECKPOINT_EVERY: '100', PORT: String(gateway.port) });
    const target = { url: gateway.url } as TestApp;
    const partner = await onboardPartner(target, {}, { rateLimitPerSecond: 100_000 });
    const token = await partnerToken(target, partner);

    const served: string[] = [];
    let stop = false;
    const worker = async (n: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const answer = await http(target.url, 'POST', '/v1/droits/recherche', { token, body: { nir: '284057505612387',
            recipient: SIRET_CCAS_LYON, object: `dossier ${n}-${i}`, agent: `agent-${n}` } });
          if (answer.status === 200) served.push(answer.body.request_id);
        } catch {
          return; // the gateway is gone
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, n) => worker(n));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await gateway.stop('SIGKILL');
    stop = true;
    await Promise.all(workers);
    gateway = undefined;
    expect(served.length).toBeGreaterThan(100);

    const traced = new Set((await sql.query(`SELECT request_id FROM audit_entries`)).rows
      .map((r) => r.request_id));
    expect(served.filter((id) => !traced.has(id))).toEqual([]);

    const verifySealed = async () => {
      const check = verifier({ startHash: GENESIS_HASH });
      const rows = (await sql.query('SELECT * FROM audit_log ORDER BY seq')).rows as SealedEntry[];
      rows.forEach((row) => check.entry(row));
      return check.result();
    };
    expect(await verifySealed()).toMatchObject({ ok: true });

    gateway = await startGatewayProcess(env);
    for (let i = 0; i < 100 && (await sql.query('SELECT count(*)::int AS n FROM audit_pending')).rows[0].n > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await sql.query('SELECT count(*)::int AS n FROM audit_pending')).rows[0].n).toBe(0);
    const sealed = await verifySealed();
    expect(sealed).toMatchObject({ ok: true });
    expect(sealed.checked).toBeGreaterThanOrEqual(served.length);
    const auditor = await operatorToken(target);
    const verified = await client(target.url).get('/admin/api/audit/verify', { token: auditor });
    expect(verified.body).toMatchObject({ ok: true });
    expect(verified.body.checkpoints_checked).toBeGreaterThan(0);
  }, 90_000);
});
