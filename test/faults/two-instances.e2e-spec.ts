import { randomUUID } from 'node:crypto';
import { applicationLoginName } from '../../src/common/database/application-login';
import { loadConfig } from '../../src/common/config/config';
import { MIGRATIONS } from '../../migrations';
import { prepareDatabase } from '../../src/database-setup';
import { Client } from 'pg';
import { startSimulator, Simulator } from '../../simulator/server';
import { createTestDatabase, dropRole } from '../support/database';
import { onboardPartner, operatorToken, partnerToken, SIRET_CCAS_LYON } from '../support/factories';
import { client } from '../support/http';
import { startRedis } from '../support/redis';
import { metricValue } from '../support/metrics';
import { startTestApp, TestApp } from '../support/test-app';
import { drive, eventually, gatewayEnv, GatewayProcess, sleep, startGatewayProcess, tally } from './harness';

const LOOKUP = { nir: '284057505612387', recipient: SIRET_CCAS_LYON, context: 'RSA', object: 'dossier 1', agent: 'agent-1' };

const metric = (t: TestApp, name: string) => metricValue(t.url, name);

/**
 * Two gateway instances on one PostgreSQL and one Redis (RATE_LIMIT_POLICY=redis, DESIGN §8): a partner's limit per
 * second holds across both; with Redis down, each falls back to its share of the limit, never failing a lookup, and
 * says so in /metrics; when Redis is back, the count is shared again.
 */
describe('two instances share a partner\'s rate limit through Redis', () => {
  let simulator: Simulator;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let one: TestApp;
  let two: TestApp;
  let token: string;

  /** Both instances' clocks at the same instant, so that their requests fall in one window of a second. */
  const setClocks = (at: number) => {
    one.clock.set(new Date(at));
    two.clock.set(new Date(at));
  };
  /** `n` lookups, alternately on each instance: their statuses in order. */
  const burst = async (n: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await client((i % 2 ? two : one).url).post('/v1/droits/recherche', LOOKUP, { token })).status);
    return statuses;
  };

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    redis = await startRedis();
    const env = { UPSTREAM_URL: simulator.url, RATE_LIMIT_POLICY: 'redis', RATE_LIMIT_REDIS_URL: redis.url, RATE_LIMIT_INSTANCES: '2' };
    one = await startTestApp(env);
    two = await startTestApp(env, { databaseUrl: one.databaseUrl });
    const partner = await onboardPartner(one, {}, { rateLimitPerSecond: 6 });
    token = await partnerToken(one, partner);
    // The second instance learns of the new partner from its directory's next reload.
    await eventually('the second instance knows the partner', async () =>
      (await client(two.url).post('/v1/droits/recherche', LOOKUP, { token })).status === 200);
    await eventually('both instances are connected to Redis', async () => (await metric(one, 'gateway_rate_limit_shared')) === 1
      && (await metric(two, 'gateway_rate_limit_shared')) === 1);
  }, 60_000);
  afterAll(async () => {
    await two?.close();
    await one?.close();
    await redis?.stop();
    await simulator?.close();
  });

  it('lets through exactly the partner\'s limit per second, whichever instance answers', async () => {
    const second = Math.floor(Date.now() / 1000) * 1000 + 10_000;
    setClocks(second + 100);
    expect(await burst(10)).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    const refused = await client(one.url).post('/v1/droits/recherche', LOOKUP, { token });
    expect(refused.body).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(refused.headers.get('ratelimit-limit')).toBe('6');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    setClocks(second + 1100); // the next second: a fresh window
    expect(await burst(6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await metric(one, 'gateway_rate_limit_fallback_total')).toBe(0);
  });

  it('falls back to each instance\'s share while Redis is down, never failing a lookup, and shares again once it is back', async () => {
    await redis.stop();
    await eventually('the instances see Redis gone', async () => (await metric(one, 'gateway_rate_limit_shared')) === 0
      && (await metric(two, 'gateway_rate_limit_shared')) === 0);
    const second = Math.floor(Date.now() / 1000) * 1000 + 20_000;
    setClocks(second + 100);
    // Each instance allows 6 / 2 = 3: together, never more than the limit.
    const statuses = await burst(10);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    expect(await metric(one, 'gateway_rate_limit_fallback_total')).toBeGreaterThanOrEqual(5);
    const alone = [];
    for (let i = 0; i < 4; i++) alone.push((await client(one.url).post('/v1/droits/recherche', LOOKUP, { token })).status);
    expect(alone).toEqual([429, 429, 429, 429]); // one instance alone: its share only

    await redis.start();
    await eventually('the instances reconnect to Redis', async () => (await metric(one, 'gateway_rate_limit_shared')) === 1
      && (await metric(two, 'gateway_rate_limit_shared')) === 1);
    setClocks(second + 1100);
    expect(await burst(8)).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
  }, 30_000);
});

describe('two instances starting at once on an empty database', () => {
  it('migrate it, create its key and its login role once, and both start', async () => {
    const database = await createTestDatabase({ empty: true });
    try {
      const config = loadConfig({ DATABASE_URL: database.url, SECRET_KEY: 'ab'.repeat(32), DATA_DIR: '/nonexistent-test-data-dir' });
      const [first, second] = await Promise.all([prepareDatabase(config, database.url), prepareDatabase(config, database.url)]);
      expect([first.applied.length, second.applied.length].sort((a, b) => a - b)).toEqual([0, MIGRATIONS.length]);
      expect(first.appUrl).toBe(second.appUrl);
    } finally {
      await database.drop();
      await dropRole(applicationLoginName(new URL(database.url).pathname.slice(1)));
    }
  }, 60_000);
});

/**
 * Two gateway processes on one PostgreSQL, both sealing and probing, under load on both (issue 14's fault suite):
 * one chain without a gap, each minute's rows from both instances merged once, and a suspension made through one
 * honoured by the other within 5 seconds.
 */
describe('two gateway processes under load on one database', () => {
  let simulator: Simulator;
  let database: { url: string; drop(): Promise<void> };
  let gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    database = await createTestDatabase();
    const env = gatewayEnv(database.url, simulator.url, { SLA_PROBE_INTERVAL_SECONDS: '1', SLA_FLUSH_SECONDS: '1', AUDIT_CHECKPOINT_EVERY: '50' });
    gateways = [await startGatewayProcess(env)];
    gateways.push(await startGatewayProcess(env));
  }, 90_000);
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop('SIGKILL');
    await database?.drop();
    await simulator?.close();
  });

  it('seals one gapless chain between them, counts each minute once, and both refuse a suspended partner within 5 s', async () => {
    const [one, two] = gateways;
    const target = { url: one.url } as TestApp;
    const partner = await onboardPartner(target, {}, { rateLimitPerSecond: 100_000 });
    const token = await partnerToken(target, partner);
    await eventually('the second instance knows the partner', async () =>
      (await client(two.url).post('/v1/droits/recherche', LOOKUP, { token })).status === 200);
    const loads = [drive(one.url, token, 8), drive(two.url, token, 8)];
    await sleep(2500);
    const answers = (await Promise.all(loads.map((load) => load.stop()))).flat();
    expect(tally(answers)).toEqual({ 200: answers.length });

    const sql = new Client({ connectionString: database.url });
    await sql.connect();
    try {
      await eventually('both instances sealed everything', async () => (await sql.query('SELECT count(*)::int AS n FROM audit_pending')).rows[0].n === 0);
      const { rows: [chain] } = await sql.query('SELECT count(*)::int AS entries, min(seq)::int AS first, max(seq)::int AS last FROM audit_log');
      expect(chain).toEqual({ entries: chain.last, first: 1, last: chain.entries }); // 1..n, no gap, no repeat
      const auditor = await operatorToken(target);
      const verified = (await client(two.url).get('/admin/api/audit/verify', { token: auditor })).body;
      expect(verified.ok).toBe(true);
      expect(verified.checked).toBeGreaterThanOrEqual(chain.entries); // the auditor's login since, sealed too
      // Both instances probed and counted; the month's report merges their rows into one figure per minute.
      await eventually('both instances flushed their minutes', async () => (await sql.query('SELECT count(DISTINCT instance)::int AS n FROM sla_minutes')).rows[0].n === 2);
      await sleep(1500); // the last flush after the load
      const { rows: [counted] } = await sql.query(`SELECT count(DISTINCT minute)::int AS minutes, sum(requests)::int AS requests,
        sum(probes_ok)::int AS probes FROM sla_minutes`);
      expect(counted.requests).toBe(answers.length + 1); // and the lookup that waited for the second instance
      expect(counted.probes).toBeGreaterThanOrEqual(4);
      // One row per instance and minute, each instance's lookups in its own rows only: the month's computation
      // (test/availability) merges them into one figure per minute.
      const { rows: perMinute } = await sql.query('SELECT minute, count(*)::int AS rows FROM sla_minutes GROUP BY minute');
      expect(perMinute.every((row) => row.rows <= 2)).toBe(true);
      expect(counted.minutes).toBe(perMinute.length);
    } finally {
      await sql.end();
    }

    const operator = await operatorToken(target);
    const suspended = Date.now();
    expect((await client(one.url).post(`/admin/api/partners/${partner.partnerId}/suspend`, { reason: 'Contrôle' }, { token: operator })).status).toBe(200);
    await eventually('the second instance refuses the partner', async () =>
      (await client(two.url).post('/v1/droits/recherche', LOOKUP, { token })).status === 401, 5000);
    expect(Date.now() - suspended).toBeLessThan(5000);
  }, 90_000);
});

/**
 * A deploy: each of two instances stopped (SIGTERM) and started again on its port in turn, under load, behind a
 * client that does what the proxy example does (round robin; a lookup whose connection failed before any answer goes
 * to the other instance). Every lookup is answered 200, none is processed without its answer reaching the client,
 * and the two generations of instances leave one chain.
 */
describe('a rolling restart of two instances under load', () => {
  let simulator: Simulator;
  let database: { url: string; drop(): Promise<void> };
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100, faults: { latencyMs: 20, jitterMs: 0, errorRate: 0, timeoutRate: 0, malformedRate: 0,
      down: false, flapPeriodMs: 0 } });
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop('SIGKILL');
    await database?.drop();
    await simulator?.close();
  });

  it('answers every lookup, traces each answer once and nothing unanswered, and leaves one chain', async () => {
    const env = gatewayEnv(database.url, simulator.url);
    gateways.push(await startGatewayProcess(env), await startGatewayProcess(env));
    const ports = gateways.map((g) => g.port);
    const partner = await onboardPartner({ url: gateways[0].url } as TestApp, {}, { rateLimitPerSecond: 100_000 });
    const token = await partnerToken({ url: gateways[0].url } as TestApp, partner);
    await eventually('the second instance knows the partner', async () =>
      (await client(gateways[1].url).post('/v1/droits/recherche', LOOKUP, { token })).status === 200);

    const answered: { status: number; requestId: string }[] = [];
    const unanswered: string[] = []; // request ids of attempts whose connection failed before an answer
    let running = true;
    let turn = 0;
    const worker = async (n: number) => {
      for (let i = 0; running; i++) {
        // Round robin; an attempt that got no answer goes to the other instance, as the proxy does.
        let status = 0;
        for (let attempt = 0; status === 0; attempt++) {
          const requestId = randomUUID();
          try {
            const response = await fetch(`http://127.0.0.1:${ports[(turn++ + attempt) % 2]}/v1/droits/recherche`, { method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': requestId },
              body: JSON.stringify({ ...LOOKUP, object: `dossier ${n}-${i}` }) });
            await response.arrayBuffer();
            status = response.status;
            answered.push({ status, requestId });
          } catch {
            unanswered.push(requestId);
            if (attempt > 20) throw new Error('no instance answered twenty times in a row');
            await sleep(10);
          }
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, n) => worker(n));
    const stops: { code: number | string | null; ms: number }[] = [];
    try {
      for (const index of [0, 1]) {
        await sleep(1500);
        const started = Date.now();
        stops.push({ code: await gateways[index].stop('SIGTERM'), ms: Date.now() - started });
        gateways[index] = await startGatewayProcess({ ...env, PORT: String(ports[index]) });
      }
      await sleep(1500);
    } finally {
      running = false;
      await Promise.all(workers);
    }

    expect(stops.map((s) => s.code)).toEqual([0, 0]);
    expect(Math.max(...stops.map((s) => s.ms))).toBeLessThan(10_000);
    expect(answered.length).toBeGreaterThan(200);
    expect(tally(answered as never)).toEqual({ 200: answered.length });
    // Some attempts met a stopped instance; each was retried, and none of them had been processed (traced).
    expect(unanswered.length).toBeGreaterThan(0);
    const sql = new Client({ connectionString: database.url });
    await sql.connect();
    try {
      await eventually('everything sealed', async () => (await sql.query('SELECT count(*)::int AS n FROM audit_pending')).rows[0].n === 0);
      const traced = (await sql.query<{ request_id: string; n: number }>(`SELECT request_id, count(*)::int AS n FROM audit_entries
        WHERE kind = 'lookup' GROUP BY request_id`)).rows;
      const times = new Map(traced.map((row) => [row.request_id, row.n]));
      expect(answered.filter((a) => times.get(a.requestId) !== 1).map((a) => a.requestId)).toEqual([]);
      expect(unanswered.filter((id) => times.has(id))).toEqual([]);
      const { rows: [chain] } = await sql.query('SELECT count(*)::int AS entries, min(seq)::int AS first, max(seq)::int AS last FROM audit_log');
      expect(chain).toEqual({ entries: chain.last, first: 1, last: chain.entries });
    } finally {
      await sql.end();
    }
    const auditor = await operatorToken({ url: gateways[1].url } as TestApp);
    expect((await client(gateways[0].url).get('/admin/api/audit/verify', { token: auditor })).body).toMatchObject({ ok: true });
  }, 120_000);
});
