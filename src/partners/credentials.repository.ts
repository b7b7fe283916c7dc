import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';

export interface StoredSecret {
  id: string;
  secret_hash: string;
  valid_until: Date | null;
  created_at: Date;
}

/** Hashes of partners' client secrets. A secret is never stored in clear. */
@Injectable()
export class CredentialsRepository {
  constructor(private readonly db: Database) {}

  async add(partnerId: string, secretHash: string, at: Date, tx: Transaction): Promise<void> {
    await this.db.rows(`INSERT INTO partner_secrets (partner_id, secret_hash, created_at) VALUES ($1, $2, $3)`,
      [partnerId, secretHash, at], tx);
  }

  /** Secrets still usable at `now`: the current one and those in their rotation grace period. */
  usable(partnerId: string, now: Date): Promise<StoredSecret[]> {
    return this.db.rows<StoredSecret>(
      `SELECT id::text, secret_hash, valid_until, created_at FROM partner_secrets
       WHERE partner_id = $1 AND (valid_until IS NULL OR valid_until > $2) ORDER BY created_at DESC LIMIT 3`,
      [partnerId, now]);
  }

  /** Bounds the validity of every open-ended secret of the partner (rotation grace, or now on revocation). */
  async expireAll(partnerId: string, validUntil: Date, tx: Transaction): Promise<void> {
    await this.db.rows(
      `UPDATE partner_secrets SET valid_until = LEAST(COALESCE(valid_until, $2), $2) WHERE partner_id = $1`,
      [partnerId, validUntil], tx);
  }

  /**
   * Active partners' current secrets (no end set by a rotation) created before `createdBefore`: those whose expiry
   * is within the widest warning.
   */
  expiringSoon(createdBefore: Date): Promise<{ id: string; partner_id: string; created_at: Date }[]> {
    return this.db.rows(
      `SELECT s.id::text, s.partner_id, s.created_at FROM partner_secrets s JOIN partners p ON p.id = s.partner_id
       WHERE p.status = 'active' AND s.valid_until IS NULL AND s.created_at <= $1`, [createdBefore]);
  }

  /** Records the warnings of `days` for a secret; the thresholds that were not recorded before. */
  async recordWarnings(secretId: string, days: number[], at: Date, tx: Transaction): Promise<number[]> {
    const rows = await this.db.rows<{ days: number }>(
      `INSERT INTO partner_secret_warnings (secret_id, days, sent_at) SELECT $1, unnest($2::int[]), $3
       ON CONFLICT DO NOTHING RETURNING days`, [secretId, days, at], tx);
    return rows.map((row) => row.days);
  }
}
