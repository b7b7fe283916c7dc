import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/common/database/embedded-postgres';
import { benchLookup } from './lookup.bench';

/**
 * `npm run bench [-- --quick]`: measures ratios within one run on this machine and prints them, ending with
 * one JSON line per benchmark. Uses DATABASE_URL when set, else a throw-away embedded PostgreSQL.
 */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const started = Date.now();
  let dataDir: string | undefined;
  let stopDatabase = async () => undefined as void;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    dataDir = mkdtempSync(join(tmpdir(), 'gateway-bench-'));
    const database = await startEmbeddedPostgres(dataDir, () => undefined);
    databaseUrl = database.url;
    stopDatabase = database.stop;
  }
  try {
    const lookup = await benchLookup({ databaseUrl, quick, connections: 64 });
    console.log(JSON.stringify(lookup));
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
