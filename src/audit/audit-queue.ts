import { Injectable } from '@nestjs/common';
import { arrayLiteral } from '../common/database/array-literal';
import { Database, Transaction } from '../common/database/database';
import { AuditEntry } from './chain';

/** An entry as written, before the sealer gives it a seq and a hash. */
export type NewAuditEntry = Omit<AuditEntry, 'seq' | 'occurred_at'> & { occurred_at: Date };

// One array per column (migration 005's audit_append): PostgreSQL parses typed arrays faster than it populates
// records from JSON. scopes_returned travels space-joined (unnest would flatten an array of arrays).
const APPEND = `SELECT audit_append($1::timestamptz[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
  $8::uuid[], $9::text[], $10::text[], $11::jsonb[], $12::text[], $13::text[], $14::text[], $15::int[], $16::text[], $17::int[])`;

/** The 17 array parameters, as array literals (arrayLiteral: no per-element regular expression in the driver). */
function columns(entries: NewAuditEntry[]): string[] {
  const at = (e: NewAuditEntry, k: keyof NewAuditEntry) => e[k] ?? null;
  return [
    entries.map((e) => e.occurred_at.toISOString()), entries.map((e) => e.kind), entries.map((e) => at(e, 'partner_id')),
    entries.map((e) => at(e, 'recipient')), entries.map((e) => at(e, 'agent')), entries.map((e) => at(e, 'context')),
    entries.map((e) => at(e, 'object')), entries.map((e) => at(e, 'operator_id')), entries.map((e) => at(e, 'action')),
    entries.map((e) => at(e, 'target')), entries.map((e) => (e.detail ? JSON.stringify(e.detail) : null)),
    entries.map((e) => at(e, 'subject_ref')), entries.map((e) => (e.scopes_returned ? e.scopes_returned.join(' ') : null)),
    entries.map((e) => e.outcome), entries.map((e) => at(e, 'http_status')), entries.map((e) => at(e, 'request_id')),
    entries.map((e) => at(e, 'upstream_ms')),
  ].map(arrayLiteral);
}

/**
 * Where entries become durable: audit_entries, written once and never moved, through audit_append(), which
 * also queues their ids in audit_pending for the sealer. One statement appends a whole batch (rows in arrival
 * order), so that a group of lookups costs one round trip and one commit.
 */
@Injectable()
export class AuditQueue {
  constructor(private readonly db: Database) {}

  async insert(entries: NewAuditEntry[], tx?: Transaction): Promise<void> {
    const params = columns(entries);
    if (tx) await this.db.rows(APPEND, params, tx);
    else await this.db.direct('audit_append', APPEND, params);
  }

  /** Entries not sealed yet, and the age in seconds of the oldest of them (0 when none). */
  async backlog(): Promise<{ pending: number; lagSeconds: number }> {
    // Each pending entry fetched by id: a hash join would read the whole trail on every call.
    const row = await this.db.one<{ pending: number; lag: number | null }>(
      `SELECT count(*)::float8 AS pending, EXTRACT(EPOCH FROM clock_timestamp() - min(e.occurred_at))::float8 AS lag
       FROM audit_pending p CROSS JOIN LATERAL (SELECT occurred_at FROM audit_entries x WHERE x.id = p.entry_id OFFSET 0) e`);
    return { pending: row?.pending ?? 0, lagSeconds: Math.max(0, row?.lag ?? 0) };
  }
}
