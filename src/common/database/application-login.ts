import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { ServerSecret } from '../server-secret';

/** The NOLOGIN role that holds the application's grants (migrations 003, 005, 006). */
export const APPLICATION_ROLE = 'gateway_app';

/**
 * The login role the gateway connects as: one per database (roles are shared by a whole PostgreSQL cluster, and
 * two deployments on one cluster must not share a password), a member of gateway_app and of nothing else.
 */
export function applicationLoginName(database: string): string {
  return `${APPLICATION_ROLE}_${database}`.slice(0, 63);
}

/**
 * A SCRAM-SHA-256 verifier (RFC 7677, PostgreSQL's stored form) of the password: what ALTER ROLE is given, so
 * that the password itself never appears in a statement (nor in a server log that records statements).
 */
export function scramVerifier(password: string, salt: Buffer, iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * As the owner (the role migrations run as): makes sure the application's login role exists, with the password
 * every instance derives from the shared SECRET_KEY, and a member of gateway_app only. Returns the URL the
 * application connects with: the owner's, with that role and password instead.
 */
export async function ensureApplicationLogin(ownerUrl: string, secret: ServerSecret): Promise<string> {
  const url = new URL(ownerUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  const login = applicationLoginName(database);
  const password = secret.derive(`database-login:${login}`).toString('base64url');
  const verifier = escapeLiteral(scramVerifier(password, secret.derive(`database-login-salt:${login}`).subarray(0, 16)));
  const owner = new Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    const exists = await owner.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [login]);
    if (exists.rowCount === 0) {
      try {
        await owner.query(`CREATE ROLE ${escapeIdentifier(login)} LOGIN INHERIT PASSWORD ${verifier}`);
      } catch (error) {
        // Another instance created it at the same moment.
        if (!['42710', '23505'].includes((error as { code?: string }).code ?? '')) throw error;
      }
    }
    await owner.query(`ALTER ROLE ${escapeIdentifier(login)} WITH LOGIN INHERIT PASSWORD ${verifier}`);
    await owner.query(`GRANT ${APPLICATION_ROLE} TO ${escapeIdentifier(login)}`);
  } finally {
    await owner.end();
  }
  url.username = encodeURIComponent(login);
  url.password = encodeURIComponent(password);
  return url.toString();
}

/** Why the application's connections must not run as this role, or undefined when they may. */
export const ROLE_CHECK = `SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolbypassrls, r.rolreplication,
    pg_has_role(current_user, t.tableowner, 'USAGE') AS acts_as_owner
  FROM pg_roles r, pg_tables t WHERE r.rolname = current_user AND t.schemaname = 'public' AND t.tablename = 'audit_entries'`;

export function refusedRole(row: { rolname: string; rolsuper: boolean; rolcreaterole: boolean; rolbypassrls: boolean;
  rolreplication: boolean; acts_as_owner: boolean } | undefined): string | undefined {
  if (!row) return 'the audit trail is missing (migrations have not run)';
  const powers = [row.rolsuper && 'a superuser', row.acts_as_owner && 'able to act as the owner of the audit trail',
    row.rolcreaterole && 'allowed to create roles', row.rolbypassrls && 'allowed to bypass row security',
    row.rolreplication && 'a replication role'].filter(Boolean);
  return powers.length ? `the database role ${row.rolname} the gateway connects as is ${powers.join(', ')}` : undefined;
}
