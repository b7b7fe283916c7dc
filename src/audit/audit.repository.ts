import { Injectable } from '@nestjs/common';
import { Database } from '../common/database/database';
import { Checkpoint, SealedEntry } from './chain';

export interface AuditFilter {
  partnerId?: string;
  agent?: string;
  subjectRef?: string;
  from?: Date;
  to?: Date;
  kind?: 'lookup' | 'action';
  fromSeq?: number;
  toSeq?: number;
}

// occurred_at as canonical ISO text: the chain's own encoding, and no date parsing per row.
const COLUMNS = `s.seq::float8 AS seq, to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, e.kind,
  e.partner_id, e.recipient, e.agent, e.context, e.object, e.operator_id, e.action, e.target, e.detail, e.subject_ref,
  array_to_json(e.scopes_returned)::text AS scopes_returned, e.outcome, e.http_status, e.request_id, e.upstream_ms, s.prev_hash, s.hash`;

/** scopes_returned travels as JSON text: JSON.parse is much cheaper than the driver's array parser. */
function decode(rows: SealedEntry[]): SealedEntry[] {
  for (const row of rows) {
    const text = row.scopes_returned as unknown as string | null;
    row.scopes_returned = text === null ? null : JSON.parse(text);
  }
  return rows;
}

/**
 * The sealed entries matching a filter, in seq order: the seals first (their partner, person and seq conditions
 * on the seals' own indexes, in a subquery planned on its own), each joined to its entry by id, the entry
 * conditions applied to the rows as they come, so that a LIMIT stops the scan early. Planned as one query, a
 * filter on a partner whose entries are old was answered by walking the whole chain backwards by seq (seconds).
 */
function sealed(filter: AuditFilter, seq: { op: '<' | '>'; value: number }, params: unknown[]): string {
  const seals: string[] = [];
  const entries: string[] = [];
  const add = (into: string[], clause: string, value: unknown) => {
    params.push(value);
    into.push(clause.replace('?', `$${params.length}`));
  };
  if (filter.partnerId) add(seals, 'partner_id = ?', filter.partnerId);
  if (filter.subjectRef) add(seals, 'subject_ref = ?', filter.subjectRef);
  if (filter.fromSeq !== undefined) add(seals, 'seq >= ?', filter.fromSeq);
  add(seals, `seq ${seq.op} ?`, seq.value);
  if (filter.agent) add(entries, 'e.agent = ?', filter.agent);
  if (filter.from) add(entries, 'e.occurred_at >= ?', filter.from);
  if (filter.to) add(entries, 'e.occurred_at < ?', filter.to);
  if (filter.kind) add(entries, 'e.kind = ?', filter.kind);
  const direction = seq.op === '<' ? 'DESC' : 'ASC';
  return `(SELECT seq, entry_id, prev_hash, hash FROM audit_seals WHERE ${seals.join(' AND ')} ORDER BY seq ${direction} OFFSET 0) s
    CROSS JOIN LATERAL (SELECT * FROM audit_entries x WHERE x.id = s.entry_id OFFSET 0) e
    WHERE ${entries.length ? entries.join(' AND ') : 'TRUE'} ORDER BY s.seq ${direction}`;
}

/**
 * Reads of the sealed chain: seals in seq order, each joined to its entry. Partner and person filters use the
 * seals' indexed copies; verification checks that they agree with the entries. Nothing here writes: the trail is
 * written by audit_append and audit_seal only.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly db: Database) {}

  /** Newest first, before a seq (cursor). */
  search(filter: AuditFilter, beforeSeq: number | undefined, limit: number): Promise<SealedEntry[]> {
    const params: unknown[] = [];
    const from = sealed(filter, { op: '<', value: beforeSeq ?? Number.MAX_SAFE_INTEGER }, params);
    params.push(limit);
    return this.db.rows<SealedEntry>(`SELECT ${COLUMNS} FROM ${from} LIMIT $${params.length}`, params).then(decode);
  }

  /** In chain order, after a seq: the export and the verification page through the chain with this. */
  page(filter: AuditFilter, afterSeq: number, limit: number): Promise<SealedEntry[]> {
    // toSeq bounds the LIMIT, not the WHERE clause, so that the plan stays an index scan on an unanalysed table.
    if (filter.toSeq !== undefined) limit = Math.min(limit, filter.toSeq - afterSeq);
    if (limit <= 0) return Promise.resolve([]);
    const params: unknown[] = [];
    const from = sealed(filter, { op: '>', value: afterSeq }, params);
    params.push(limit);
    return this.db.rows<SealedEntry>(`SELECT ${COLUMNS} FROM ${from} LIMIT $${params.length}`, params).then(decode);
  }

  /**
   * The seq range that holds the entries of a time range. occurred_at is not strictly increasing along the
   * chain (a lookup is timed when it starts, sealed when its entry is written), so a time range is verified and
   * exported as the contiguous seq range from its first to its last entry.
   */
  async seqRange(from?: Date, to?: Date): Promise<{ first: number; last: number } | undefined> {
    const row = await this.db.one<{ first: number | null; last: number | null }>(
      `SELECT min(s.seq)::float8 AS first, max(s.seq)::float8 AS last
       FROM audit_entries e JOIN audit_seals s ON s.entry_id = e.id -- driven by the entries' time index
       WHERE ($1::timestamptz IS NULL OR e.occurred_at >= $1) AND ($2::timestamptz IS NULL OR e.occurred_at < $2)`,
      [from ?? null, to ?? null]);
    return row?.first == null || row.last == null ? undefined : { first: row.first, last: row.last };
  }

  checkpoints(fromSeq: number, toSeq: number, limit = 1_000_000): Promise<Checkpoint[]> {
    return this.db.rows<Checkpoint>(
      `SELECT seq::float8 AS seq, hash, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, key_id, signature
       FROM audit_checkpoints WHERE seq BETWEEN $1 AND $2 ORDER BY seq LIMIT $3`, [fromSeq, toSeq, limit]);
  }

  latestCheckpoint(): Promise<Checkpoint | undefined> {
    return this.db.one<Checkpoint>(
      `SELECT seq::float8 AS seq, hash, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, key_id, signature
       FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`);
  }

  /** The hash the chain starts from: the latest purge anchor, or undefined (genesis). */
  async anchor(): Promise<{ seq: number; hash: string } | undefined> {
    const row = await this.db.one<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1');
    return row ? { seq: Number(row.seq), hash: row.hash } : undefined;
  }

  /** Removes whole sealed segments older than the cutoff (privileged function); returns how many entries. */
  async purge(cutoff: Date): Promise<number> {
    const row = await this.db.one<{ removed: string }>('SELECT audit_purge($1) AS removed', [cutoff]);
    return Number(row?.removed ?? 0);
  }
}
