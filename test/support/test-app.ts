import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { createApp } from '../../src/app.factory';
import { ManualClock } from '../../src/common/clock';
import { AppConfig, loadConfig } from '../../src/common/config/config';
import { applicationLoginName } from '../../src/common/database/application-login';
import { prepareDatabase } from '../../src/database-setup';
import { OperatorsService } from '../../src/partners/operators.service';
import { createTestDatabase, dropRole } from './database';

export const OPERATOR = { email: 'ops@dinsic.test', password: 'correct horse battery staple' };

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  /** The owner's connection (a superuser's, in tests): what a database administrator could do. */
  databaseUrl: string;
  /** The application's own connection (its login role, gateway_app's grants only). */
  appDatabaseUrl: string;
  config: AppConfig;
  clock: ManualClock;
  /** A direct database connection, for assertions on what was stored. */
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** Starts the whole gateway on a fresh database and a real port, with a clock the test controls. */
export async function startTestApp(env: Record<string, string> = {}, options: { databaseUrl?: string } = {}): Promise<TestApp> {
  const database = options.databaseUrl ? { url: options.databaseUrl, drop: async () => undefined } : await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: database.url, LOG_LEVEL: 'error', DATA_DIR: '/nonexistent-test-data-dir',
    BOOTSTRAP_OPERATOR_EMAIL: OPERATOR.email, BOOTSTRAP_OPERATOR_PASSWORD: OPERATOR.password,
    UPSTREAM_URL: 'http://127.0.0.1:9',
    // Tests seal when they choose (AuditSealer.sealPending), so that what they read does not move under them.
    AUDIT_SEAL_INTERVAL_MS: '0',
    // One secret per database, so that several instances (and the CLI) on one database share it, as in production.
    SECRET_KEY: createHash('sha256').update(database.url).digest('hex'),
    // Every test file submits many requests from 127.0.0.1; the throttles have tests of their own.
    ACCESS_REQUESTS_PER_HOUR: '100000', LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE: '1000',
    // No availability probe unless a test asks for one: its entries would mix with what tests count.
    SLA_PROBE_INTERVAL_SECONDS: '0',
    ...env,
  });
  const { appUrl } = await prepareDatabase(config, database.url);
  config.databaseAppUrl = appUrl;
  const release = async () => {
    await database.drop();
    if (!options.databaseUrl && !env.DATABASE_APP_URL) await dropRole(applicationLoginName(new URL(database.url).pathname.slice(1)));
  };
  const clock = new ManualClock(new Date());
  const app = await createApp({ config, clock });
  try {
    await app.listen(0, '127.0.0.1');
    await app.get(OperatorsService).bootstrap();
  } catch (error) {
    // A start refused (a test of it) leaves nothing open behind it: the modules that did start hold connections.
    await app.close().catch(() => undefined);
    await release();
    throw error;
  }
  const address = app.getHttpServer().address() as { port: number };
  const client = new Client({ connectionString: database.url });
  client.on('error', () => undefined);
  await client.connect();
  return {
    app, config, clock, databaseUrl: database.url, appDatabaseUrl: appUrl,
    url: `http://127.0.0.1:${address.port}`,
    sql: async (query, params) => (await client.query(query, params)).rows,
    close: async () => {
      await client.end();
      await app.close();
      await release();
    },
  };
}
