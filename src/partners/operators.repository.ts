import { Injectable } from '@nestjs/common';
import { Database } from '../common/database/database';

export type OperatorRole = 'operator' | 'auditor' | 'admin';
export const OPERATOR_ROLES: readonly OperatorRole[] = ['operator', 'auditor', 'admin'];

export interface Operator {
  id: string;
  email: string;
  display_name: string | null;
  roles: OperatorRole[];
  created_at: Date;
  disabled_at: Date | null;
}

const COLUMNS = 'id, email, display_name, roles, created_at, disabled_at';

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
      `SELECT o.id, o.email, o.display_name, o.roles, o.created_at, o.disabled_at
       FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
       WHERE s.token_hash = $1 AND s.expires_at > $2 AND o.disabled_at IS NULL`, [tokenHash, now]);
  }

  async deleteSession(tokenHash: Buffer): Promise<void> {
    await this.db.rows('DELETE FROM operator_sessions WHERE token_hash = $1', [tokenHash]);
  }

  async deleteExpiredSessions(now: Date): Promise<void> {
    await this.db.rows('DELETE FROM operator_sessions WHERE expires_at <= $1', [now]);
  }
}
