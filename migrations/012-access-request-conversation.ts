import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The access request as a conversation (DESIGN §3.1, §4): the applicant follows its request with a tracking token
 * (only its SHA-256 is stored), an operator may ask for changes instead of rejecting, the applicant amends; every
 * message of the exchange is kept with the request.
 */
export class AccessRequestConversation1763900000012 implements MigrationInterface {
  name = 'AccessRequestConversation1763900000012';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE access_requests ADD COLUMN tracking_token_hash bytea NULL;
      ALTER TABLE access_requests DROP CONSTRAINT access_requests_status_check;
      ALTER TABLE access_requests ADD CONSTRAINT access_requests_status_check
        CHECK (status IN ('pending', 'changes_requested', 'approved', 'rejected'));
      CREATE TABLE access_request_messages (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        access_request_id uuid NOT NULL REFERENCES access_requests(id),
        author            text NOT NULL CHECK (author IN ('operator', 'applicant')),
        operator_id       uuid NULL REFERENCES operators(id),
        message           text NOT NULL,
        created_at        timestamptz NOT NULL,
        -- The order they were written in, whatever the clock says.
        seq               bigserial NOT NULL
      );
      CREATE INDEX access_request_messages_request ON access_request_messages (access_request_id, seq);
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      DROP TABLE access_request_messages;
      ALTER TABLE access_requests DROP CONSTRAINT access_requests_status_check;
      ALTER TABLE access_requests ADD CONSTRAINT access_requests_status_check CHECK (status IN ('pending', 'approved', 'rejected'));
      ALTER TABLE access_requests DROP COLUMN tracking_token_hash;
    `);
  }
}
