import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notification delivery (DESIGN §4): each outbox row is sent by whichever instance leases it first (lease_until), is
 * retried with backoff (attempts, next_attempt_at) and marked sent once; its Message-ID derives from its id, so a
 * send repeated after a crash between sending and marking is recognisable as the same message. Messages about an
 * access request (before any partner exists) name it.
 */
export class NotificationDelivery1763900000010 implements MigrationInterface {
  name = 'NotificationDelivery1763900000010';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE notifications
        ADD COLUMN access_request_id uuid NULL REFERENCES access_requests(id),
        ADD COLUMN attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN lease_until timestamptz NULL,
        ADD COLUMN sent_at timestamptz NULL,
        ADD COLUMN last_error text NULL;
      CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      DROP INDEX notifications_due;
      ALTER TABLE notifications DROP COLUMN access_request_id, DROP COLUMN attempts, DROP COLUMN next_attempt_at, DROP COLUMN lease_until,
        DROP COLUMN sent_at, DROP COLUMN last_error;
    `);
  }
}
