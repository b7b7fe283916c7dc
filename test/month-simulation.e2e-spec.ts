import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, Simulator } from '../simulator/server';
import { SlaProbe } from '../src/sla/sla-probe';
import { SlaRecorder } from '../src/sla/sla-recorder';
import { SlaReports } from '../src/sla/sla-reports';
import { createTestDatabase } from './support/database';
import { onboardPartner, OnboardedPartner, operatorToken, partnerToken, SIRET_CCAS_LYON } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';
import { tempFolder } from './support/temp-folder';

const CLI = join(__dirname, '../dist/src/cli/main.js');
const MINUTE = 60_000;
/** March 2027 in Paris: from 1 March 00:00 (UTC+1) to 1 April 00:00 (UTC+2); the clocks go forward on the 28th. */
const MONTH = '2027-03';
const START = Date.parse('2027-02-28T23:00:00Z');
const END = Date.parse('2027-03-31T22:00:00Z');
const MINUTES = (END - START) / MINUTE; // 743 hours
/** Probes launched at once (each with the clock at its own minute), within a stretch where nothing changes. */
const CONCURRENCY = 16;

type Expected = 'available' | 'upstream_down' | 'upstream_errors' | 'maintenance' | 'no_data';

/**
 * The script of the month, in minutes from its start. Everything not listed is a quiet minute: the probe succeeds
 * and no partner calls.
 */
const SCRIPT = {
  outages: [[2000, 2045], [40_000, 40_010]] as [number, number][], // the upstream is down: every probe fails
  bursts: [
    { minute: 5000, requests: 100, failing: 9 }, // 9%: below the 10% threshold, available
    { minute: 5001, requests: 100, failing: 10 }, // 10%: at the threshold, unavailable
    { minute: 5002, requests: 20, failing: 3 }, // 15%: above, unavailable
    { minute: 7000, requests: 5, failing: 5 }, // every request fails, but fewer than 10: available
  ],
  announcedAt: 9000,
  maintenance: [10_000, 10_120] as [number, number], // announced at minute 9000
  stopped: [20_000, 20_030] as [number, number], // the gateway is down: nothing recorded
};

/** What each minute should be, from the script alone (DESIGN §6), without the gateway's code. */
function expectedMinutes(): Expected[] {
  const within = (m: number, [from, to]: [number, number]) => m >= from && m < to;
  return Array.from({ length: MINUTES }, (_, m) => {
    if (within(m, SCRIPT.maintenance)) return 'maintenance';
    if (within(m, SCRIPT.stopped)) return 'no_data';
    if (SCRIPT.outages.some((span) => within(m, span))) return 'upstream_down';
    const burst = SCRIPT.bursts.find((b) => b.minute === m);
    if (burst && burst.requests >= 10 && burst.failing >= 0.1 * burst.requests) return 'upstream_errors';
    return 'available';
  });
}

describe('month simulation: a whole month in compressed time, reported, closed and recomputed (DESIGN §6)', () => {
  let simulator: Simulator;
  let database: { url: string; drop(): Promise<void> };
  let t: TestApp;
  let partner: OnboardedPartner;
  const folder = tempFolder('month-simulation-');
  const at = (minute: number, second = 1) => new Date(START + minute * MINUTE + second * 1000);
  const start = async () => startTestApp({ UPSTREAM_URL: simulator.url, BREAKER_VOLUME_THRESHOLD: '100000', SLA_FLUSH_SECONDS: '60' },
    { databaseUrl: database.url });

  /** Probes minutes [from, to) through the running gateway, CONCURRENCY at a time. */
  async function probe(from: number, to: number): Promise<void> {
    const probes = t.app.get(SlaProbe);
    for (let m = from; m < to; m += CONCURRENCY) {
      const batch: Promise<unknown>[] = [];
      for (let k = m; k < Math.min(to, m + CONCURRENCY); k++) {
        t.clock.set(at(k)); // the probe reads the clock when it starts: its result counts in minute k
        batch.push(probes.probe());
      }
      await Promise.all(batch);
    }
    await t.app.get(SlaRecorder).flush();
  }

  /** A partner's lookups within one minute, `failing` of them answered 502 by a failing upstream. */
  async function burst(minute: number, requests: number, failing: number): Promise<void> {
    t.clock.set(at(minute, 5));
    const token = await partnerToken(t, partner);
    const api = client(t.url);
    const body = { nir: '284057505612387', recipient: SIRET_CCAS_LYON, object: 'dossier', agent: 'agent-1', context: 'RSA' };
    simulator.setFaults({ errorRate: 1 });
    for (let i = 0; i < failing; i++) expect((await api.post('/v1/droits/recherche', body, { token })).status).toBe(502);
    simulator.setFaults({ errorRate: 0 });
    for (let i = failing; i < requests; i++) expect((await api.post('/v1/droits/recherche', body, { token })).status).toBe(200);
  }

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    database = await createTestDatabase();
    t = await start();
    t.clock.set(at(0, 0));
    partner = await onboardPartner(t, {}, { rateLimitPerSecond: 100_000 });
    // The gateway was commissioned before the month: every minute of it is measured.
    await t.sql('UPDATE sla_service SET measured_from = $1', [new Date(START - 1440 * MINUTE)]);

    // The month, stretch by stretch: each boundary is where the script changes something.
    const boundaries = [...new Set([0, MINUTES, ...SCRIPT.outages.flat(), ...SCRIPT.maintenance, ...SCRIPT.stopped, SCRIPT.announcedAt,
      ...SCRIPT.bursts.flatMap((b) => [b.minute, b.minute + 1])])].sort((a, b) => a - b);
    for (let i = 0; i + 1 < boundaries.length; i++) {
      const [from, to] = [boundaries[i], boundaries[i + 1]];
      if (from === SCRIPT.stopped[0]) {
        // The gateway stops (its last counters flushed on the way down) and starts again 30 minutes later: a new
        // instance, on the same database.
        await t.close(); // the database is this test's: close() leaves it
        t.clock.set(at(to, 0));
        t = await start();
        continue;
      }
      if (from === SCRIPT.announcedAt) {
        t.clock.set(at(from, 0));
        const announced = await client(t.url).post('/admin/api/maintenance-windows', { start: at(SCRIPT.maintenance[0], 0).toISOString(),
          end: at(SCRIPT.maintenance[1], 0).toISOString(), reason: 'Migration du serveur de bases de données' }, { token: await operatorToken(t) });
        expect(announced.status).toBe(201);
      }
      const outage = SCRIPT.outages.some(([a]) => a === from);
      if (outage) simulator.setFaults({ down: true });
      const planned = SCRIPT.bursts.find((b) => b.minute === from);
      if (planned) {
        await probe(from, to); // the probe of that minute succeeds; the partner's calls come after it
        await burst(planned.minute, planned.requests, planned.failing);
        await t.app.get(SlaRecorder).flush();
      } else await probe(from, to);
      if (outage) simulator.setFaults({ down: false });
    }
  }, 600_000);

  afterAll(async () => {
    await t?.close();
    await database?.drop();
    await simulator?.close();
  });

  let report: Record<string, any>;

  it('reports the exact minute counts, availability and incidents the script implies', async () => {
    const minutes = expectedMinutes();
    const count = (kind: Expected) => minutes.filter((m) => m === kind).length;
    const maintenance = count('maintenance');
    const unavailable = MINUTES - maintenance - count('available');
    // The incidents: runs of minutes with the same cause.
    const incidents: { start: string; end: string; minutes: number; cause: Expected }[] = [];
    minutes.forEach((kind, m) => {
      if (kind === 'available') return;
      const last = incidents[incidents.length - 1];
      if (last && last.cause === kind && Date.parse(last.end) === START + m * MINUTE) {
        last.end = new Date(START + (m + 1) * MINUTE).toISOString();
        last.minutes++;
      } else incidents.push({ start: new Date(START + m * MINUTE).toISOString(), end: new Date(START + (m + 1) * MINUTE).toISOString(), minutes: 1, cause: kind });
    });
    const requests = SCRIPT.bursts.reduce((sum, b) => sum + b.requests, 0);
    const failures = SCRIPT.bursts.reduce((sum, b) => sum + b.failing, 0);

    t.clock.set(new Date(END + 10 * MINUTE));
    report = (await client(t.url).get(`/admin/api/sla/reports/${MONTH}`, { token: await operatorToken(t) })).body;
    expect(MINUTES).toBe(743 * 60);
    expect(report).toMatchObject({
      month: MONTH, provisional: false, target: 0.95, met: true,
      minutes_total: MINUTES, minutes_measured: MINUTES, minutes_maintenance: 120, minutes_unavailable: unavailable,
      error_budget_remaining_minutes: Math.floor(0.05 * (MINUTES - maintenance)) - unavailable,
      incidents,
      partners: [expect.objectContaining({ partner_id: partner.partnerId, calls: requests, failures })],
    });
    expect(unavailable).toBe(45 + 2 + 30 + 10);
    expect(report.availability).toBeCloseTo((MINUTES - maintenance - unavailable) / (MINUTES - maintenance), 6);
    expect(report.availability_including_maintenance).toBeCloseTo((MINUTES - maintenance - unavailable) / MINUTES, 6);
    expect(report.request_success_ratio).toBeCloseTo(1 - failures / requests, 6);
    expect(incidents.map((i) => i.cause)).toEqual(['upstream_down', 'upstream_errors', 'maintenance', 'no_data', 'upstream_down']);
  });

  it('closes the month with the closing job, and sla:recompute reproduces the frozen report from the raw minutes', async () => {
    const reports = t.app.get(SlaReports);
    expect(await reports.closeDueMonths()).toContain(MONTH);
    const operator = await operatorToken(t);
    const api = client(t.url);
    const frozen = (await api.get(`/admin/api/sla/reports/${MONTH}`, { token: operator })).body;
    const { signature: _signature, frozen_at: _frozenAt, key_id: _keyId, public_key: _publicKey, ...figures } = frozen;
    const { signature: _s, frozen_at: _f, key_id: _k, public_key: _p, ...provisional } = report;
    expect(figures).toEqual(provisional);
    expect(frozen.signature).toEqual(expect.any(String));

    const minutes = await api.get(`/admin/api/sla/minutes?month=${MONTH}`, { token: operator });
    // One row per instance per minute: the two instances (before and after the stop) never share a minute.
    // A header, the rows, the end line counting them.
    expect(minutes.text.trim().split('\n').length).toBe(1 + MINUTES - 30 + 1);
    writeFileSync(join(folder, 'minutes.ndjson'), minutes.text);
    writeFileSync(join(folder, 'report.json'), JSON.stringify(frozen));
    const checked = spawnSync(process.execPath, [CLI, 'sla:recompute', join(folder, 'minutes.ndjson'), '--report', join(folder, 'report.json')],
      { env: { ...process.env, LOG_LEVEL: 'error' }, encoding: 'utf8' });
    expect(checked.stderr).toBe('');
    expect(JSON.parse(checked.stdout)).toMatchObject({ matches: true, differences: [], signature_valid: true,
      recomputed: { availability: frozen.availability, minutes_unavailable: frozen.minutes_unavailable, incidents: frozen.incidents } });
    expect(checked.status).toBe(0);
  });
});
