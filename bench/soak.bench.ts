import { ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { BENCH_OPERATOR, benchPartner, issueToken, startGateway, startUpstreamAndProxy, UPSTREAM_BODY } from './lookup.bench';
import { drive, Load, median, pace, processRssBytes, table } from './support';

const NIR_BODY = JSON.stringify({ nir: '284057505612387', recipient: '21690123100011', context: 'RSA', object: 'dossier soak', agent: 'agent-soak' });

export interface SoakOptions {
  databaseUrl: string;
  minutes: number;
  /** The share of the measured peak to hold (0.7: the issue's soak). */
  share: number;
  connections: number;
}

/**
 * `npm run bench -- --soak [--soak-minutes=N]`: the gateway held at 70% of its measured peak for 10 minutes, in 30 s
 * slices; per slice, the answers' p99 and errors, the gateway's resident memory, and the seal lag (entries waiting for
 * the sealer, and the age of the oldest). Passes with no error, memory grown less than 10% from the first slice to
 * the last, p99 of the last slices within twice the first ones', and the seal lag bounded (docs/performance.md).
 */
export async function benchSoak(options: SoakOptions): Promise<Record<string, unknown>> {
  const children: ChildProcess[] = [];
  const sql = new Client({ connectionString: options.databaseUrl });
  try {
    const { upstream, proxy } = await startUpstreamAndProxy(children, false);
    const started = await startGateway(`${__dirname}/..`, options.databaseUrl, upstream, 'warn');
    children.push(started.child);
    await sql.connect();
    // Tokens last 10 minutes: the soak renews its own before each slice, as a partner's back office does.
    const credentials = await benchPartner(started.url, BENCH_OPERATOR);
    const target = { url: `${started.url}/v1/droits/recherche`, body: NIR_BODY, headers: { authorization: `Bearer ${started.token}` } };
    const renew = async () => (target.headers.authorization = `Bearer ${await issueToken(started.url, credentials.clientId, credentials.secret)}`);
    await drive({ ...target, connections: options.connections, seconds: 5 }); // warm-up
    // The machine's own speed before and after, from the minimal proxy (the speed of this shared VM drifts within
    // the hour): a soak that fails on p99 while the machine slowed says more about the machine than the gateway.
    const machine = () => drive({ url: `${proxy}/`, body: UPSTREAM_BODY, headers: {}, connections: options.connections, seconds: 10 });
    const machineBefore = await machine();
    const peak = await drive({ ...target, connections: options.connections, seconds: 10 });
    const rate = Math.round(peak.rps * options.share);
    console.log(`\nSoak: peak ${peak.rps}/s; holding ${rate}/s (${Math.round(options.share * 100)}%) for ${options.minutes} min in 30 s slices`);
    const slices: (Load & { rssMb: number; pending: number; oldestPendingS: number })[] = [];
    const end = Date.now() + options.minutes * 60_000;
    while (Date.now() < end) {
      await renew();
      const load = await pace({ ...target, connections: options.connections, seconds: 30, rate });
      const { rows: [lag] } = await sql.query(`SELECT count(*)::int AS pending,
        coalesce(extract(epoch FROM now() - min(e.occurred_at)), 0)::float AS oldest
        FROM audit_pending p JOIN audit_entries e ON e.id = p.entry_id`);
      slices.push({ ...load, rssMb: Math.round(processRssBytes(started.child.pid!) / 1048576), pending: lag.pending,
        oldestPendingS: Math.round(lag.oldest * 10) / 10 });
      const last = slices[slices.length - 1];
      console.log(`slice ${slices.length}: ${last.rps}/s p99 ${last.p99} ms, errors ${last.errors + last.non2xx}, RSS ${last.rssMb} MB, `
        + `seal lag ${last.pending} entries (oldest ${last.oldestPendingS} s)`);
    }
    const machineAfter = await machine();
    const firsts = slices.slice(0, 3);
    const lasts = slices.slice(-3);
    console.log(table(Object.fromEntries(slices.map((slice, i) => [`slice #${i + 1}`, slice]))));
    // Medians of three slices, as for the p99: one reading swings by ±10% with the collector's timing (seen: 379,
    // 421, 376 MB in the first three slices), where a leak raises every late reading.
    const rssFirst = median(firsts.map((s) => s.rssMb));
    const rssLast = median(lasts.map((s) => s.rssMb));
    const result = {
      bench: 'soak',
      minutes: options.minutes,
      peak_rps: peak.rps,
      rate,
      errors: slices.reduce((sum, s) => sum + s.errors + s.non2xx, 0),
      rss_first_mb: rssFirst,
      rss_last_mb: rssLast,
      rss_growth: Math.round((rssLast / rssFirst - 1) * 1000) / 1000,
      p99_first_ms: median(firsts.map((s) => s.p99)),
      p99_last_ms: median(lasts.map((s) => s.p99)),
      seal_lag_max_entries: Math.max(...slices.map((s) => s.pending)),
      seal_lag_max_s: Math.max(...slices.map((s) => s.oldestPendingS)),
      proxy_peak_before_rps: machineBefore.rps,
      proxy_peak_after_rps: machineAfter.rps,
    };
    const verdicts = [['no error', result.errors === 0], ['RSS growth < 10%', result.rss_growth < 0.1],
      ['p99 stable (last ≤ 2 × first)', result.p99_last_ms <= 2 * result.p99_first_ms], ['seal lag ≤ 5 s', result.seal_lag_max_s <= 5]];
    console.log(verdicts.map(([what, ok]) => `${ok ? 'ok' : 'FAILED'}: ${what}`).join('; '));
    const slowdown = 1 - machineAfter.rps / machineBefore.rps;
    if (slowdown > 1 - options.share) {
      console.log(`The machine slowed during the soak: the minimal proxy's peak fell from ${machineBefore.rps}/s to ${machineAfter.rps}/s `
        + `(−${Math.round(slowdown * 100)}%), more than the ${Math.round((1 - options.share) * 100)}% margin the soak's rate leaves: `
        + 'a p99 that grew with it says more about the machine than about the gateway. Run it again on a steadier hour.');
    }
    return { ...result, passed: verdicts.every(([, ok]) => ok) };
  } finally {
    await sql.end().catch(() => undefined);
    for (const child of children.reverse()) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
