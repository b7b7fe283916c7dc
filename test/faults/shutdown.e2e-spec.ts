import { Agent, request } from 'node:http';
import { Client } from 'pg';
import { startSimulator, Simulator } from '../../simulator/server';
import { createTestDatabase, lockTables } from '../support/database';
import { client } from '../support/http';
import { operatorToken, SIRET_CCAS_LYON } from '../support/factories';
import { TestApp } from '../support/test-app';
import { drive, eventually, gatewayEnv, loadPartner, sleep, startGatewayProcess } from './harness';

/**
 * SIGTERM under load (issue 14's fault suite): the gateway stops taking connections, finishes the lookups it has
 * started (each one answered in full, and traced), seals what it traced, writes its availability and usage counters,
 * and exits 0.
 */
/** For one describe block: a simulator answering after `latencyMs`, a fresh database and the owner's connection to it. */
function setting(latencyMs: number) {
  const fixture = {} as { simulator: Simulator; database: { url: string; drop(): Promise<void> }; sql: Client };
  beforeAll(async () => {
    fixture.simulator = await startSimulator({ population: 100, faults: { latencyMs, jitterMs: 0, errorRate: 0, timeoutRate: 0, malformedRate: 0,
      down: false, flapPeriodMs: 0 } });
    fixture.database = await createTestDatabase();
    fixture.sql = new Client({ connectionString: fixture.database.url });
    await fixture.sql.connect();
  });
  afterAll(async () => {
    await fixture.sql?.end();
    await fixture.database?.drop();
    await fixture.simulator?.close();
  });
  return fixture;
}

describe('faults: graceful shutdown under load', () => {
  // Each lookup takes 150 ms upstream: there are always lookups in flight when the signal comes.
  const env = setting(150);

  it('finishes and traces every lookup in flight, flushes the trail and the counters, and exits 0', async () => {
    const gateway = await startGatewayProcess(gatewayEnv(env.database.url, env.simulator.url, { SLA_FLUSH_SECONDS: '60' }));
    const token = await loadPartner(gateway.url);
    const load = drive(gateway.url, token, 24);
    let exit: number | string | null;
    try {
      // Under way (however busy the machine): a hundred lookups answered, and more in flight when the signal comes.
      await eventually('a hundred lookups answered', () => load.answers.filter((a) => !a.failed).length > 100, 15_000);
      exit = await gateway.stop('SIGTERM');
      await sleep(300);
    } finally {
      await load.stop();
    }
    expect(exit).toBe(0);
    expect(gateway.output()).toContain('SIGTERM received, stopping');
    // Every lookup that reached the gateway was answered in full, and answered 200: none cut, none refused for the
    // shutdown. Those sent after it stopped listening found no one (connection refused), which a client retries.
    const answered = load.answers.filter((a) => !a.failed);
    expect(answered.length).toBeGreaterThan(100);
    expect(answered.filter((a) => a.status !== 200)).toEqual([]);
    expect(load.answers.some((a) => a.failed)).toBe(true);
    // Traced, and sealed before exit.
    const traced = new Set((await env.sql.query(`SELECT request_id FROM audit_entries WHERE kind = 'lookup'`)).rows.map((r) => r.request_id));
    expect(answered.filter((a) => !traced.has(a.requestId))).toEqual([]);
    expect((await env.sql.query('SELECT count(*)::int AS n FROM audit_pending')).rows[0].n).toBe(0);
    // The availability and usage counters of the last minutes were written at exit, not lost with the process
    // (SLA_FLUSH_SECONDS is 60: without the flush at shutdown, nothing of the last minute would be there).
    const [{ requests }] = (await env.sql.query('SELECT coalesce(sum(requests), 0)::int AS requests FROM sla_minutes')).rows;
    const [{ calls }] = (await env.sql.query('SELECT coalesce(sum(calls), 0)::int AS calls FROM usage_days')).rows;
    expect(requests).toBe(traced.size);
    expect(calls).toBe(traced.size);
  }, 60_000);
  it('closes a keep-alive connection with the answer it was waiting for, so an idle client does not hold the stop', async () => {
    const gateway = await startGatewayProcess(gatewayEnv(env.database.url, env.simulator.url));
    const token = await loadPartner(gateway.url);
    // One client, one kept-alive connection, one lookup in flight (150 ms upstream) when the signal comes; then idle.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const lookup = (object: string) => new Promise<{ status: number; connection?: string }>((resolve, reject) => {
        const body = JSON.stringify({ nir: '284057505612387', recipient: SIRET_CCAS_LYON, context: 'RSA', object, agent: 'agent-1' });
        const req = request(`${gateway.url}/v1/droits/recherche`, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`,
          'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
        });
        req.on('error', reject);
        req.end(body);
      });
      expect(await lookup('dossier 1')).toEqual({ status: 200, connection: 'keep-alive' });
      const inFlight = lookup('dossier 2');
      await sleep(50);
      const started = Date.now();
      const exiting = gateway.stop('SIGTERM');
      expect(await inFlight).toEqual({ status: 200, connection: 'close' });
      expect(await exiting).toBe(0);
      // Left open, the connection would have held the stop for HTTP_KEEP_ALIVE_TIMEOUT_MS (30 s), past its deadline.
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      agent.destroy();
      await gateway.stop('SIGKILL');
    }
  }, 60_000);
});

describe('faults: graceful shutdown under a keep-alive client that never waits', () => {
  const env = setting(5);

  it('cuts none of the lookups a keep-alive client sends while the stop begins: each is answered or refused before it is sent', async () => {
    const gateway = await startGatewayProcess(gatewayEnv(env.database.url, env.simulator.url));
    const token = await loadPartner(gateway.url);
    // A balancer's pool: 16 kept-alive connections, each sending its next lookup as soon as the last is answered
    // (nginx does the same and does not replay a POST it has sent: a request cut after it was written is a 502).
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const seen = { ok: [] as string[], refused: 0, cut: [] as string[] };
    let going = true;
    const lookup = (n: number) => new Promise<void>((resolve) => {
      const body = JSON.stringify({ nir: '284057505612387', recipient: SIRET_CCAS_LYON, context: 'RSA', object: `dossier ${n}`, agent: 'agent-1' });
      const req = request(`${gateway.url}/v1/droits/recherche`, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`,
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) seen.ok.push(String(res.headers['x-request-id']));
          else seen.cut.push(`status ${res.statusCode}`);
          resolve();
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // Refused at connect: nothing was sent, the balancer sends it to another instance.
        if (error.code === 'ECONNREFUSED') seen.refused++;
        else seen.cut.push(error.code ?? error.message);
        resolve();
      });
      req.end(body);
    });
    const workers = Array.from({ length: 16 }, async (_, w) => {
      for (let n = 0; going; n++) {
        await lookup(w * 100_000 + n);
        if (seen.refused > 0) await sleep(10);
      }
    });
    try {
      await eventually('lookups answered', () => seen.ok.length > 300, 20_000);
      expect(await gateway.stop('SIGTERM')).toBe(0);
      going = false;
      await Promise.all(workers);
    } finally {
      going = false;
      agent.destroy();
      await gateway.stop('SIGKILL');
    }
    expect(seen.cut).toEqual([]);
    expect(seen.refused).toBeGreaterThan(0);
    // Every lookup answered 200 was traced.
    const traced = new Set((await env.sql.query(`SELECT request_id FROM audit_entries WHERE kind = 'lookup'`)).rows.map((r) => r.request_id));
    expect(seen.ok.filter((id) => !traced.has(id))).toEqual([]);
  }, 60_000);
});

describe('faults: graceful shutdown with a database that stops answering', () => {
  const env = setting(20);

  it('exits by itself at SHUTDOWN_TIMEOUT_MS, saying so, with no answer untraced; a second signal exits at once', async () => {
    const gateway = await startGatewayProcess(gatewayEnv(env.database.url, env.simulator.url, { SHUTDOWN_TIMEOUT_MS: '2000' }));
    const token = await loadPartner(gateway.url);
    const load = drive(gateway.url, token, 8);
    let trail: Awaited<ReturnType<typeof lockTables>> | undefined;
    let exit: number | string | null;
    let stoppedIn: number;
    try {
      await eventually('lookups answered', () => load.answers.filter((a) => a.status === 200).length > 20, 15_000);
      // The database takes the connections but answers nothing more of the trail: appends and the final seal wait.
      trail = await lockTables(env.database.url, 'audit_entries, audit_pending, audit_seals');
      await sleep(300);
      const started = Date.now();
      exit = await gateway.stop('SIGTERM');
      stoppedIn = Date.now() - started;
    } finally {
      await trail?.release();
      await load.stop();
    }
    expect(exit).toBe(1);
    // Without the deadline it waits for ever (the lock is held until the process is gone).
    expect(stoppedIn).toBeGreaterThanOrEqual(2000);
    expect(stoppedIn).toBeLessThan(10_000);
    expect(gateway.output()).toContain('SIGTERM received, stopping (at most 2000 ms)');
    expect(gateway.output()).toContain('Graceful stop not finished within 2000 ms (SHUTDOWN_TIMEOUT_MS): exiting');
    // Lookups held by the database were cut, never answered with data: every 200 has its entry.
    const traced = new Set((await env.sql.query(`SELECT request_id FROM audit_entries WHERE kind = 'lookup'`)).rows.map((r) => r.request_id));
    const ok = load.answers.filter((a) => a.status === 200);
    expect(ok.filter((a) => !traced.has(a.requestId))).toEqual([]);

    // The next gateway seals what the first left pending, and the chain verifies.
    const next = await startGatewayProcess(gatewayEnv(env.database.url, env.simulator.url, { SHUTDOWN_TIMEOUT_MS: '60000' }));
    let trailAgain: Awaited<ReturnType<typeof lockTables>> | undefined;
    try {
      await eventually('everything sealed', async () => (await env.sql.query('SELECT count(*)::int AS n FROM audit_pending')).rows[0].n === 0);
      const auditor = await operatorToken({ url: next.url } as TestApp);
      expect((await client(next.url).get('/admin/api/audit/verify', { token: auditor })).body).toMatchObject({ ok: true });
      // With a deadline of a minute, a second signal stops it at once.
      const pending = drive(next.url, token, 2);
      await sleep(300);
      trailAgain = await lockTables(env.database.url, 'audit_entries, audit_pending, audit_seals');
      await sleep(300);
      next.child.kill('SIGTERM');
      await eventually('the first signal seen', () => next.output().includes('SIGTERM received, stopping'));
      const started = Date.now();
      expect(await next.stop('SIGTERM')).toBe(1);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(next.output()).toContain('SIGTERM received again, exiting without waiting');
      await pending.stop();
    } finally {
      await trailAgain?.release();
      await next.stop('SIGKILL');
    }
  }, 90_000);
});

describe('faults: graceful shutdown during verifications of the trail', () => {
  const env = setting(20);

  it('answers the verifications running or waiting 503 instance_stopping at once, rather than holding the stop', async () => {
    const gateway = await startGatewayProcess(gatewayEnv(env.database.url, env.simulator.url, { SHUTDOWN_TIMEOUT_MS: '60000' }));
    let checkpoints: Awaited<ReturnType<typeof lockTables>> | undefined;
    let exit: number | string | null;
    let stoppedIn: number;
    try {
      const token = await loadPartner(gateway.url);
      const load = drive(gateway.url, token, 2);
      await eventually('lookups answered', () => load.answers.filter((a) => a.status === 200).length > 10, 15_000);
      await load.stop();
      await eventually('entries sealed', async () => (await env.sql.query('SELECT count(*)::int AS n FROM audit_seals')).rows[0].n > 10);
      const auditor = await operatorToken({ url: gateway.url } as TestApp);
      // A verification that would last as long as the lock does (as one of a long trail would), and one waiting behind it.
      checkpoints = await lockTables(env.database.url, 'audit_checkpoints');
      const api = client(gateway.url);
      const running = api.get('/admin/api/audit/verify', { token: auditor });
      await eventually('the verification reads, and waits', async () => (await env.sql.query(`SELECT count(*)::int AS n FROM pg_locks
        WHERE NOT granted AND relation = 'audit_checkpoints'::regclass`)).rows[0].n > 0);
      const waiting = api.get('/admin/api/audit/verify', { token: auditor });
      await sleep(300);
      const started = Date.now();
      const exiting = gateway.stop('SIGTERM');
      for (const answer of await Promise.all([running, waiting])) {
        expect(answer.status).toBe(503);
        expect(answer.body).toMatchObject({ code: 'instance_stopping', retryable: true });
        expect(answer.headers.get('retry-after')).toBe('1');
      }
      expect(Date.now() - started).toBeLessThan(5000);
      // The rest of the stop (the last seal signs a checkpoint) needs the table: released once the answers are in.
      await checkpoints.release();
      exit = await exiting;
      stoppedIn = Date.now() - started;
    } finally {
      await checkpoints?.release();
      await gateway.stop('SIGKILL');
    }
    expect(exit).toBe(0);
    // The verifications' keep-alive connections closed with their answers: left open, they would have held the stop
    // for HTTP_KEEP_ALIVE_TIMEOUT_MS (30 s).
    expect(stoppedIn).toBeLessThan(10_000);
    expect(gateway.output()).not.toMatch(/ERROR|failed/);
  }, 60_000);
});
