import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { AppConfig } from '../config/config';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface ResolvedDatabase {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

async function reachable(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * DATABASE_URL when set. Otherwise the embedded PostgreSQL under DATA_DIR: the one a running gateway
 * already started (its URL is kept in DATA_DIR/postgres.url), or a new one.
 */
export async function resolveDatabase(config: AppConfig, log: (line: string) => void): Promise<ResolvedDatabase> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, stop: async () => undefined };
  const urlFile = join(resolve(config.dataDir), 'postgres.url');
  if (existsSync(urlFile)) {
    const url = readFileSync(urlFile, 'utf8').trim();
    if (await reachable(url)) return { url, embedded: true, stop: async () => undefined };
  }
  const database = await startEmbeddedPostgres(config.dataDir, log);
  writeFileSync(urlFile, database.url + '\n', { mode: 0o600 });
  return {
    url: database.url,
    embedded: true,
    stop: async () => {
      rmSync(urlFile, { force: true });
      await database.stop();
    },
  };
}
