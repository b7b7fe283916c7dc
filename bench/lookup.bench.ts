import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../src/common/database/embedded-postgres';
import { checkpoint, drive, histogramBuckets, Load, median, pace, probeFsync, quantileBetween, sampleWaits, startProcess, table, withCpu } from './support';

const round3 = (value: number) => Math.round(value * 1000) / 1000;
const round1 = (value: number) => Math.round(value * 10) / 10;

const DIST = join(__dirname, '..');
const NIR_BODY = { nir: '284057505612387', recipient: '21690123100011', object: 'dossier bench', agent: 'bench-agent', context: 'RSA' };
export const UPSTREAM_BODY = JSON.stringify({ nir: '284057505612387', date_reference: '2026-11-23' });

async function json(url: string, init: RequestInit): Promise<any> {
  const response = await fetch(url, init);
  const body = await response.json();
  if (!response.ok) throw new Error(`${init.method} ${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Onboards a partner through the public API and returns a bearer token for it. */
export async function partnerToken(gateway: string, operator: { email: string; password: string }): Promise<string> {
  const { clientId, secret } = await benchPartner(gateway, operator);
  return issueToken(gateway, clientId, secret);
}

/** A bearer token (10 minutes) for a partner's credentials, as a partner's back office renews it. */
export async function issueToken(gateway: string, clientId: string, secret: string): Promise<string> {
  const token = await json(`${gateway}/oauth/token`, { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: 'grant_type=client_credentials' });
  return token.access_token;
}

/** Onboards a partner through the public API (request, operator's approval): its credentials. */
export async function benchPartner(gateway: string, operator: { email: string; password: string }): Promise<{ clientId: string; secret: string }> {
  const request = await json(`${gateway}/v1/access-requests`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ organisation: { name: 'CCAS de Lyon', siret: '21690123100011' },
      contact: { name: 'Camille Martin', email: 'camille@ccas-lyon.fr' }, technicalContact: { name: 'DSI', email: 'dsi@ccas-lyon.fr' },
      legalBasis: 'article L114-8 CRPA', purpose: 'benchmark', scopes: ['droits.ouverture', 'droits.caisse', 'droits.c2s'],
      retentionMonths: 36, expectedDailyVolume: 100000, recipients: ['21690123100011'], termsVersion: '2026-01' }) });
  const session = await json(`${gateway}/admin/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(operator) });
  const approved = await json(`${gateway}/admin/api/access-requests/${request.id}/approve`, { method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.token}` },
    body: JSON.stringify({ rateLimitPerSecond: 100_000, note: 'bench' }) });
  return { clientId: approved.credentials.client_id, secret: approved.credentials.client_secret };
}

/** The paced rounds' steady rate unless --paced-rate says otherwise: a fixed load, comparable from run to run. */
const DEFAULT_PACED_RATE = 2000;

export const BENCH_OPERATOR = { email: 'bench@dinsic.localhost', password: 'bench password 1234' };

/** The simulator and the minimal proxy in front of it, each in its own process (pushed onto `children`). */
export async function startUpstreamAndProxy(children: ChildProcess[], quick: boolean): Promise<{ upstream: string; proxy: string; proxyPid: number }> {
  const simulatorPort = await freePort();
  children.push(await startProcess(join(DIST, 'simulator/server.js'),
    { SIMULATOR_PORT: String(simulatorPort), SIMULATOR_POPULATION: quick ? '10000' : '100000' }, /ready on/));
  const upstream = `http://127.0.0.1:${simulatorPort}`;
  const proxyPort = await freePort();
  const proxyChild = await startProcess(join(DIST, 'bench/minimal-proxy.js'), { UPSTREAM_URL: upstream, PORT: String(proxyPort) }, /ready/);
  children.push(proxyChild);
  return { upstream, proxy: `http://127.0.0.1:${proxyPort}`, proxyPid: proxyChild.pid! };
}

/** A gateway build (`dist`: its output folder) on its own process and port, with a partner onboarded and its token. */
export async function startGateway(dist: string, databaseUrl: string, upstream: string, logLevel = 'info'):
  Promise<{ child: ChildProcess; url: string; token: string }> {
  const port = await freePort();
  const child = await startProcess(join(dist, 'src/main.js'), {
    DATABASE_URL: databaseUrl, UPSTREAM_URL: upstream, PORT: String(port), LOG_LEVEL: logLevel,
    BOOTSTRAP_OPERATOR_EMAIL: BENCH_OPERATOR.email, BOOTSTRAP_OPERATOR_PASSWORD: BENCH_OPERATOR.password,
    SECRET_KEY: 'ab'.repeat(32), UPSTREAM_CONNECTIONS: '128',
    // The same runtime flag as npm start and the Docker image (docs/decisions.md).
    NODE_OPTIONS: process.env.GATEWAY_NODE_OPTIONS ?? '--max-semi-space-size=32',
  }, /Gateway ready on/);
  const url = `http://127.0.0.1:${port}`;
  try {
    return { child, url, token: await partnerToken(url, BENCH_OPERATOR) };
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
}

export interface LookupBenchOptions {
  databaseUrl: string;
  /** A directory on the database's file system, for the fsync probe. */
  databaseDir: string;
  /** Where the database's files are: `memory` (tmpfs) takes the disk's flush out of the lookups' latency. */
  databaseStorage: 'disk' | 'memory' | 'external';
  quick: boolean;
  connections: number;
  /** The steady rate of the latency rounds (default 2,000/s, whatever the peak: a fixed load, comparable between runs). */
  pacedRate?: number;
}

/**
 * Gateway vs minimal proxy vs the simulator called directly, in one run, each in its own process:
 * throughput at fixed concurrency (autocannon), then latency under a steady open-loop load at half the
 * gateway's peak rate (pace).
 */
export async function benchLookup(options: LookupBenchOptions): Promise<Record<string, unknown>> {
  const seconds = options.quick ? 2 : 5;
  const warmup = options.quick ? 2 : 5;
  const children: ChildProcess[] = [];
  try {
    const { upstream, proxy, proxyPid } = await startUpstreamAndProxy(children, options.quick);
    const started = await startGateway(DIST, options.databaseUrl, upstream);
    children.push(started.child);
    const { url: gateway, token } = started;

    const targets = {
      direct: { url: `${upstream}/beneficiaires/recherche`, body: UPSTREAM_BODY, headers: {} },
      minimal_proxy: { url: `${proxy}/`, body: UPSTREAM_BODY, headers: {} },
      gateway: { url: `${gateway}/v1/droits/recherche`, body: JSON.stringify(NIR_BODY), headers: { authorization: `Bearer ${token}` } },
    };
    // The machine is shared by the load generator, the upstream and the target, and a VM's speed drifts:
    // targets are measured in alternation, several rounds, and each figure is the median over rounds.
    const rounds = options.quick ? 2 : 5;
    // Each phase starts with nothing of the previous one left to write out (support.ts#checkpoint).
    const settle = async (phase: string) => {
      const done = await checkpoint(options.databaseUrl);
      if ('refused' in done) console.log(`(no CHECKPOINT before ${phase}: ${done.refused}; earlier writes may weigh on it)`);
      return done;
    };
    await settle('the peak rounds');
    await drive({ ...targets.gateway, connections: options.connections, seconds: warmup });
    await drive({ ...targets.minimal_proxy, connections: options.connections, seconds: warmup });
    const direct = await drive({ ...targets.direct, connections: options.connections, seconds });
    // Each process's own CPU time per request answered (/proc, around each round): steadier than throughput on a
    // shared VM, since it does not depend on how much of the machine the process was given.
    const peaks: { gateway: Load & { cpuUs: number }; proxy: Load & { cpuUs: number } }[] = [];
    for (let round = 0; round < rounds; round++) {
      const proxy = await withCpu(proxyPid, seconds, () => drive({ ...targets.minimal_proxy, connections: options.connections, seconds }));
      const gatewayLoad = await withCpu(started.child.pid!, seconds, () => drive({ ...targets.gateway, connections: options.connections, seconds }));
      peaks.push({ gateway: gatewayLoad, proxy });
    }
    const gatewayRps = median(peaks.map((p) => p.gateway.rps));
    const halfRate = Math.max(100, Math.round(gatewayRps / 2));
    const rate = options.pacedRate ?? DEFAULT_PACED_RATE;
    // A short unmeasured paced run of each first: the load generator's own process settles after autocannon, and a
    // stall of the generator would count as latency of whichever target came first. Then the order alternates.
    const paced = (target: keyof typeof targets, length: number) =>
      pace({ ...targets[target], connections: options.connections, seconds: length, rate });
    // The gateway's own account of the audit write's share (GET /metrics, before and after each round): the wait
    // for a batch slot plus the commit, whose tail is the database's WAL flush.
    // Its event loop's delay (reset at each scrape) and its GC pauses tell the other share.
    const scrape = async () => (await fetch(`${gateway}/metrics`)).text();
    const pacedGateway = async () => {
      const before = await scrape();
      const round = paced('gateway', seconds);
      const [load, waits] = await Promise.all([round, sampleWaits(options.databaseUrl, 'SELECT audit_append(', round)]);
      const after = await scrape();
      const ms = (inSeconds: number) => Math.round(inSeconds * 10_000) / 10;
      const auditWait = (text: string) => histogramBuckets(text, 'gateway_audit_append_wait_seconds');
      // prom-client's lag gauges (reset at each scrape) include the 10 ms sampling timer's own interval.
      const loopDelay = (series: 'p99' | 'max') => Math.max(0,
        Number(new RegExp(`^nodejs_eventloop_lag_${series}_seconds (\\S+)$`, 'm').exec(after)?.[1] ?? 0.01) - 0.01);
      const gcSeconds = (text: string) => [...text.matchAll(/^nodejs_gc_duration_seconds_sum\{kind="(?:minor|major)"\} (\S+)$/gm)]
        .reduce((sum, [, value]) => sum + Number(value), 0);
      return { load, auditWaitP99: ms(quantileBetween(auditWait(before), auditWait(after), 0.99)),
        loopP99: ms(loopDelay('p99')), loopMax: ms(loopDelay('max')), gcMs: ms(gcSeconds(after) - gcSeconds(before)),
        walFlushShare: waits.walFlush };
    };
    const settled = await settle('the paced rounds');
    await paced('gateway', options.quick ? 0.5 : 1);
    await paced('minimal_proxy', options.quick ? 0.5 : 1);
    const halves: ({ gateway: Load; proxy: Load } & Omit<Awaited<ReturnType<typeof pacedGateway>>, 'load'>)[] = [];
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        const { load, ...inside } = await pacedGateway();
        halves.push({ gateway: load, proxy: await paced('minimal_proxy', seconds), ...inside });
      } else {
        const proxy = await paced('minimal_proxy', seconds);
        const { load, ...inside } = await pacedGateway();
        halves.push({ gateway: load, proxy, ...inside });
      }
    }
    const fsync = await probeFsync(options.databaseDir, options.quick ? 1 : 5);
    const rows: Record<string, Load> = { direct };
    peaks.forEach((p, i) => Object.assign(rows, { [`proxy #${i + 1}`]: p.proxy, [`gateway #${i + 1}`]: p.gateway }));
    halves.forEach((h, i) => Object.assign(rows, { [`gateway@${rate}/s #${i + 1}`]: h.gateway, [`proxy@${rate}/s #${i + 1}`]: h.proxy }));
    console.log(`\nLookup: ${options.connections} connections, ${seconds} s per measure, ${rounds} alternated rounds\n${table(rows)}`);
    console.log(`inside the gateway at ${rate}/s, per round (ms): audit append wait p99 ${halves.map((h) => h.auditWaitP99).join(' ')}`
      + ` | event loop delay p99 ${halves.map((h) => h.loopP99).join(' ')}, max ${halves.map((h) => h.loopMax).join(' ')}`
      + ` | GC pauses in all ${halves.map((h) => h.gcMs).join(' ')}`);
    console.log(`share of PostgreSQL's time on the audit append spent waiting for the WAL flush, per round: ${halves.map((h) => h.walFlushShare).join(' ')}`);
    console.log(`the disk alone, 8 KiB write + fdatasync (ms): p50 ${fsync.p50}, p99 ${fsync.p99}, max ${fsync.max}`
      + ('ms' in settled ? `; the paced rounds started after a CHECKPOINT (${settled.ms} ms)` : ''));
    if (options.databaseStorage === 'memory') {
      console.log('the database is in memory (tmpfs): its flushes reach no disk, so these latencies leave out the disk\'s '
        + 'flush tail — a diagnosis, not the production figure');
    }
    const result = {
      bench: 'lookup',
      connections: options.connections,
      rounds,
      gateway_rps: gatewayRps,
      proxy_rps: median(peaks.map((p) => p.proxy.rps)),
      direct_rps: direct.rps,
      ratio: round3(median(peaks.map((p) => p.gateway.rps / p.proxy.rps))),
      ratio_min: round3(Math.min(...peaks.map((p) => p.gateway.rps / p.proxy.rps))),
      gateway_p50_ms: median(peaks.map((p) => p.gateway.p50)),
      gateway_p99_ms: median(peaks.map((p) => p.gateway.p99)),
      proxy_p99_ms: median(peaks.map((p) => p.proxy.p99)),
      half_rate: halfRate,
      paced_rate: rate,
      database_storage: options.databaseStorage,
      p99_added_ms: round1(median(halves.map((h) => h.gateway.p99 - h.proxy.p99))),
      audit_wait_p99_ms: round1(median(halves.map((h) => h.auditWaitP99))),
      event_loop_delay_max_ms: round1(median(halves.map((h) => h.loopMax))),
      audit_append_wal_flush_share: Math.round(median(halves.map((h) => h.walFlushShare)) * 100) / 100,
      disk_fsync_p99_ms: fsync.p99,
      disk_fsync_max_ms: fsync.max,
      gateway_errors: [...peaks, ...halves].reduce((sum, p) => sum + p.gateway.errors + p.gateway.non2xx, 0),
      gateway_cpu_us: median(peaks.map((p) => p.gateway.cpuUs)),
      proxy_cpu_us: median(peaks.map((p) => p.proxy.cpuUs)),
      cpu_ratio: round3(median(peaks.map((p) => p.gateway.cpuUs / p.proxy.cpuUs))),
    };
    console.log(`CPU per lookup, per round (µs): gateway ${peaks.map((p) => p.gateway.cpuUs).join(' ')} | minimal proxy `
      + `${peaks.map((p) => p.proxy.cpuUs).join(' ')}; gateway/proxy ${result.cpu_ratio} (target ≤ 2.5)`);
    console.log(`ratio gateway/minimal proxy: ${result.ratio} (target ≥ 0.40); p99 added at ${rate}/s (half peak: ${halfRate}/s): `
      + `${result.p99_added_ms} ms (target ≤ 10 with the database in memory)`);
    return result;
  } finally {
    for (const child of children.reverse()) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
