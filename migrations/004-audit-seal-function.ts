import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sealing moves entries from the queue into the chain inside the database: the sealer reads the queued
 * entries, computes seq and hashes, and sends back only (id, seq, prev_hash, hash); audit_seal copies each row
 * and removes it from the queue. The application role still has no DELETE on the queue.
 */
export class AuditSealFunction1763900000004 implements MigrationInterface {
  name = 'AuditSealFunction1763900000004';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE FUNCTION audit_seal(ids bigint[], seqs bigint[], prev_hashes text[], hashes text[], sealed timestamptz)
      RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
      DECLARE moved integer;
      BEGIN
        WITH taken AS (
          DELETE FROM audit_queue q USING unnest(ids, seqs, prev_hashes, hashes) AS u(id, seq, prev_hash, hash)
          -- ids come sorted: the range lets the planner read just those rows by index, not scan the whole queue.
          WHERE q.id = u.id AND q.id BETWEEN ids[1] AND ids[cardinality(ids)]
          RETURNING u.seq, q.occurred_at, q.kind, q.partner_id, q.recipient, q.agent, q.context, q.object, q.operator_id,
                    q.action, q.target, q.detail, q.subject_ref, q.scopes_returned, q.outcome, q.http_status, q.request_id,
                    q.upstream_ms, u.prev_hash, u.hash
        )
        INSERT INTO audit_log (seq, occurred_at, kind, partner_id, recipient, agent, context, object, operator_id, action, target,
          detail, subject_ref, scopes_returned, outcome, http_status, request_id, upstream_ms, sealed_at, prev_hash, hash)
        SELECT seq, date_trunc('milliseconds', occurred_at), kind, partner_id, recipient, agent, context, object, operator_id,
               action, target, detail, subject_ref, scopes_returned, outcome, http_status, request_id, upstream_ms, sealed,
               prev_hash, hash
        FROM taken ORDER BY seq;
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved <> cardinality(ids) THEN
          RAISE EXCEPTION 'audit_seal: % of % queued entries found', moved, cardinality(ids);
        END IF;
        RETURN moved;
      END $fn$;
      REVOKE ALL ON FUNCTION audit_seal(bigint[], bigint[], text[], text[], timestamptz) FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION audit_seal(bigint[], bigint[], text[], text[], timestamptz) TO gateway_app;
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP FUNCTION audit_seal(bigint[], bigint[], text[], text[], timestamptz)');
  }
}
