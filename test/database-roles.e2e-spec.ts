import { Client } from 'pg';
import { APPLICATION_NAME } from '../src/common/database/connection-names';
import { startTestApp, TestApp } from './support/test-app';

const WRITE = 'DELETE,INSERT,SELECT,UPDATE';

/**
 * The privileges of the application role, exactly as docs/audit.md lists them: read and write on the gateway's
 * own tables, read only on the audit trail, whose writes go through four functions. Read from the catalogue, so
 * that a migration granting more fails here.
 */
const TABLE_PRIVILEGES: Record<string, string> = {
  access_requests: WRITE, incidents: WRITE, maintenance_windows: WRITE, operator_sessions: WRITE, operators: WRITE,
  partner_secrets: WRITE, partners: WRITE, schema_migrations: WRITE, signing_keys: WRITE, terms_acceptances: WRITE,
  terms_versions: WRITE, sla_minutes: WRITE, usage_days: WRITE, sla_service: WRITE, notifications: WRITE, operator_recovery_codes: WRITE, partner_secret_warnings: WRITE, access_request_messages: WRITE, partner_webhooks: WRITE, webhook_events: WRITE,
  sla_reports: 'INSERT,SELECT', open_data_usage: 'INSERT,SELECT', audit_verifications: 'INSERT,SELECT',
  audit_anchors: 'SELECT', audit_checkpoints: 'SELECT', audit_entries: 'SELECT', audit_keys: 'SELECT', audit_log: 'SELECT',
  audit_pending: 'SELECT', audit_seals: 'SELECT', audit_settings: 'SELECT',
};
const AUDIT_FUNCTIONS = ['audit_append', 'audit_checkpoint', 'audit_purge', 'audit_seal'];

describe('database roles: the gateway never connects as a role that can step around the trail', () => {
  let t: TestApp;
  let asApp: Client;

  beforeAll(async () => {
    t = await startTestApp();
    asApp = new Client({ connectionString: t.appDatabaseUrl });
    await asApp.connect();
  });
  afterAll(async () => {
    await asApp?.end();
    await t?.close();
  });

  it('connects as its own login role, not a superuser, and RESET ROLE gives it nothing more', async () => {
    const [{ pid_role: pidRole }] = await t.sql<{ pid_role: string }>(
      `SELECT DISTINCT usename AS pid_role FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, [APPLICATION_NAME]);
    expect(pidRole).toMatch(/^gateway_app_gateway_test_/);
    await asApp.query('RESET ROLE');
    const { rows: [me] } = await asApp.query(`SELECT current_user AS name, r.rolsuper, r.rolcreaterole, r.rolcreatedb
      FROM pg_roles r WHERE r.rolname = current_user`);
    expect(me).toEqual({ name: pidRole, rolsuper: false, rolcreaterole: false, rolcreatedb: false });
    await expect(asApp.query('SET ROLE postgres')).rejects.toThrow(/permission denied/);
    await expect(asApp.query('DELETE FROM audit_entries')).rejects.toThrow(/permission denied/);
    await expect(asApp.query(`INSERT INTO audit_keys (key_id, public_key, private_key_encrypted) VALUES ('k', 'p', 'x')`)).rejects.toThrow(/permission denied/);
    await expect(asApp.query(`INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (1, 'h', now(), 'k', 's')`)).rejects.toThrow(/permission denied/);
  });

  it('holds exactly the table privileges docs/audit.md lists, on every table', async () => {
    const rows = await t.sql<{ table_name: string; privileges: string }>(
      `SELECT c.relname AS table_name,
              COALESCE((SELECT string_agg(g.privilege_type, ',' ORDER BY g.privilege_type) FROM information_schema.role_table_grants g
                        WHERE g.grantee = 'gateway_app' AND g.table_schema = 'public' AND g.table_name = c.relname), '') AS privileges
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'p') ORDER BY c.relname`);
    expect(Object.fromEntries(rows.map((r) => [r.table_name, r.privileges]))).toEqual(TABLE_PRIVILEGES);
    const [{ create }] = await t.sql<{ create: boolean }>(`SELECT has_schema_privilege('gateway_app', 'public', 'CREATE') AS create`);
    expect(create).toBe(false);
  });

  it('may execute the four audit functions and no other function that runs as the owner', async () => {
    const rows = await t.sql<{ proname: string; app: boolean; anyone: boolean }>(
      `SELECT p.proname, has_function_privilege('gateway_app', p.oid, 'EXECUTE') AS app,
              COALESCE(p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0), true) AS anyone
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prosecdef ORDER BY p.proname`);
    expect(rows).toEqual(AUDIT_FUNCTIONS.map((proname) => ({ proname, app: true, anyone: false })));
  });

  it('refuses to start when told to connect as a superuser', async () => {
    await expect(startTestApp({ DATABASE_APP_URL: t.databaseUrl }, { databaseUrl: t.databaseUrl }))
      .rejects.toThrow(/is a superuser.*connect as a role with the gateway_app grants only/);
  });
});
