import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/common/database/embedded-postgres';
import { benchAudit } from './audit.bench';
import { benchCompare } from './compare.bench';
import { inMemory } from './support';
import { benchSoak } from './soak.bench';
import { benchLookup } from './lookup.bench';

const adminUrl = (url: string) => Object.assign(new URL(url), { pathname: '/postgres' }).toString();

/**
 * `npm run bench [-- --quick] [-- --only=audit|lookup] [-- --data-dir=DIR] [-- --paced-rate=N]`: measures ratios
 * within one run on this machine and prints them, ending with one JSON line per benchmark. Uses DATABASE_URL when
 * set, else a throw-away embedded PostgreSQL in a new folder under DIR (default: the system's temporary folder).
 * `--data-dir=/dev/shm` puts that database in memory, to tell the gateway's own latency from the disk's flush tail
 * (a diagnosis, not the figure that counts: the audit trail is not durable there). `--paced-rate=N` runs the
 * latency rounds at N requests/s instead of the default 2,000/s. `--variant=LABEL=DIST` (repeatable) runs an A/B
 * instead: this build against each other build's output folder, alternated in one run (compare.bench.ts);
 * `--rounds=N` sets its number of rounds. `--soak [--soak-minutes=N]` holds the gateway at 70% of its peak for 10
 * minutes instead (soak.bench.ts; not in CI).
 */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const started = Date.now();
  let dataDir: string | undefined;
  let stopDatabase = async () => undefined as void;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const parent = process.argv.find((arg) => arg.startsWith('--data-dir='))?.slice(11) || tmpdir();
    dataDir = mkdtempSync(join(parent, 'gateway-bench-'));
    const database = await startEmbeddedPostgres(dataDir, () => undefined);
    databaseUrl = database.url;
    stopDatabase = database.stop;
  }
  try {
    const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice(7);
    const pacedRate = Number(process.argv.find((arg) => arg.startsWith('--paced-rate='))?.slice(13)) || undefined;
    const results = [];
    const variants = process.argv.filter((arg) => arg.startsWith('--variant=')).map((arg) => {
      const [label, ...dist] = arg.slice(10).split('=');
      return { label, dist: dist.join('=') };
    });
    if (process.argv.includes('--soak')) {
      const minutes = Number(process.argv.find((arg) => arg.startsWith('--soak-minutes='))?.slice(15)) || 10;
      results.push(await benchSoak({ databaseUrl, minutes, share: 0.7, connections: 64 }));
    } else if (variants.length > 0) {
      const rounds = Number(process.argv.find((arg) => arg.startsWith('--rounds='))?.slice(9)) || undefined;
      results.push(await benchCompare({ databaseUrl: adminUrl(databaseUrl), variants, quick, connections: 64, rounds }));
    }
    const plain = variants.length === 0 && !process.argv.includes('--soak');
    if (plain && (!only || only === 'audit')) results.push(await benchAudit({ databaseUrl: adminUrl(databaseUrl), quick }));
    if (plain && (!only || only === 'lookup')) {
      results.push(await benchLookup({ databaseUrl, databaseDir: dataDir ?? tmpdir(), quick, connections: 64, pacedRate,
        databaseStorage: !dataDir ? 'external' : inMemory(dataDir) ? 'memory' : 'disk' }));
    }
    for (const result of results) console.log(JSON.stringify(result));
  } finally {
    await stopDatabase();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`bench finished in ${Math.round((Date.now() - started) / 1000)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
