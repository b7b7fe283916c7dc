import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Entries are written once, where they stay; sealing adds a narrow row instead of moving the entry.
 * - audit_entries (was audit_queue): every entry, from the moment it is durable. Insert-only for everyone; the
 *   application appends only through audit_append(), which also queues the new ids in audit_pending.
 * - audit_pending: the ids of entries not sealed yet, emptied only by audit_seal(). This is the sealer's queue:
 *   never an `id >` cursor.
 * - audit_seals: the chain, (seq, entry_id, prev_hash, hash), written by audit_seal(). Insert-only for everyone.
 * - audit_log: a view, the sealed chain in seq order, one row per entry (export and verification read it).
 * Moving each wide row from the queue into the chain was most of the sealing cost (migration 004).
 */
export class AuditEntriesInPlace1763900000005 implements MigrationInterface {
  name = 'AuditEntriesInPlace1763900000005';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE audit_queue RENAME TO audit_entries;
      ALTER SEQUENCE audit_queue_id_seq RENAME TO audit_entries_id_seq;
      ALTER INDEX audit_queue_pkey RENAME TO audit_entries_pkey;
      -- The chain encodes occurred_at with milliseconds: store exactly what is hashed.
      ALTER TABLE audit_entries ALTER COLUMN occurred_at TYPE timestamptz(3);

      -- A queue: its tail pages empty out whenever the sealer catches up, and VACUUM would truncate them under an
      -- ACCESS EXCLUSIVE lock that stalls every lookup's append meanwhile (seen: 250 ms stalls under load).
      CREATE TABLE audit_pending (entry_id bigint PRIMARY KEY) WITH (vacuum_truncate = false);
      INSERT INTO audit_pending (entry_id) SELECT id FROM audit_entries;

      CREATE TABLE audit_seals (
        seq        bigint PRIMARY KEY,
        entry_id   bigint NOT NULL UNIQUE,
        -- Copies of the entry's partner and person, for the search indexes: kept off the append path, where
        -- each index costs every lookup; verification checks that they agree with the entry.
        partner_id  uuid NULL,
        subject_ref text NULL,
        sealed_at  timestamptz NOT NULL,
        prev_hash  text NOT NULL,
        hash       text NOT NULL
      );

      -- The chain sealed so far keeps its seq and hashes; its entries get ids after the queued ones.
      CREATE TEMPORARY TABLE moved ON COMMIT DROP AS
        SELECT nextval('audit_entries_id_seq') AS id, l.* FROM (SELECT * FROM audit_log ORDER BY seq) l;
      INSERT INTO audit_entries (id, occurred_at, kind, partner_id, recipient, agent, context, object, operator_id, action,
        target, detail, subject_ref, scopes_returned, outcome, http_status, request_id, upstream_ms)
      SELECT id, occurred_at, kind, partner_id, recipient, agent, context, object, operator_id, action,
        target, detail, subject_ref, scopes_returned, outcome, http_status, request_id, upstream_ms FROM moved;
      INSERT INTO audit_seals (seq, entry_id, partner_id, subject_ref, sealed_at, prev_hash, hash)
        SELECT seq, id, partner_id, subject_ref, sealed_at, prev_hash, hash FROM moved;
      DROP TABLE audit_log;
      DROP FUNCTION audit_seal(bigint[], bigint[], text[], text[], timestamptz);

      -- Insert-only tables: vacuum them (visibility map, freezing) after each million new rows rather than after
      -- each fifth of their size, which on a young table means every few thousand rows, each vacuum and analyze
      -- competing with the lookups' commits.
      ALTER TABLE audit_entries SET (autovacuum_vacuum_insert_threshold = 1000000, autovacuum_vacuum_insert_scale_factor = 0,
        autovacuum_analyze_threshold = 100000, autovacuum_analyze_scale_factor = 0.05);
      ALTER TABLE audit_seals SET (autovacuum_vacuum_insert_threshold = 1000000, autovacuum_vacuum_insert_scale_factor = 0,
        autovacuum_analyze_threshold = 100000, autovacuum_analyze_scale_factor = 0.05);
      -- On (-seq), not seq: a search orders by it, which the primary key cannot provide, so the planner cannot choose
      -- to walk the whole chain by seq filtering on the partner (it did, for a partner whose entries were old: 18 s).
      CREATE INDEX audit_seals_partner ON audit_seals (partner_id, (-seq));
      CREATE INDEX audit_seals_subject ON audit_seals (subject_ref, (-seq));
      CREATE INDEX audit_entries_time ON audit_entries USING brin (occurred_at);
      CREATE INDEX audit_entries_actions ON audit_entries (occurred_at, id) WHERE kind = 'action';

      -- Driven by the seals in seq order, each entry fetched by its id (the LATERAL ... OFFSET 0 keeps that plan:
      -- a hash join would read the whole entries table for every page of an export).
      CREATE VIEW audit_log AS
        SELECT s.seq, e.id AS entry_id, e.occurred_at, e.kind, e.partner_id, e.recipient, e.agent, e.context, e.object,
               e.operator_id, e.action, e.target, e.detail, e.subject_ref, e.scopes_returned, e.outcome, e.http_status,
               e.request_id, e.upstream_ms, s.sealed_at, s.prev_hash, s.hash,
               s.partner_id AS sealed_partner_id, s.subject_ref AS sealed_subject_ref,
               (s.partner_id IS NOT DISTINCT FROM e.partner_id AND s.subject_ref IS NOT DISTINCT FROM e.subject_ref) AS copies_agree
        FROM audit_seals s CROSS JOIN LATERAL (SELECT * FROM audit_entries x WHERE x.id = s.entry_id OFFSET 0) e;

      -- The one way the application appends: a batch as one array per column, rows in array order, each new id
      -- queued for the sealer in the same statement.
      CREATE FUNCTION audit_append(timestamptz[], text[], uuid[], text[], text[], text[], text[], uuid[], text[], text[],
                                   jsonb[], text[], text[], text[], integer[], text[], integer[])
      RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
      DECLARE appended integer;
      BEGIN
        WITH added AS (
          INSERT INTO audit_entries (occurred_at, kind, partner_id, recipient, agent, context, object, operator_id, action, target,
                                     detail, subject_ref, scopes_returned, outcome, http_status, request_id, upstream_ms)
          SELECT r.occurred_at, r.kind, r.partner_id, r.recipient, r.agent, r.context, r.object, r.operator_id, r.action, r.target,
                 r.detail, r.subject_ref,
                 -- scopes travel space-joined (unnest would flatten an array of arrays)
                 CASE WHEN r.scopes IS NULL THEN NULL WHEN r.scopes = '' THEN '{}'::text[] ELSE string_to_array(r.scopes, ' ') END,
                 r.outcome, r.http_status, r.request_id, r.upstream_ms
          FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) WITH ORDINALITY
               AS r(occurred_at, kind, partner_id, recipient, agent, context, object, operator_id, action, target,
                    detail, subject_ref, scopes, outcome, http_status, request_id, upstream_ms, n)
          ORDER BY r.n
          RETURNING id)
        INSERT INTO audit_pending (entry_id) SELECT id FROM added;
        GET DIAGNOSTICS appended = ROW_COUNT;
        RETURN appended;
      END $fn$;

      CREATE TRIGGER audit_entries_no_update BEFORE UPDATE OR DELETE ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_seals_no_update BEFORE UPDATE OR DELETE ON audit_seals FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
      -- Removing a pending id would leave its entry out of the chain: only audit_seal() may (statement-level, so
      -- that sealing a batch fires it once, not per row).
      CREATE TRIGGER audit_pending_no_update BEFORE UPDATE OR DELETE ON audit_pending FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

      -- Seals one batch: the sealer computed the hashes from the entries it read, in order from first_seq; each
      -- prev_hash is the hash before it (first_prev for the first). The entries leave the queue.
      CREATE FUNCTION audit_seal(ids bigint[], first_seq bigint, first_prev text, hashes text[], partner_ids uuid[],
                                 subject_refs text[], sealed timestamptz)
      RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
      DECLARE taken integer;
      BEGIN
        -- The flag the append-only triggers let through for the owner (this function runs as the owner).
        PERFORM set_config('audit.purge', 'on', true);
        DELETE FROM audit_pending WHERE entry_id = ANY (ids);
        GET DIAGNOSTICS taken = ROW_COUNT;
        PERFORM set_config('audit.purge', 'off', true);
        IF taken <> cardinality(ids) OR cardinality(hashes) <> taken THEN
          RAISE EXCEPTION 'audit_seal: % of % entries were pending', taken, cardinality(ids);
        END IF;
        INSERT INTO audit_seals (seq, entry_id, partner_id, subject_ref, sealed_at, prev_hash, hash)
        SELECT first_seq + u.n - 1, u.id, u.partner_id, u.subject_ref, sealed,
               COALESCE(lag(u.hash) OVER (ORDER BY u.n), first_prev), u.hash
        FROM unnest(ids, hashes, partner_ids, subject_refs) WITH ORDINALITY AS u(id, hash, partner_id, subject_ref, n)
        ORDER BY u.n;
        RETURN taken;
      END $fn$;

      -- Retention: removes the sealed entries up to a checkpoint older than the cutoff (a whole segment),
      -- and keeps that checkpoint as the anchor the remaining chain starts from.
      CREATE OR REPLACE FUNCTION audit_purge(cutoff timestamptz) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
      SET search_path = public AS $fn$
      DECLARE
        anchor audit_checkpoints%ROWTYPE;
        removed bigint;
        first_kept bigint;
      BEGIN
        -- The first entry, in chain order, still within the retention period. Entries come roughly in time order,
        -- so this reads about as many entries as the purge removes, not the whole retained history.
        SELECT l.seq INTO first_kept FROM audit_log l WHERE l.occurred_at >= cutoff ORDER BY l.seq LIMIT 1;
        -- The segment removed ends at the last checkpoint older than the cutoff that comes before it.
        SELECT * INTO anchor FROM audit_checkpoints c WHERE c.at < cutoff AND (first_kept IS NULL OR c.seq < first_kept)
          ORDER BY c.seq DESC LIMIT 1;
        IF NOT FOUND THEN RETURN 0; END IF;
        PERFORM set_config('audit.purge', 'on', true);
        DELETE FROM audit_entries e USING audit_seals s WHERE s.entry_id = e.id AND s.seq <= anchor.seq;
        DELETE FROM audit_seals WHERE seq <= anchor.seq;
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

      REVOKE ALL ON audit_entries, audit_pending, audit_seals, audit_log FROM gateway_app;
      GRANT SELECT ON audit_entries, audit_pending, audit_seals, audit_log TO gateway_app;
      REVOKE ALL ON FUNCTION audit_seal(bigint[], bigint, text, text[], uuid[], text[], timestamptz) FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION audit_seal(bigint[], bigint, text, text[], uuid[], text[], timestamptz) TO gateway_app;
      REVOKE ALL ON FUNCTION audit_append(timestamptz[], text[], uuid[], text[], text[], text[], text[], uuid[], text[], text[],
                                          jsonb[], text[], text[], text[], integer[], text[], integer[]) FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION audit_append(timestamptz[], text[], uuid[], text[], text[], text[], text[], uuid[], text[], text[],
                                             jsonb[], text[], text[], text[], integer[], text[], integer[]) TO gateway_app;
    `);
  }

  async down(): Promise<void> {
    throw new Error('The audit trail migration is not reversible: the trail is kept for the legal retention period.');
  }
}
