import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Open data (DESIGN §6): a month's usage table, as published. Computed once the month is over, the first time
 * anyone asks, then served as stored: it never changes afterwards (retention removing old entries, a partner's type
 * corrected, a context label later used by more partners), so two downloads can never be compared to single out a
 * lookup.
 */
export class OpenData1763900000008 implements MigrationInterface {
  name = 'OpenData1763900000008';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE open_data_usage (
        month        text PRIMARY KEY CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
        csv          text NOT NULL,
        published_at timestamptz NOT NULL
      );
      CREATE TRIGGER open_data_usage_no_update BEFORE UPDATE OR DELETE ON open_data_usage FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER open_data_usage_no_truncate BEFORE TRUNCATE ON open_data_usage FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
      REVOKE UPDATE, DELETE, TRUNCATE ON open_data_usage FROM gateway_app;
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE open_data_usage');
  }
}
