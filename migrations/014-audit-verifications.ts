import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The trail's scheduled verifications (docs/audit.md): one row per completed run of the whole chain, written by
 * whichever instance ran it. The application may only add rows and read them (a trigger refuses changes): a
 * failed verification cannot be rewritten into a passed one through the application.
 */
export class AuditVerifications1763900000014 implements MigrationInterface {
  name = 'AuditVerifications1763900000014';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE audit_verifications (
        id             bigserial PRIMARY KEY,
        started_at     timestamptz NOT NULL,
        finished_at    timestamptz NOT NULL,
        checked        bigint NOT NULL,
        checkpoints_checked bigint NOT NULL,
        ok             boolean NOT NULL,
        first_bad_seq  bigint NULL,
        problem        text NULL
      );
      CREATE INDEX audit_verifications_finished ON audit_verifications (finished_at DESC);
      CREATE TRIGGER audit_verifications_no_update BEFORE UPDATE OR DELETE ON audit_verifications FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_verifications_no_truncate BEFORE TRUNCATE ON audit_verifications FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
      REVOKE UPDATE, DELETE, TRUNCATE ON audit_verifications FROM gateway_app;
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE audit_verifications');
  }
}
