import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { startSimulator, Simulator } from '../simulator/server';
import { GENESIS_HASH, SealedEntry, verifier } from '../src/audit/chain';
import { freePort } from '../src/common/database/embedded-postgres';
import { createTestDatabase } from './support/database';
import { onboardPartner, operatorToken, partnerToken, SIRET_CCAS_LYON } from './support/factories';
import { client, http } from './support/http';
import { OPERATOR, TestApp } from './support/test-app';

const MAIN = join(__dirname, '../dist/src/main.js');

function startGateway(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn('node', [MAIN], { env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway not ready:\n${output}`)), 30_000);
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Gateway ready on')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => reject(new Error(`gateway exited (${code}):\n${output}`)));
  });
}

describe('crash safety of the audit trail', () => {
  let simulator: Simulator;
  let database: { url: string; drop(): Promise<void> };
  let sql: Client;
  let gateway: ChildProcess | undefined;

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    database = await createTestDatabase();
    sql = new Client({ connectionString: database.url });
    sql.on('error', () => undefined);
    await sql.connect();
  });
  afterAll(async () => {
    gateway?.kill('SIGKILL');
    await sql?.end();
    await database?.drop();
    await simulator?.close();
  });

  it('keeps an entry for every 200 a client received when the gateway is killed, and seals the rest after restart', async () => {
    const port = String(await freePort());
    const env = { DATABASE_URL: database.url, UPSTREAM_URL: simulator.url, PORT: port, LOG_LEVEL: 'error', SECRET_KEY: 'cd'.repeat(32),
      BOOTSTRAP_OPERATOR_EMAIL: OPERATOR.email, BOOTSTRAP_OPERATOR_PASSWORD: OPERATOR.password, AUDIT_SEAL_INTERVAL_MS: '50',
      AUDIT_CHECKPOINT_EVERY: '100' };
    gateway = await startGateway(env);
    const target = { url: `http://127.0.0.1:${port}` } as TestApp;
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
    gateway.kill('SIGKILL');
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

    gateway = await startGateway(env);
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
