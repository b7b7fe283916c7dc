import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The trail against its own operator (issue: hardening).
 * - The application role reads the audit tables and calls four functions; it writes none of them directly:
 *   checkpoints go through audit_checkpoint(), which refuses one that does not match the sealed chain or does not
 *   come after the latest; signing keys are added by the owner at start-up (never by the application).
 * - Checkpoints are chained: each carries the digest of the previous one's signed payload (prev_checkpoint), so
 *   that a checkpoint removed from the middle shows. Checkpoints signed before this migration have none.
 * - Retention is enforced by the database: audit_purge() takes no cutoff; it computes it from
 *   audit_settings.retention_months, which only the owner sets. The anchor it leaves says what it removed.
 * - Seals carry a copy of the entry's agent (search by agent uses an index instead of walking a partner's history).
 */
export class AuditHardening1763900000006 implements MigrationInterface {
  name = 'AuditHardening1763900000006';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE audit_settings (
        singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        retention_months integer NOT NULL CHECK (retention_months BETWEEN 1 AND 1200)
      );
      INSERT INTO audit_settings (retention_months) VALUES (36);

      ALTER TABLE audit_checkpoints ADD COLUMN prev_checkpoint text NULL;
      ALTER TABLE audit_anchors ADD COLUMN prev_checkpoint text NULL, ADD COLUMN from_seq bigint NULL;
      -- The anchors left so far: the range they closed follows from the one before (owner, inside the migration).
      ALTER TABLE audit_anchors DISABLE TRIGGER audit_anchors_no_update;
      UPDATE audit_anchors a SET from_seq = COALESCE((SELECT max(b.seq) FROM audit_anchors b WHERE b.seq < a.seq), 0) + 1;
      ALTER TABLE audit_anchors ENABLE TRIGGER audit_anchors_no_update;
      ALTER TABLE audit_anchors ALTER COLUMN from_seq SET NOT NULL;

      CREATE TRIGGER audit_keys_no_update BEFORE UPDATE OR DELETE ON audit_keys FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_keys_no_truncate BEFORE TRUNCATE ON audit_keys FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_settings_no_delete BEFORE DELETE ON audit_settings FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_settings_no_truncate BEFORE TRUNCATE ON audit_settings FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

      ALTER TABLE audit_seals ADD COLUMN agent text NULL;
      ALTER TABLE audit_seals DISABLE TRIGGER audit_seals_no_update;
      UPDATE audit_seals s SET agent = e.agent FROM audit_entries e WHERE e.id = s.entry_id AND e.agent IS NOT NULL;
      ALTER TABLE audit_seals ENABLE TRIGGER audit_seals_no_update;
      -- Searches read newest first by entry id (pending entries have no seq yet); exports of one partner too.
      DROP INDEX audit_seals_partner;
      DROP INDEX audit_seals_subject;
      CREATE INDEX audit_seals_partner ON audit_seals (partner_id, (-entry_id));
      CREATE INDEX audit_seals_subject ON audit_seals (subject_ref, (-entry_id));
      CREATE INDEX audit_seals_agent ON audit_seals (agent, (-entry_id)) WHERE agent IS NOT NULL;

      CREATE OR REPLACE VIEW audit_log AS
        SELECT s.seq, e.id AS entry_id, e.occurred_at, e.kind, e.partner_id, e.recipient, e.agent, e.context, e.object,
               e.operator_id, e.action, e.target, e.detail, e.subject_ref, e.scopes_returned, e.outcome, e.http_status,
               e.request_id, e.upstream_ms, s.sealed_at, s.prev_hash, s.hash,
               s.partner_id AS sealed_partner_id, s.subject_ref AS sealed_subject_ref,
               (s.partner_id IS NOT DISTINCT FROM e.partner_id AND s.subject_ref IS NOT DISTINCT FROM e.subject_ref
                AND s.agent IS NOT DISTINCT FROM e.agent) AS copies_agree
        FROM audit_seals s CROSS JOIN LATERAL (SELECT * FROM audit_entries x WHERE x.id = s.entry_id OFFSET 0) e;

      DROP FUNCTION audit_seal(bigint[], bigint, text, text[], uuid[], text[], timestamptz);
      -- Seals one batch (migration 005), now with the agents' copies. The batch must continue the chain's head.
      CREATE FUNCTION audit_seal(ids bigint[], first_seq bigint, first_prev text, hashes text[], partner_ids uuid[],
                                 subject_refs text[], agents text[], sealed timestamptz)
      RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
      DECLARE taken integer;
      BEGIN
        PERFORM set_config('audit.purge', 'on', true);
        DELETE FROM audit_pending WHERE entry_id = ANY (ids);
        GET DIAGNOSTICS taken = ROW_COUNT;
        PERFORM set_config('audit.purge', 'off', true);
        IF taken <> cardinality(ids) OR cardinality(hashes) <> taken THEN
          RAISE EXCEPTION 'audit_seal: % of % entries were pending', taken, cardinality(ids);
        END IF;
        INSERT INTO audit_seals (seq, entry_id, partner_id, subject_ref, agent, sealed_at, prev_hash, hash)
        SELECT first_seq + u.n - 1, u.id, u.partner_id, u.subject_ref, u.agent, sealed,
               COALESCE(lag(u.hash) OVER (ORDER BY u.n), first_prev), u.hash
        FROM unnest(ids, hashes, partner_ids, subject_refs, agents) WITH ORDINALITY AS u(id, hash, partner_id, subject_ref, agent, n)
        ORDER BY u.n;
        RETURN taken;
      END $fn$;

      -- A signed checkpoint, accepted only over the chain as sealed, after the latest one, by a known key.
      CREATE FUNCTION audit_checkpoint(cp_seq bigint, cp_hash text, cp_at timestamptz, cp_key_id text, cp_signature text,
                                       cp_prev_checkpoint text)
      RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.seq = cp_seq AND s.hash = cp_hash) THEN
          RAISE EXCEPTION 'audit_checkpoint: the chain has no entry % with this hash', cp_seq USING ERRCODE = 'check_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.seq >= cp_seq) THEN
          RAISE EXCEPTION 'audit_checkpoint: % is not after the latest checkpoint', cp_seq USING ERRCODE = 'check_violation';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM audit_keys k WHERE k.key_id = cp_key_id) THEN
          RAISE EXCEPTION 'audit_checkpoint: unknown key %', cp_key_id USING ERRCODE = 'check_violation';
        END IF;
        INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature, prev_checkpoint)
        VALUES (cp_seq, cp_hash, cp_at, cp_key_id, cp_signature, cp_prev_checkpoint);
      END $fn$;

      -- Retention, enforced here: the cutoff is the retention period the owner configured, back from now. Removes
      -- the sealed entries up to the last checkpoint older than the cutoff whose entries are all older than it (a
      -- whole segment) and keeps that checkpoint as the anchor, with the range, count and last hash removed.
      DROP FUNCTION audit_purge(timestamptz);
      CREATE FUNCTION audit_purge() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
      DECLARE
        cutoff timestamptz := now() - make_interval(months => (SELECT retention_months FROM audit_settings));
        anchor audit_checkpoints%ROWTYPE;
        removed bigint;
        first_kept bigint;
        range_start bigint;
      BEGIN
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
      END $fn$;

      -- The application role: SELECT on the audit tables, EXECUTE on the four functions, nothing else there.
      REVOKE ALL ON audit_checkpoints, audit_anchors, audit_keys, audit_settings FROM gateway_app;
      GRANT SELECT ON audit_checkpoints, audit_anchors, audit_keys, audit_settings TO gateway_app;
      REVOKE ALL ON SEQUENCE audit_entries_id_seq FROM gateway_app;
      REVOKE ALL ON FUNCTION audit_seal(bigint[], bigint, text, text[], uuid[], text[], text[], timestamptz) FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION audit_seal(bigint[], bigint, text, text[], uuid[], text[], text[], timestamptz) TO gateway_app;
      REVOKE ALL ON FUNCTION audit_checkpoint(bigint, text, timestamptz, text, text, text) FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION audit_checkpoint(bigint, text, timestamptz, text, text, text) TO gateway_app;
      REVOKE ALL ON FUNCTION audit_purge() FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION audit_purge() TO gateway_app;
    `);
  }

  async down(): Promise<void> {
    throw new Error('The audit trail migration is not reversible: the trail is kept for the legal retention period.');
  }
}
