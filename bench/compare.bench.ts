import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { startGateway, startUpstreamAndProxy } from './lookup.bench';
import { drive, Load, median, processCpuSeconds, table } from './support';

const DIST = join(__dirname, '..');
const NIR_BODY = JSON.stringify({ nir: '284057505612387', recipient: '21690123100011', object: 'dossier bench', agent: 'bench-agent', context: 'RSA' });
const UPSTREAM_BODY = JSON.stringify({ nir: '284057505612387', date_reference: '2026-11-23' });

export interface Variant {
  label: string;
  /** A build's output folder (the one holding src/main.js), e.g. another commit built in a git worktree. */
  dist: string;
}


/**
 * A/B of gateway builds in one run (`npm run bench -- --variant=LABEL=DIST ...`): this build and each variant run
 * side by side, each on its own database of the same PostgreSQL, against the same simulator; rounds alternate the
 * minimal proxy and every build (in a rotating order) at fixed concurrency, so the VM's drift falls on all alike.
 * Each build's figure is the median over rounds of its throughput relative to the proxy's in the same round, and
 * its CPU time per lookup (the steadier figure on a shared machine).
 */
export async function benchCompare(options: { databaseUrl: string; variants: Variant[]; quick: boolean; connections: number;
  rounds?: number }): Promise<Record<string, unknown>> {
  const seconds = options.quick ? 2 : 5;
  const rounds = options.rounds ?? (options.quick ? 3 : 8);
  const builds: Variant[] = [{ label: 'current', dist: DIST }, ...options.variants];
  const children: ChildProcess[] = [];
  const admin = new Client({ connectionString: options.databaseUrl });
  await admin.connect();
  try {
    const { upstream, proxy: proxyUrl } = await startUpstreamAndProxy(children, options.quick);
    const gateways: { label: string; child: ChildProcess; target: Parameters<typeof drive>[0] }[] = [];
    for (const [i, build] of builds.entries()) {
      const database = `bench_compare_${i}_${Date.now()}`;
      await admin.query(`CREATE DATABASE ${database}`);
      const url = Object.assign(new URL(options.databaseUrl), { pathname: `/${database}` }).toString();
      const { child, url: gateway, token } = await startGateway(build.dist, url, upstream, 'warn');
      children.push(child);
      gateways.push({ label: build.label, child, target: { url: `${gateway}/v1/droits/recherche`, body: NIR_BODY,
        headers: { authorization: `Bearer ${token}` }, connections: options.connections, seconds } });
    }
    const proxy = { url: `${proxyUrl}/`, body: UPSTREAM_BODY, headers: {}, connections: options.connections, seconds };
    for (const gateway of gateways) await drive({ ...gateway.target, seconds: options.quick ? 1 : 3 }); // warm-up
    await drive({ ...proxy, seconds: options.quick ? 1 : 3 });

    const perRound: { proxy: Load; builds: Record<string, { load: Load; cpuUs: number }> }[] = [];
    for (let round = 0; round < rounds; round++) {
      const proxyLoad = await drive(proxy);
      const measured: Record<string, { load: Load; cpuUs: number }> = {};
      for (let k = 0; k < gateways.length; k++) {
        const gateway = gateways[(round + k) % gateways.length];
        const before = processCpuSeconds(gateway.child.pid!);
        const load = await drive(gateway.target);
        const cpu = processCpuSeconds(gateway.child.pid!) - before;
        measured[gateway.label] = { load, cpuUs: Math.round((cpu * 1e6) / Math.max(1, load.rps * seconds)) };
      }
      perRound.push({ proxy: proxyLoad, builds: measured });
      console.log(`round ${round + 1}: proxy ${proxyLoad.rps}/s; ${gateways.map((g) => `${g.label} ${measured[g.label].load.rps}/s `
        + `(${measured[g.label].cpuUs} µs CPU/lookup)`).join('; ')}`);
    }
    const rows: Record<string, Load> = {};
    perRound.forEach((r, i) => {
      rows[`proxy #${i + 1}`] = r.proxy;
      for (const gateway of gateways) rows[`${gateway.label} #${i + 1}`] = r.builds[gateway.label].load;
    });
    console.log(`\nCompared builds: ${options.connections} connections, ${seconds} s per measure, ${rounds} rounds\n${table(rows)}`);
    const figures = Object.fromEntries(gateways.map((gateway) => {
      const ratios = perRound.map((r) => r.builds[gateway.label].load.rps / r.proxy.rps);
      return [gateway.label, {
        rps: median(perRound.map((r) => r.builds[gateway.label].load.rps)),
        ratio: Math.round(median(ratios) * 1000) / 1000,
        cpu_us_per_lookup: median(perRound.map((r) => r.builds[gateway.label].cpuUs)),
        errors: perRound.reduce((sum, r) => sum + r.builds[gateway.label].load.errors + r.builds[gateway.label].load.non2xx, 0),
      }];
    }));
    const base = figures.current;
    const versus = Object.fromEntries(Object.entries(figures).filter(([label]) => label !== 'current').map(([label, f]) => [label, {
      // Per round, this build's throughput over the current build's: > 1 means the variant is faster.
      throughput_vs_current: Math.round(median(perRound.map((r) => r.builds[label].load.rps / r.builds.current.load.rps)) * 1000) / 1000,
      cpu_vs_current: Math.round((f.cpu_us_per_lookup / base.cpu_us_per_lookup) * 1000) / 1000,
    }]));
    for (const [label, v] of Object.entries(versus)) {
      console.log(`${label} vs current: throughput ×${v.throughput_vs_current} (median of per-round ratios), CPU per lookup ×${v.cpu_vs_current}`);
    }
    return { bench: 'compare', connections: options.connections, rounds, proxy_rps: median(perRound.map((r) => r.proxy.rps)), builds: figures, versus };
  } finally {
    for (const child of children.reverse()) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await admin.end();
  }
}
