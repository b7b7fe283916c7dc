import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notifications by date: the daily checkpoint broadcast asks, every 15 minutes on every instance, whether today's was
 * written, and the operators' outbox lists the newest first. Both read every row of a table that only grows (one
 * message per contact per partner per day for the checkpoints alone) without this index.
 */
export class NotificationsByDate1763900000015 implements MigrationInterface {
  name = 'NotificationsByDate1763900000015';

  async up(db: QueryRunner): Promise<void> {
    await db.query('CREATE INDEX notifications_created ON notifications (created_at)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX notifications_created');
  }
}
