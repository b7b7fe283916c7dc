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
  const owner = new Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    // Instances starting together take turns: migrations, the key and the login role are each made once.
    await owner.query('SELECT pg_advisory_lock($1)', [PREPARE_LOCK]);
    const applied = await runMigrations(ownerUrl);
    await owner.query('UPDATE audit_settings SET retention_months = $1 WHERE retention_months <> $1', [config.audit.retentionMonths]);
    await createCheckpointKeyIfNone(owner, secret);
    const appUrl = config.databaseAppUrl ?? (await ensureApplicationLogin(ownerUrl, secret));
    return { appUrl, applied };
  } finally {
    await owner.end(); // ends the session, and its lock with it
  }
}

/** The advisory lock key of database preparation ("cnam-prep"). */
const PREPARE_LOCK = 0x636e616d2d70;
