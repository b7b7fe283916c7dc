import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import { APPLICATION_NAME } from './connection-names';

/**
 * The one DataSource definition: the gateway, the CLI and the tests all build it here. The application connects
 * with its own login role (application-login.ts), migrations with the owner's: the URL says which.
 */
export function createDataSource(url: string, poolSize = 10): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    poolSize,
    extra: { max: poolSize, connectionTimeoutMillis: 5000, application_name: APPLICATION_NAME },
  });
}

/** Applies pending migrations, each in its own transaction, as the owner. Returns the names applied. */
export async function runMigrations(ownerUrl: string): Promise<string[]> {
  const dataSource = createDataSource(ownerUrl, 1);
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
