import { MigrationInterface, QueryRunner } from 'typeorm';

/** The advisory lock verifications hold shared while they read the trail (AuditRepository.whileReadingTrail). */
export const TRAIL_READ_LOCK = 4_711_003;

/**
 * The retention purge of migration 006, with `guard` run first. (Migrations are history: 006 keeps its own text.)
 */
const purgeFunction = (guard: string) => `
  CREATE OR REPLACE FUNCTION audit_purge() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
  DECLARE
    cutoff timestamptz := now() - make_interval(months => (SELECT retention_months FROM audit_settings));
    anchor audit_checkpoints%ROWTYPE;
    removed bigint;
    first_kept bigint;
    range_start bigint;
  BEGIN
    ${guard}
    SELECT l.seq INTO first_kept FROM audit_log l WHERE l.occurred_at >= cutoff ORDER BY l.seq LIMIT 1;
    SELECT * INTO anchor FROM audit_checkpoints c WHERE c.at < cutoff AND (first_kept IS NULL OR c.seq < first_kept)
      ORDER BY c.seq DESC LIMIT 1;
    IF NOT FOUND THEN RETURN 0; END IF;
    range_start := COALESCE((SELECT max(a.seq) FROM audit_anchors a), 0) + 1;
    PERFORM set_config('audit.purge', 'on', true);
    DELETE FROM audit_entries e USING audit_seals s WHERE s.entry_id = e.id AND s.seq <= anchor.seq;
    DELETE FROM audit_seals WHERE seq <= anchor.seq;
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM audit_checkpoints WHERE seq < anchor.seq;
    PERFORM set_config('audit.purge', 'off', true);
    IF removed > 0 THEN
      INSERT INTO audit_anchors (seq, hash, at, key_id, signature, prev_checkpoint, purged_at, entries, from_seq)
      VALUES (anchor.seq, anchor.hash, anchor.at, anchor.key_id, anchor.signature, anchor.prev_checkpoint, now(), removed,
              range_start)
      ON CONFLICT (seq) DO NOTHING;
    END IF;
    RETURN removed;
  END $fn$;`;

/**
 * The trail's scheduled verifications (docs/audit.md): one row per completed run of the whole chain, written by
 * whichever instance ran it. The application may only add rows and read them (a trigger refuses changes): a
 * failed verification cannot be rewritten into a passed one through the application.
 * And the retention purge no longer runs under a verification: removing the oldest segment while one reads the
 * trail made the chain look cut where it starts (a false alarm, which a verification run every night for minutes
 * next to an hourly purge would raise sooner or later). Verifications hold TRAIL_READ_LOCK shared; the purge takes
 * it exclusively, or removes nothing this time (the next one, an hour later, does).
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
        problem        text NULL,
        -- The auditor who asked for it from the console (an operator's id, as in the trail: no foreign key, the row
        -- outlives any account); null when it ran on schedule.
        requested_by   uuid NULL
      );
      CREATE INDEX audit_verifications_finished ON audit_verifications (finished_at DESC);
      CREATE TRIGGER audit_verifications_no_update BEFORE UPDATE OR DELETE ON audit_verifications FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_verifications_no_truncate BEFORE TRUNCATE ON audit_verifications FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
      REVOKE UPDATE, DELETE, TRUNCATE ON audit_verifications FROM gateway_app;
    `);
    await db.query(purgeFunction(`IF NOT pg_try_advisory_xact_lock(${TRAIL_READ_LOCK}) THEN RETURN 0; END IF;`));
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(purgeFunction(''));
    await db.query('DROP TABLE audit_verifications');
  }
}
