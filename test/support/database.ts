import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';

/** A fresh database for one test file, copied from the migrated template (or empty: no migration applied). */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL;
  const template = process.env.TEST_DATABASE_TEMPLATE;
  if (!adminUrl || !template) throw new Error('test/global-setup.mjs did not run');
  const name = `gateway_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${options.empty ? 'template0' : template}`);
        break;
      } catch (error) {
        // Two files copying the template at the same instant: PostgreSQL refuses one; try again.
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => client.end());
    },
  };
}

/** Removes a login role left by a test database (roles belong to the whole cluster, not to one database). */
export async function dropRole(role: string): Promise<void> {
  const admin = new Client({ connectionString: process.env.TEST_DATABASE_ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`).finally(() => admin.end());
}

/**
 * Another session holding `tables` (a LOCK TABLE list) in ACCESS EXCLUSIVE mode until release(): whatever reads them
 * waits meanwhile, as over a long trail or a database that stopped answering. release() may be called more than once
 * (mid-test, then in a finally).
 */
export async function lockTables(databaseUrl: string, tables: string): Promise<{ release(): Promise<void> }> {
  const holder = new Client({ connectionString: databaseUrl });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`);
  } catch (error) {
    await holder.end();
    throw error;
  }
  let released: Promise<void> | undefined;
  return {
    release: () => (released ??= holder.query('ROLLBACK').then(() => undefined, () => undefined).finally(() => holder.end())),
  };
}
