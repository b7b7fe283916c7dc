import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tamper-evident audit trail (DESIGN §5).
 * - audit_queue: entries as they are written (durable before the answer), moved into the chain by the
 *   sealer through audit_seal() (migration 004); the application role may only INSERT there.
 * - audit_log: the sealed chain; append-only for everyone: the application role has no UPDATE, DELETE or
 *   TRUNCATE grant, and triggers refuse them for any role, but the retention purge function.
 * - audit_checkpoints (signed), audit_anchors (left by purges), audit_keys (Ed25519, encrypted private key).
 * The application runs as the NOLOGIN role `gateway_app` (set on each connection), never as the owner.
 */
export class AuditTrail1763900000003 implements MigrationInterface {
  name = 'AuditTrail1763900000003';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gateway_app') THEN CREATE ROLE gateway_app NOLOGIN; END IF;
      END $$;

      CREATE TABLE audit_queue (
        id              bigserial PRIMARY KEY,
        occurred_at     timestamptz NOT NULL,
        kind            text NOT NULL CHECK (kind IN ('lookup', 'action')),
        partner_id      uuid NULL,
        recipient       text NULL,
        agent           text NULL,
        context         text NULL,
        object          text NULL,
        operator_id     uuid NULL,
        action          text NULL,
        target          text NULL,
        detail          jsonb NULL,
        subject_ref     text NULL,
        scopes_returned text[] NULL,
        outcome         text NOT NULL,
        http_status     integer NULL,
        request_id      text NULL,
        upstream_ms     integer NULL
      );

      CREATE TABLE audit_log (
        seq             bigint PRIMARY KEY,
        occurred_at     timestamptz NOT NULL,
        kind            text NOT NULL,
        partner_id      uuid NULL,
        recipient       text NULL,
        agent           text NULL,
        context         text NULL,
        object          text NULL,
        operator_id     uuid NULL,
        action          text NULL,
        target          text NULL,
        detail          jsonb NULL,
        subject_ref     text NULL,
        scopes_returned text[] NULL,
        outcome         text NOT NULL,
        http_status     integer NULL,
        request_id      text NULL,
        upstream_ms     integer NULL,
        sealed_at       timestamptz NOT NULL,
        prev_hash       text NOT NULL,
        hash            text NOT NULL
      );
      CREATE INDEX audit_log_partner ON audit_log (partner_id, seq);
      CREATE INDEX audit_log_subject ON audit_log (subject_ref, seq);
      CREATE INDEX audit_log_time ON audit_log USING brin (occurred_at);

      CREATE TABLE audit_checkpoints (
        seq        bigint PRIMARY KEY,
        hash       text NOT NULL,
        at         timestamptz NOT NULL,
        key_id     text NOT NULL,
        signature  text NOT NULL
      );

      CREATE TABLE audit_anchors (
        seq        bigint PRIMARY KEY,
        hash       text NOT NULL,
        at         timestamptz NOT NULL,
        key_id     text NOT NULL,
        signature  text NOT NULL,
        purged_at  timestamptz NOT NULL,
        entries    bigint NOT NULL
      );

      CREATE TABLE audit_keys (
        key_id                text PRIMARY KEY,
        public_key            text NOT NULL,
        private_key_encrypted text NOT NULL,
        created_at            timestamptz NOT NULL DEFAULT now()
      );

      CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('audit.purge', true) = 'on' AND current_user = (
          SELECT tableowner FROM pg_tables WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit trail is append-only: % refused on %', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
      END $fn$;
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE OR DELETE ON audit_anchors FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

      -- Retention: removes the sealed entries up to a checkpoint older than the cutoff (a whole segment),
      -- and keeps that checkpoint as the anchor the remaining chain starts from.
      CREATE FUNCTION audit_purge(cutoff timestamptz) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
      SET search_path = public AS $fn$
      DECLARE
        anchor audit_checkpoints%ROWTYPE;
        removed bigint;
      BEGIN
        SELECT * INTO anchor FROM audit_checkpoints c WHERE c.at < cutoff
          AND NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.seq <= c.seq AND l.occurred_at >= cutoff)
          ORDER BY c.seq DESC LIMIT 1;
        IF NOT FOUND THEN RETURN 0; END IF;
        PERFORM set_config('audit.purge', 'on', true);
        DELETE FROM audit_log WHERE seq <= anchor.seq;
        GET DIAGNOSTICS removed = ROW_COUNT;
        DELETE FROM audit_checkpoints WHERE seq < anchor.seq;
        PERFORM set_config('audit.purge', 'off', true);
        IF removed > 0 THEN
          INSERT INTO audit_anchors (seq, hash, at, key_id, signature, purged_at, entries)
          VALUES (anchor.seq, anchor.hash, anchor.at, anchor.key_id, anchor.signature, now(), removed)
          ON CONFLICT (seq) DO NOTHING;
        END IF;
        RETURN removed;
      END $fn$;

      -- The interim action log of the foundation moves into the trail.
      INSERT INTO audit_queue (occurred_at, kind, partner_id, operator_id, action, target, detail, outcome)
      SELECT occurred_at, 'action', partner_id, operator_id, action, target_type || COALESCE(':' || target_id, ''),
             detail || jsonb_build_object('actor_type', actor_type), 'ok'
      FROM operator_actions ORDER BY id;
      DROP TABLE operator_actions;

      GRANT USAGE ON SCHEMA public TO gateway_app;
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO gateway_app;
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO gateway_app;
      REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_checkpoints, audit_anchors FROM gateway_app;
      REVOKE UPDATE, DELETE, TRUNCATE ON audit_queue FROM gateway_app;
      REVOKE ALL ON FUNCTION audit_purge(timestamptz) FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION audit_purge(timestamptz) TO gateway_app;
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO gateway_app;
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO gateway_app;
    `);
  }

  async down(): Promise<void> {
    throw new Error('The audit trail migration is not reversible: the trail is kept for the legal retention period.');
  }
}
