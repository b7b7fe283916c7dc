import { MigrationInterface, QueryRunner } from 'typeorm';

/** Planned maintenance windows, announced ahead by operators. */
export class MaintenanceWindows1763900000002 implements MigrationInterface {
  name = 'MaintenanceWindows1763900000002';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE maintenance_windows (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        starts_at    timestamptz NOT NULL,
        ends_at      timestamptz NOT NULL,
        reason       text NOT NULL,
        announced_by uuid NOT NULL REFERENCES operators(id),
        announced_at timestamptz NOT NULL DEFAULT now(),
        cancelled_at timestamptz NULL,
        CHECK (ends_at > starts_at)
      );
      CREATE INDEX maintenance_windows_time ON maintenance_windows (ends_at, starts_at);
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE maintenance_windows');
  }
}
