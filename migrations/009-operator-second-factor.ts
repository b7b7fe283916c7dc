import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operators' second factor (DESIGN §4): a TOTP authenticator (RFC 6238). The secret is encrypted at rest (AES-GCM
 * under a key derived from SECRET_KEY); the last time step accepted is kept so that a code is never accepted twice;
 * recovery codes are stored as scrypt hashes and used once.
 */
export class OperatorSecondFactor1763900000009 implements MigrationInterface {
  name = 'OperatorSecondFactor1763900000009';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE operators
        ADD COLUMN totp_secret text NULL,
        ADD COLUMN totp_pending_secret text NULL,
        ADD COLUMN totp_enrolled_at timestamptz NULL,
        ADD COLUMN totp_last_step bigint NULL;
      CREATE TABLE operator_recovery_codes (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        operator_id uuid NOT NULL REFERENCES operators(id),
        code_hash   text NOT NULL,
        used_at     timestamptz NULL
      );
      CREATE INDEX operator_recovery_codes_operator ON operator_recovery_codes (operator_id) WHERE used_at IS NULL;
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      DROP TABLE operator_recovery_codes;
      ALTER TABLE operators DROP COLUMN totp_secret, DROP COLUMN totp_pending_secret, DROP COLUMN totp_enrolled_at, DROP COLUMN totp_last_step;
    `);
  }
}
