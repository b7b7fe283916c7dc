import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';
import { AuditEntry } from './chain';

/** An entry as written, before the sealer gives it a seq and a hash. */
export type NewAuditEntry = Omit<AuditEntry, 'seq' | 'occurred_at'> & { occurred_at: Date };

export const QUEUE_COLUMNS = 'occurred_at, kind, partner_id, recipient, agent, context, object, operator_id, action, target, '
  + 'detail, subject_ref, scopes_returned, outcome, http_status, request_id, upstream_ms';

const INSERT_BATCH = `INSERT INTO audit_queue (${QUEUE_COLUMNS})
  SELECT ${QUEUE_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(value, n),
       LATERAL jsonb_populate_record(NULL::audit_queue, e.value) AS r
  ORDER BY e.n`;

/**
 * The audit queue: where entries become durable. One statement inserts a whole batch (one JSON parameter,
 * rows in arrival order), so that a group of lookups costs one round trip and one commit.
 */
@Injectable()
export class AuditQueue {
  constructor(private readonly db: Database) {}

  async insert(entries: NewAuditEntry[], tx?: Transaction): Promise<void> {
    const params = [JSON.stringify(entries)];
    if (tx) await this.db.rows(INSERT_BATCH, params, tx);
    else await this.db.direct(INSERT_BATCH, params);
  }

  async depth(): Promise<number> {
    const row = await this.db.one<{ count: string }>('SELECT count(*) FROM audit_queue');
    return Number(row?.count ?? 0);
  }
}
