import { startSimulator, Simulator } from '../../simulator/server';
import { createTestDatabase } from '../support/database';
import { drive, eventually, gatewayEnv, GatewayProcess, loadPartner, sleep, startGatewayProcess, tally } from './harness';

const CONNECTIONS = 8;
const TIMEOUT_MS = 250;
const RESET_MS = 1500;

/**
 * The upstream misbehaves under load (issue 14's fault suite): the real gateway process, the simulator and
 * PostgreSQL on loopback, 16 clients sending lookups without pause. Whatever the upstream does, a lookup gets a
 * problem that says "retry later" and never "no rights", the gateway's own resources stay bounded, and it recovers
 * by itself when the upstream does.
 */
describe('faults: the upstream slow, then down, then back', () => {
  let simulator: Simulator;
  let database: { url: string; drop(): Promise<void> };
  let gateway: GatewayProcess;
  let token: string;
  const setFaults = (faults: Record<string, unknown>) => fetch(`${simulator.url}/__admin/faults`, { method: 'PUT',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  const resetFaults = () => fetch(`${simulator.url}/__admin/faults/reset`, { method: 'POST' });
  const upstreamStats = async () => (await (await fetch(`${simulator.url}/__admin/stats`)).json()) as { in_flight: number; max_in_flight: number };

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    database = await createTestDatabase();
    gateway = await startGatewayProcess(gatewayEnv(database.url, simulator.url, { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
      UPSTREAM_CONNECTIONS: String(CONNECTIONS), BREAKER_RESET_MS: String(RESET_MS), BREAKER_VOLUME_THRESHOLD: '10', BREAKER_WINDOW_MS: '5000' }));
    token = await loadPartner(gateway.url);
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop('SIGKILL');
    await database?.drop();
    await simulator?.close();
  });

  it('answers a slow upstream with 504s, then fast 503s once the circuit opens, bounded, and recovers when it is fast again', async () => {
    const load = drive(gateway.url, token, 16);
    try {
    await sleep(500);
    expect(tally(load.since(0))).toEqual({ 200: expect.any(Number) }); // warm: all well
    const rssBefore = gateway.rssBytes();
    await resetFaults(); // max_in_flight counted from here
    await setFaults({ latencyMs: 2000 });
    const slowFrom = load.answers.length;
    // However busy the machine, the circuit opens once enough lookups have timed out; then 1.5 s more of load.
    await eventually('the circuit opens', () => load.since(slowFrom).some((a) => a.code === 'upstream_unavailable'), 15_000);
    await sleep(1500);
    const slow = load.since(slowFrom);
    // Only the contract's "retry later" answers (a few 200s answered before the latency took effect aside).
    const codes = tally(slow.filter((a) => a.status !== 200), (a) => `${a.status} ${a.code}`);
    expect(Object.keys(codes).sort()).toEqual(['503 upstream_unavailable', '504 upstream_timeout']);
    expect(slow.filter((a) => a.status >= 500).every((a) => Number(a.retryAfter) >= 1)).toBe(true);
    // A timeout answers at the deadline (UPSTREAM_TIMEOUT_MS, the wait for a connection included), not later.
    const timeouts = slow.filter((a) => a.code === 'upstream_timeout').map((a) => a.ms).sort((x, y) => x - y);
    expect(timeouts[Math.floor(timeouts.length / 2)]).toBeLessThan(TIMEOUT_MS * 3);
    // Open, the circuit answers at once instead of holding a client for the timeout.
    const open = slow.filter((a) => a.code === 'upstream_unavailable');
    expect(open.length).toBeGreaterThan(20);
    // (compared with the timeouts of the same run: the machine's load weighs on both alike)
    expect(open.map((a) => a.ms).sort((x, y) => x - y)[Math.floor(open.length / 2)]).toBeLessThan(timeouts[Math.floor(timeouts.length / 2)] * 0.75);
    // Bounded: the upstream never sees more than the pool's connections at once, and memory stays put.
    expect((await upstreamStats()).max_in_flight).toBeLessThanOrEqual(CONNECTIONS);
    expect(gateway.rssBytes() - rssBefore).toBeLessThan(64 * 1024 * 1024);

    await resetFaults();
    const recoveredFrom = load.answers.length;
    await eventually('lookups succeed again', () => load.since(recoveredFrom).slice(-50).filter((a) => a.status === 200).length === 50, RESET_MS * 4);
    } finally {
      await load.stop();
    }
    expect(load.answers.filter((a) => a.failed || a.status === 500)).toEqual([]);
  }, 30_000);

  it('answers a dead upstream with fast 503s and Retry-After, tries it half-open, and recovers fully when it is back', async () => {
    const load = drive(gateway.url, token, 16);
    try {
    await setFaults({ down: true });
    const downFrom = load.answers.length;
    await eventually('the circuit opens', () => load.since(downFrom).some((a) => a.code === 'upstream_unavailable'), 15_000);
    const openedAt = load.answers.length;
    await sleep(2000);
    const down = load.since(downFrom);
    const codes = tally(down.filter((a) => a.status !== 200), (a) => `${a.status} ${a.code}`);
    // Only "retry later" answers: the upstream's refusal, the open circuit, or (on a machine busy enough that the
    // refusal takes longer than UPSTREAM_TIMEOUT_MS) the deadline; never "no rights", never a 500.
    expect(Object.keys(codes).filter((code) => !['502 upstream_error', '503 upstream_unavailable', '504 upstream_timeout'].includes(code)))
      .toEqual([]);
    // Once open, most answers are the circuit's, fast, with a Retry-After no longer than the time to the next trial.
    const afterOpen = load.since(openedAt).slice(0, down.length);
    const open = afterOpen.filter((a) => a.code === 'upstream_unavailable');
    expect(open.length).toBeGreaterThan(afterOpen.length / 2);
    expect(open.map((a) => a.ms).sort((x, y) => x - y)[Math.floor(open.length / 2)]).toBeLessThan(TIMEOUT_MS);
    expect(open.every((a) => Number(a.retryAfter) >= 1 && Number(a.retryAfter) <= Math.ceil(RESET_MS / 1000))).toBe(true);
    // Half-open trials while it is down: upstream errors again after the circuit first opened, then open again.
    expect(afterOpen.some((a) => a.code === 'upstream_error')).toBe(true);

    await resetFaults();
    const backFrom = load.answers.length;
    await eventually('lookups succeed again', () => load.since(backFrom).slice(-50).filter((a) => a.status === 200).length === 50, RESET_MS * 4);
    } finally {
      await load.stop();
    }
    expect(load.answers.filter((a) => a.failed || a.status === 500)).toEqual([]);
    expect(gateway.child.exitCode).toBeNull();
  }, 30_000);
});
