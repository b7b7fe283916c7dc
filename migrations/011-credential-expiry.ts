import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Warnings sent once (DESIGN §4 notifications): a client secret's expiry warnings (90, 30 and 7 days ahead, one row per
 * secret and threshold, so that each is written once whatever the number of instances), and the disengagement
 * reminder 3 days before it takes effect.
 */
export class CredentialExpiry1763900000011 implements MigrationInterface {
  name = 'CredentialExpiry1763900000011';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE partner_secret_warnings (
        secret_id bigint NOT NULL REFERENCES partner_secrets(id),
        days      integer NOT NULL,
        sent_at   timestamptz NOT NULL,
        PRIMARY KEY (secret_id, days)
      );
      ALTER TABLE partners ADD COLUMN disengagement_reminded_at timestamptz NULL;
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE partner_secret_warnings; ALTER TABLE partners DROP COLUMN disengagement_reminded_at;');
  }
}
