import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';

/** The role the application runs as (migration 003): no UPDATE, DELETE or TRUNCATE on the audit trail. */
export const APPLICATION_ROLE = 'gateway_app';

/**
 * The one DataSource definition: the gateway, the CLI and the tests all build it here. The application's
 * connections take the restricted role at start-up; migrations (`asOwner`) keep the connecting role.
 */
export function createDataSource(url: string, poolSize = 10, asOwner = false): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    poolSize,
    extra: { max: poolSize, connectionTimeoutMillis: 5000, application_name: 'api-droits-cnam-gateway',
      ...(asOwner ? {} : { options: `-c role=${APPLICATION_ROLE}` }) },
  });
}

/** Applies pending migrations, each in its own transaction. Returns the names applied. */
export async function runMigrations(url: string): Promise<string[]> {
  const dataSource = createDataSource(url, 1, true);
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
