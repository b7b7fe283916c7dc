import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';

export type OperatorRole = 'operator' | 'auditor' | 'admin';
export const OPERATOR_ROLES: readonly OperatorRole[] = ['operator', 'auditor', 'admin'];

export interface Operator {
  id: string;
  email: string;
  display_name: string | null;
  roles: OperatorRole[];
  created_at: Date;
  disabled_at: Date | null;
  /** Whether the operator enrolled a TOTP authenticator: its logins then need a code. */
  second_factor: boolean;
}

const COLUMNS = 'id, email, display_name, roles, created_at, disabled_at, totp_enrolled_at IS NOT NULL AS second_factor';

@Injectable()
export class OperatorsRepository {
  constructor(private readonly db: Database) {}

  /** Creates an operator; undefined when the email is taken. */
  create(operator: { email: string; displayName?: string; passwordHash: string; roles: OperatorRole[] }):
    Promise<Operator | undefined> {
    return this.db.one<Operator>(
      `INSERT INTO operators (email, display_name, password_hash, roles) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
      [operator.email, operator.displayName ?? null, operator.passwordHash, operator.roles]);
  }

  findByEmailWithHash(email: string): Promise<(Operator & { password_hash: string }) | undefined> {
    return this.db.one(`SELECT ${COLUMNS}, password_hash FROM operators WHERE lower(email) = lower($1)`, [email]);
  }

  list(): Promise<Operator[]> {
    return this.db.rows<Operator>(`SELECT ${COLUMNS} FROM operators ORDER BY created_at`);
  }

  async count(): Promise<number> {
    const row = await this.db.one<{ count: string }>('SELECT count(*) FROM operators');
    return Number(row?.count ?? 0);
  }

  async createSession(tokenHash: Buffer, operatorId: string, at: Date, expiresAt: Date): Promise<void> {
    await this.db.rows(
      `INSERT INTO operator_sessions (token_hash, operator_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
      [tokenHash, operatorId, at, expiresAt]);
  }

  /** The operator behind a live session token, if any. */
  findBySession(tokenHash: Buffer, now: Date): Promise<Operator | undefined> {
    return this.db.one<Operator>(
      `SELECT o.id, o.email, o.display_name, o.roles, o.created_at, o.disabled_at, o.totp_enrolled_at IS NOT NULL AS second_factor
       FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
       WHERE s.token_hash = $1 AND s.expires_at > $2 AND o.disabled_at IS NULL`, [tokenHash, now]);
  }

  async deleteSession(tokenHash: Buffer): Promise<void> {
    await this.db.rows('DELETE FROM operator_sessions WHERE token_hash = $1', [tokenHash]);
  }

  async deleteExpiredSessions(now: Date): Promise<void> {
    await this.db.rows('DELETE FROM operator_sessions WHERE expires_at <= $1', [now]);
  }

  async setPendingTotp(operatorId: string, sealedSecret: string): Promise<void> {
    await this.db.rows('UPDATE operators SET totp_pending_secret = $2 WHERE id = $1', [operatorId, sealedSecret]);
  }

  totpSecrets(operatorId: string): Promise<{ totp_secret: string | null; totp_pending_secret: string | null; totp_last_step: string | null } | undefined> {
    return this.db.one('SELECT totp_secret, totp_pending_secret, totp_last_step FROM operators WHERE id = $1', [operatorId]);
  }

  /** The pending secret becomes the operator's; its recovery codes replace any earlier ones. */
  async enrolTotp(operatorId: string, step: number, codeHashes: string[], at: Date, tx: Transaction): Promise<void> {
    await this.db.rows(`UPDATE operators SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_enrolled_at = $2,
      totp_last_step = $3 WHERE id = $1`, [operatorId, at, step], tx);
    await this.db.rows('DELETE FROM operator_recovery_codes WHERE operator_id = $1', [operatorId], tx);
    await this.db.rows(`INSERT INTO operator_recovery_codes (operator_id, code_hash) SELECT $1, unnest($2::text[])`, [operatorId, codeHashes], tx);
  }

  /** Records the time step a code was accepted at; false when that step or a later one was already used (a replay). */
  async useTotpStep(operatorId: string, step: number): Promise<boolean> {
    const rows = await this.db.rows(`UPDATE operators SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)
      RETURNING id`, [operatorId, step]);
    return rows.length === 1;
  }

  unusedRecoveryCodes(operatorId: string): Promise<{ id: string; code_hash: string }[]> {
    return this.db.rows('SELECT id, code_hash FROM operator_recovery_codes WHERE operator_id = $1 AND used_at IS NULL', [operatorId]);
  }

  /** Marks a recovery code used; false when another login used it first. */
  async useRecoveryCode(id: string, at: Date): Promise<boolean> {
    return (await this.db.rows('UPDATE operator_recovery_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL RETURNING id', [id, at])).length === 1;
  }
}
