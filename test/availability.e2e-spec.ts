import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, Simulator } from '../simulator/server';
import { LATENCY_BUCKETS_MS } from '../src/sla/availability';
import { SlaProbe } from '../src/sla/sla-probe';
import { SlaRecorder } from '../src/sla/sla-recorder';
import { freePort } from '../src/common/database/embedded-postgres';
import { createTestDatabase } from './support/database';
import { onboardPartner, OnboardedPartner, operatorToken, partnerToken, SIRET_CCAS_LYON } from './support/factories';
import { client } from './support/http';
import { OPERATOR, startTestApp, TestApp } from './support/test-app';
import { tempFolder } from './support/temp-folder';

const CLI = join(__dirname, '../dist/src/cli/main.js');
const MAIN = join(__dirname, '../dist/src/main.js');
const MINUTE = 60_000;
const buckets = () => new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);

describe('availability and usage (DESIGN §6)', () => {
  let simulator: Simulator;
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let a: OnboardedPartner;
  let b: OnboardedPartner;
  let tokenA: string;
  let tokenB: string;
  let operator: string;
  const folder = tempFolder('availability-');
  const flush = () => t.app.get(SlaRecorder).flush();
  const lookup = (token: string, nir: string) => api.post('/v1/droits/recherche', { nir, recipient: SIRET_CCAS_LYON, object: 'dossier',
    agent: 'agent-1', context: 'RSA' }, { token });
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: t.databaseUrl,
    SECRET_KEY: t.config.secretKey!.toString('hex'), LOG_LEVEL: 'error' }, encoding: 'utf8' });

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    t = await startTestApp({ UPSTREAM_URL: simulator.url, BREAKER_VOLUME_THRESHOLD: '1000' });
    api = client(t.url);
    a = await onboardPartner(t);
    b = await onboardPartner(t, { organisation: { name: 'CAF du Rhône', siret: '21690123100011' } });
    tokenA = await partnerToken(t, a);
    tokenB = await partnerToken(t, b);
    operator = await operatorToken(t);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('probes the whole path with a built-in client, traced as probe entries, and counts the result per minute', async () => {
    const probe = t.app.get(SlaProbe);
    expect(await probe.probe()).toMatchObject({ ok: true, status: 404, code: 'person_not_found' });
    simulator.setFaults({ down: true });
    expect(await probe.probe()).toMatchObject({ ok: false, status: 502 });
    simulator.setFaults({ down: false });
    await flush();
    const [row] = await t.sql<{ probes_ok: number; probes_failed: number; probes_failed_upstream: number }>(
      'SELECT sum(probes_ok)::int AS probes_ok, sum(probes_failed)::int AS probes_failed, sum(probes_failed_upstream)::int AS probes_failed_upstream FROM sla_minutes');
    expect(row).toEqual({ probes_ok: 1, probes_failed: 1, probes_failed_upstream: 1 });
    const entries = await t.sql<{ kind: string; partner_id: string | null; agent: string; outcome: string }>(
      `SELECT kind, partner_id, agent, outcome FROM audit_entries WHERE kind = 'probe' ORDER BY id`);
    expect(entries).toEqual([{ kind: 'probe', partner_id: null, agent: 'sla-probe', outcome: 'person_not_found' },
      { kind: 'probe', partner_id: null, agent: 'sla-probe', outcome: 'upstream_error' }]);
    // Not a partner: never listed, nothing to suspend.
    const partners = (await api.get('/admin/api/partners', { token: operator })).body;
    expect(JSON.stringify(partners)).not.toContain('sonde');
  });

  it('counts partners\' lookups per minute and per partner-day, server-side failures only, with a latency histogram', async () => {
    const before = await t.sql<{ requests: number }>('SELECT COALESCE(sum(requests), 0)::int AS requests FROM sla_minutes');
    expect((await lookup(tokenA, '284057505612387')).status).toBe(200);
    expect((await lookup(tokenA, '299011305520042')).status).toBe(404);
    expect((await lookup(tokenA, '284057505612388')).status).toBe(400);
    simulator.setFaults({ errorRate: 1 });
    expect((await lookup(tokenA, '284057505612387')).status).toBe(502);
    simulator.setFaults({ errorRate: 0 });
    expect((await lookup(tokenB, '284057505612387')).status).toBe(200);
    await flush();
    const [minutes] = await t.sql<{ requests: number; failures: number; failures_upstream: number }>(
      'SELECT sum(requests)::int AS requests, sum(failures)::int AS failures, sum(failures_upstream)::int AS failures_upstream FROM sla_minutes');
    expect(minutes).toEqual({ requests: before[0].requests + 5, failures: 1, failures_upstream: 1 });
    const usage = await api.get('/v1/me/usage', { token: tokenA });
    expect(usage.status).toBe(200);
    expect(usage.body).toMatchObject({ provisional: true, calls: 4, outcomes: { ok: 1, person_not_found: 1, invalid: 1, denied: 0,
      rate_limited: 0, unavailable: 0, upstream_error: 1, timeout: 0 }, p50_ms: expect.any(Number) });
    const today = usage.body.days.find((d: { calls: number }) => d.calls > 0);
    expect(today).toMatchObject({ calls: 4, failures: 1 });
    expect((await api.get('/v1/me/usage?month=2025-01', { token: tokenA })).body).toMatchObject({ calls: 0, outcomes: { ok: 0 }, p50_ms: null });
    expect((await api.get('/v1/me/usage?month=2026-13', { token: tokenA })).status).toBe(400);
  });

  it('serves the month so far, provisional, to operators (JSON and CSV) and to each partner with its own row only', async () => {
    const month = (await api.get('/v1/status')).body.month_to_date.month;
    const report = await api.get(`/admin/api/sla/reports/${month}`, { token: operator });
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ month, provisional: true, target: 0.95, frozen_at: null, signature: null,
      measured_from: expect.any(String), minutes_total: expect.any(Number) });
    expect(report.body.partners.map((p: { partner_id: string }) => p.partner_id).sort()).toEqual([a.partnerId, b.partnerId].sort());
    const csv = await api.get(`/admin/api/sla/reports/${month}?format=csv`, { token: operator });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')[1]).toMatch(new RegExp(`^summary,${month},true,`));
    expect(csv.text).toContain(`partner,${month},true`);
    const mine = await api.get(`/v1/me/sla/reports/${month}`, { token: tokenB });
    expect(mine.body.partners).toEqual([expect.objectContaining({ partner_id: b.partnerId, calls: 1, failures: 0 })]);
    expect(mine.text).not.toContain(a.partnerId);
    expect((await api.get('/admin/api/sla/reports/2020-01', { token: operator })).body).toMatchObject({ code: 'report_not_found' });
    expect((await api.get('/admin/api/sla/reports/2026-1', { token: operator })).status).toBe(400);
    expect((await api.get(`/admin/api/sla/reports/${month}`, { token: tokenA })).status).toBe(401);
  });

  it('puts the month so far on /metrics as the report computes it, with the probe\'s last result and the counters\' flush age', async () => {
    // Half an hour measured, one minute of it with a failed probe.
    const now = t.clock.now().getTime();
    const from = Math.floor(now / MINUTE) * MINUTE - 30 * MINUTE;
    await t.sql('UPDATE sla_service SET measured_from = $1', [new Date(from)]);
    await t.sql(`INSERT INTO sla_minutes (minute, instance, probes_ok, probes_failed, latency_buckets)
      SELECT m, 'instance-m', CASE WHEN m = $1 THEN 0 ELSE 1 END, CASE WHEN m = $1 THEN 1 ELSE 0 END, $3
      FROM generate_series($1::timestamptz, $2::timestamptz, interval '1 minute') AS m ON CONFLICT DO NOTHING`,
    [new Date(from), new Date(now - 3 * MINUTE), buckets()]);
    const month = (await api.get('/v1/status')).body.month_to_date.month;
    const report = (await api.get(`/admin/api/sla/reports/${month}`, { token: operator })).body;
    expect(report.availability).toBeLessThan(1);
    const text = (await api.get('/metrics')).text;
    const sample = (series: string) => Number(new RegExp(`^${series} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(sample('gateway_sla_availability_ratio')).toBe(report.availability);
    expect(sample('gateway_sla_error_budget_remaining_minutes')).toBe(report.error_budget_remaining_minutes);
    expect(sample('gateway_sla_flush_age_seconds')).toBeLessThan(60);
    // The first test's probes: one success, then one failure (upstream down).
    expect(sample('gateway_sla_probe_success')).toBe(0);
    expect(sample('gateway_sla_probes_total\\{result="success"\\}')).toBe(1);
    expect(sample('gateway_sla_probes_total\\{result="failure"\\}')).toBe(1);
  });

  describe('a closed month', () => {
    const month = '2026-11';
    const start = Date.parse('2026-10-31T23:00:00Z');
    let frozen: Record<string, unknown>;

    beforeAll(async () => {
      // Commissioned on 2026-11-10; every minute since then recorded by one instance, with an hour of upstream outage.
      const commissioned = start + 9 * 1440 * MINUTE;
      await t.sql('UPDATE sla_service SET measured_from = $1', [new Date(commissioned)]);
      const outage = commissioned + 5 * 1440 * MINUTE;
      await t.sql(`INSERT INTO sla_minutes (minute, instance, requests, failures, failures_upstream, probes_ok, probes_failed, probes_failed_upstream, latency_buckets)
        SELECT m, 'instance-a', 20, CASE WHEN m >= $2 AND m < $2 + interval '60 minutes' THEN 20 ELSE 0 END,
               CASE WHEN m >= $2 AND m < $2 + interval '60 minutes' THEN 20 ELSE 0 END,
               CASE WHEN m >= $2 AND m < $2 + interval '60 minutes' THEN 0 ELSE 2 END,
               CASE WHEN m >= $2 AND m < $2 + interval '60 minutes' THEN 2 ELSE 0 END,
               CASE WHEN m >= $2 AND m < $2 + interval '60 minutes' THEN 2 ELSE 0 END, $3
        FROM generate_series($1::timestamptz, '2026-11-30T22:59:00Z'::timestamptz, interval '1 minute') AS m`,
      [new Date(commissioned), new Date(outage), buckets()]);
    });

    it('closes with npm run cli -- sla:close: frozen, signed, and every active partner\'s contacts notified', async () => {
      const closed = cli('sla:close', month);
      expect(closed.stderr).toBe('');
      expect(closed.stdout).toMatch(/2026-11: availability 0\.99\d+ \(target 0\.95, met\), frozen and signed now; partners notified/);
      const report = await api.get(`/admin/api/sla/reports/${month}`, { token: operator });
      frozen = report.body;
      expect(frozen).toMatchObject({ month, provisional: false, met: true, minutes_unavailable: 60, minutes_measured: 21 * 1440,
        frozen_at: expect.any(String), signature: expect.any(String), key_id: expect.any(String), public_key: expect.any(String),
        incidents: [{ start: '2026-11-14T23:00:00.000Z', end: '2026-11-15T00:00:00.000Z', minutes: 60, cause: 'upstream_down' }] });
      const notified = await t.sql<{ partner_id: string; recipient: string }>(
        `SELECT partner_id, recipient FROM notifications WHERE type = 'sla.report_published' ORDER BY partner_id, recipient`);
      expect(new Set(notified.map((n) => n.partner_id))).toEqual(new Set([a.partnerId, b.partnerId]));
      expect(notified.length).toBe(4);
      expect(cli('sla:close', month).stdout).toMatch(/already frozen/);
      expect(cli('sla:close', '2099-01').status).toBe(2);
    });

    it('never changes afterwards: late rows for the month are dropped, the report stays as frozen', async () => {
      const recorder = t.app.get(SlaRecorder);
      recorder.recordLookup(new Date('2026-11-20T10:00:30Z'), a.partnerId, 502, 'upstream_error', 'upstream_error', 3);
      recorder.recordProbe(new Date('2026-11-20T10:00:40Z'), false, true);
      await recorder.flush();
      expect((await api.get(`/admin/api/sla/reports/${month}`, { token: operator })).body).toEqual(frozen);
      await expect(t.sql(`UPDATE sla_reports SET report = '{}' WHERE month = $1`, [month])).rejects.toThrow(/append-only/);
    });

    it('recomputes from the raw minutes offline with npm run cli -- sla:recompute: it matches, and its signature holds', async () => {
      const minutes = await api.get(`/admin/api/sla/minutes?month=${month}`, { token: operator });
      expect(minutes.status).toBe(200);
      expect(minutes.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const lines = minutes.text.trim().split('\n').map((line) => JSON.parse(line));
      expect(lines[0]).toMatchObject({ type: 'header', month, as_of: frozen.frozen_at });
      expect(lines.length).toBeGreaterThan(21 * 1440);
      const minutesFile = join(folder, 'minutes.ndjson');
      const reportFile = join(folder, 'report.json');
      writeFileSync(minutesFile, minutes.text);
      writeFileSync(reportFile, JSON.stringify(frozen));
      const checked = cli('sla:recompute', minutesFile, '--report', reportFile);
      expect(checked.stderr).toBe('');
      expect(JSON.parse(checked.stdout)).toMatchObject({ matches: true, differences: [], signature_valid: true,
        recomputed: { availability: frozen.availability, minutes_unavailable: 60 } });
      expect(checked.status).toBe(0);

      // A report whose figures were altered no longer matches, and its signature no longer holds.
      writeFileSync(reportFile, JSON.stringify({ ...frozen, minutes_unavailable: 0, availability: 1 }));
      const altered = cli('sla:recompute', minutesFile, '--report', reportFile);
      expect(JSON.parse(altered.stdout)).toMatchObject({ matches: false, signature_valid: false,
        differences: expect.arrayContaining([expect.objectContaining({ field: 'minutes_unavailable', report: 0, recomputed: 60 })]) });
      expect(altered.status).toBe(1);
      // Minutes that were not the month's: an hour dropped from the export (its end line counting what is left) shows
      // as an incident the report lacks.
      const kept = lines.filter((line) => line.type !== 'end' && !String(line.minute).startsWith('2026-11-20T10:'));
      const recounted = [...kept, { type: 'end', minutes: kept.length - 1 }];
      writeFileSync(minutesFile, recounted.map((line) => JSON.stringify(line)).join('\n'));
      writeFileSync(reportFile, JSON.stringify(frozen));
      expect(JSON.parse(cli('sla:recompute', minutesFile, '--report', reportFile).stdout)).toMatchObject({ matches: false, signature_valid: true });
      expect(cli('sla:recompute', join(folder, 'missing.ndjson')).status).toBe(2);

      // The end line last, counting the rows; a file cut short (a download interrupted, even between two lines), one
      // whose lines were dropped without recounting, or one that goes on after it, is refused rather than recomputed
      // as a worse month (missing minutes count as unavailable).
      expect(lines[lines.length - 1]).toEqual({ type: 'end', minutes: lines.length - 2 });
      const refused = (name: string, text: string) => {
        writeFileSync(join(folder, name), text);
        const run = cli('sla:recompute', join(folder, name), '--report', reportFile);
        return { status: run.status, stderr: run.stderr };
      };
      const all = minutes.text.trim().split('\n');
      expect(refused('cut.ndjson', all.slice(0, 5000).join('\n') + '\n')).toEqual({ status: 2,
        stderr: expect.stringContaining('cut.ndjson ends before its end line: it was cut short (export it again)') });
      expect(refused('dropped.ndjson', all.filter((line) => !line.includes('"2026-11-20T10:')).join('\n'))).toEqual({ status: 2,
        stderr: expect.stringContaining(`counts ${lines.length - 2} minute rows, the file holds ${lines.length - 2 - 60}: lines were removed or added`) });
      expect(refused('after.ndjson', [...all, all[1]].join('\n'))).toEqual({ status: 2,
        stderr: expect.stringContaining(`line ${all.length + 1} of ${join(folder, 'after.ndjson')} comes after its end line`) });
    });

    it('lists the closed month on the public status page, without any partner', async () => {
      t.clock.advance(11_000); // past the status's 10-second cache
      const status = await api.get('/v1/status');
      expect(status.status).toBe(200);
      expect(status.body.months).toEqual([{ month, availability: frozen.availability, met: true }]);
      expect(status.body.incidents).toEqual(expect.arrayContaining([expect.objectContaining({ start: '2026-11-14T23:00:00.000Z', cause: 'upstream_down' })]));
      expect(status.text).not.toContain(a.partnerId);
      expect(status.headers.get('cache-control')).toBe('public, max-age=10');
    });
  });
});

describe('availability counters on shutdown', () => {
  it('flushes what it counted when the gateway is stopped (SIGTERM), nothing lost', async () => {
    const simulator = await startSimulator({ population: 100 });
    const database = await createTestDatabase();
    const port = String(await freePort());
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH!, DATABASE_URL: database.url, UPSTREAM_URL: simulator.url, PORT: port,
      LOG_LEVEL: 'error', SECRET_KEY: 'ef'.repeat(32), BOOTSTRAP_OPERATOR_EMAIL: OPERATOR.email, BOOTSTRAP_OPERATOR_PASSWORD: OPERATOR.password,
      SLA_FLUSH_SECONDS: '60', SLA_PROBE_INTERVAL_SECONDS: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let output = '';
        child.stdout!.on('data', (chunk) => ((output += chunk), output.includes('Gateway ready on') && resolve()));
        child.stderr!.on('data', (chunk) => (output += chunk));
        child.on('exit', (code) => reject(new Error(`gateway exited (${code}): ${output}`)));
      });
      const target = { url: `http://127.0.0.1:${port}` } as TestApp;
      const token = await partnerToken(target, await onboardPartner(target));
      const api = client(target.url);
      const answers = await Promise.all(Array.from({ length: 40 }, () => api.post('/v1/droits/recherche',
        { nir: '284057505612387', recipient: SIRET_CCAS_LYON, object: 'dossier', agent: 'agent-1' }, { token })));
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const { Client } = await import('pg');
      const sql = new Client({ connectionString: database.url });
      await sql.connect();
      const { rows: [counted] } = await sql.query('SELECT sum(requests)::int AS requests FROM sla_minutes');
      const { rows: [used] } = await sql.query('SELECT sum(calls)::int AS calls FROM usage_days');
      await sql.end();
      expect(counted.requests).toBe(40);
      expect(used.calls).toBe(40);
    } finally {
      child.kill('SIGKILL');
      await database.drop();
      await simulator.close();
    }
  });
});
