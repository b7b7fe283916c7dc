import { ChildProcess, spawn } from 'node:child_process';
import { Client } from 'pg';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startSimulator, Simulator } from '../../simulator/server';
import { operatorToken } from '../support/factories';
import { client } from '../support/http';
import { TestApp } from '../support/test-app';
import { drive, eventually, gatewayEnv, GatewayProcess, loadPartner, sleep, startGatewayProcess, tally } from './harness';

/** A PostgreSQL in a process of its own (test/support/postgres-server.mjs), stopped and started on command. */
async function startPostgres() {
  const child: ChildProcess = spawn('node', [join(__dirname, '../support/postgres-server.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => String((await lines.next()).value);
  const url = (await next()).replace(/^ready /, '');
  const command = async (line: string, answer: string) => {
    child.stdin!.write(`${line}\n`);
    expect(await next()).toBe(answer);
  };
  return {
    url,
    stop: () => command('stop', 'stopped'),
    start: () => command('start', 'started'),
    quit: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin!.write('quit\n');
    }),
  };
}

/**
 * PostgreSQL stops under load, then comes back (issue 14's fault suite): lookups answer 503 audit_unavailable meanwhile
 * — never personal data without its trace, never a 500 —, the gateway stays up and reconnects by itself, and every
 * answer a client received before, during and after has its entry in a chain that verifies.
 */
describe('faults: the database stopped mid-load, then restarted', () => {
  let simulator: Simulator;
  let postgres: Awaited<ReturnType<typeof startPostgres>>;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    postgres = await startPostgres();
    gateway = await startGatewayProcess(gatewayEnv(postgres.url, simulator.url));
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop('SIGKILL');
    await postgres?.quit();
    await simulator?.close();
  });

  it('answers 503 audit_unavailable while it is gone, reconnects, and loses nothing it answered', async () => {
    const token = await loadPartner(gateway.url);
    const load = drive(gateway.url, token, 16);
    let outageFrom = 0;
    let backFrom = 0;
    try {
      await sleep(1000);
      outageFrom = load.answers.length;
      await postgres.stop();
      await sleep(2500);
      if (gateway.child.exitCode !== null) throw new Error(`the gateway exited (${gateway.child.exitCode}):\n${gateway.output().slice(-4000)}`);
      await postgres.start();
      backFrom = load.answers.length;
      await eventually('lookups succeed again', () => load.since(backFrom).slice(-50).filter((a) => a.status === 200).length === 50, 20_000);
    } finally {
      await load.stop();
    }
    const outage = load.answers.slice(outageFrom, backFrom);
    const refused = outage.filter((a) => a.status !== 200);
    expect(refused.length).toBeGreaterThan(50);
    expect(tally(refused, (a) => `${a.status} ${a.code}`)).toEqual({ '503 audit_unavailable': refused.length });
    expect(refused.every((a) => Number(a.retryAfter) >= 1)).toBe(true);
    expect(load.answers.filter((a) => a.failed)).toEqual([]);
    expect(gateway.child.exitCode).toBeNull();

    // Every 200 has its entry, and the chain, sealed by the gateway once back, verifies.
    const api = client(gateway.url);
    const auditor = await operatorToken({ url: gateway.url } as TestApp);
    const served = [...new Set(load.answers.filter((a) => a.status === 200).map((a) => a.requestId))];
    const sql = new Client({ connectionString: postgres.url });
    await sql.connect();
    try {
      // Sealed by the gateway once the database is back: nothing pending, every answered lookup in the chain.
      await eventually('the trail sealed', async () => (await sql.query(`SELECT count(*)::int AS n FROM audit_pending`)).rows[0].n === 0,
        20_000);
      const { rows: [{ traced }] } = await sql.query(`SELECT count(*)::int AS traced FROM audit_log WHERE kind = 'lookup' AND request_id = ANY($1)`, [served]);
      expect(traced).toBe(served.length);
    } finally {
      await sql.end();
    }
    expect((await api.get('/admin/api/audit/verify', { token: auditor })).body).toMatchObject({ ok: true });
  }, 90_000);

  it('answers a verification whose connection the database cuts 503 audit_unavailable, never "the chain is broken"', async () => {
    const auditor = await operatorToken({ url: gateway.url } as TestApp);
    const api = client(gateway.url);
    expect((await api.get('/admin/api/audit/verify', { token: auditor })).body).toMatchObject({ ok: true });
    const sql = new Client({ connectionString: postgres.url });
    const watch = new Client({ connectionString: postgres.url });
    await Promise.all([sql.connect(), watch.connect()]);
    try {
      // Something sealed to verify (the auditor's login at least), nothing left pending.
      await eventually('the trail sealed', async () => (await watch.query(`SELECT (SELECT count(*) FROM audit_pending) = 0
        AND EXISTS (SELECT 1 FROM audit_seals) AS sealed`)).rows[0].sealed);
      // The verification's own connection (in its worker thread) waits on a lock; then the server ends it, as a
      // restart or an administrator would.
      await sql.query('BEGIN');
      await sql.query('LOCK TABLE audit_checkpoints IN ACCESS EXCLUSIVE MODE');
      const answer = api.get('/admin/api/audit/verify', { token: auditor });
      const waiting = async () => (await watch.query(`SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND l.relation = 'audit_checkpoints'::regclass AND a.application_name = 'api-droits-cnam-gateway-verifier'`)).rows;
      await eventually('the verification waits on the lock', async () => (await waiting()).length > 0);
      for (const { pid } of await waiting()) await sql.query('SELECT pg_terminate_backend($1)', [pid]);
      const cut = await answer;
      expect(cut.status).toBe(503);
      expect(cut.body).toMatchObject({ code: 'audit_unavailable', retryable: true });
      expect(cut.body.ok).toBeUndefined();
    } finally {
      await sql.query('ROLLBACK').catch(() => undefined);
      await Promise.all([sql.end(), watch.end()]);
    }
    // Nothing was wrong with the chain: the next verification says so.
    expect((await api.get('/admin/api/audit/verify', { token: auditor })).body).toMatchObject({ ok: true });
  }, 60_000);
});
