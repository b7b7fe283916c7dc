import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';

/** The one DataSource definition: the gateway, the CLI (`migration:run`) and the tests all build it here. */
export function createDataSource(url: string, poolSize = 10): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    poolSize,
    extra: { max: poolSize, connectionTimeoutMillis: 5000, application_name: 'api-droits-cnam-gateway' },
  });
}

/** Applies pending migrations, each in its own transaction. Returns the names applied. */
export async function runMigrations(url: string): Promise<string[]> {
  const dataSource = createDataSource(url, 1);
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
