import { Client } from 'pg';
import { createCheckpointKeyIfNone } from './audit/checkpoint-keys';
import { AppConfig } from './common/config/config';
import { ensureApplicationLogin } from './common/database/application-login';
import { runMigrations } from './common/database/data-source';
import { ServerSecret } from './common/server-secret';

/**
 * What only the database's owner does, once at each start, before the application connects: migrations, the
 * retention period the database enforces, the checkpoint signing key (created once), and the application's own
 * login role. Returns the URL the application connects with (DATABASE_APP_URL when set).
 */
export async function prepareDatabase(config: AppConfig, ownerUrl: string): Promise<{ appUrl: string; applied: string[] }> {
  const secret = ServerSecret.fromConfig(config.secretKey, config.dataDir);
  const applied = await runMigrations(ownerUrl);
  const owner = new Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    await owner.query('UPDATE audit_settings SET retention_months = $1 WHERE retention_months <> $1', [config.audit.retentionMonths]);
    await createCheckpointKeyIfNone(owner, secret);
  } finally {
    await owner.end();
  }
  const appUrl = config.databaseAppUrl ?? (await ensureApplicationLogin(ownerUrl, secret));
  return { appUrl, applied };
}
