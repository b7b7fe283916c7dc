import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for reading notifications, a table that only grows (one message per contact per partner per day for the
 * checkpoints alone): by date, for the daily checkpoint broadcast's "was today's written?" (every 15 minutes on every
 * instance) and the operators' outbox, newest first; by access request, for a partner's own messages
 * (`GET /v1/me/notifications` takes its partner's rows and its access request's), which read every row without it.
 */
export class NotificationIndexes1763900000015 implements MigrationInterface {
  name = 'NotificationIndexes1763900000015';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE INDEX notifications_created ON notifications (created_at);
      CREATE INDEX notifications_access_request ON notifications (access_request_id, created_at DESC) WHERE access_request_id IS NOT NULL;
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX notifications_access_request; DROP INDEX notifications_created');
  }
}
