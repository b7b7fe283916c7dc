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
 * One chunk of the chain in seq order, from the seals (their partner, person and seq conditions on the seals' own
 * indexes, the LIMIT inside), each joined to its entry by id; `matches` says whether the entry passes the entry
 * conditions (agent, time, kind). With a partner or person filter, the seals are ordered by -seq, which only the
 * (partner, -seq) and (person, -seq) indexes give (migration 005): ordered by seq, the planner could prefer walking
 * the whole chain by its primary key and filtering, and did for a partner whose entries were old (18 s).
 */
function chunkQuery(filter: AuditFilter, seq: { op: '<' | '>'; value: number }, size: number, params: unknown[]): string {
  const seals: string[] = [];
  const entries: string[] = [];
  const add = (into: string[], clause: string, value: unknown) => {
    params.push(value);
    into.push(clause.replace('?', `$${params.length}`));
  };
  const lead = filter.subjectRef ? 'subject_ref' : filter.partnerId ? 'partner_id' : undefined;
  // A seq condition, on -seq when a lead index is used: -seq > -n is seq < n.
  const flip: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=' };
  const onSeq = (op: string, value: number) => (lead ? add(seals, `-seq ${flip[op]} ?`, -value) : add(seals, `seq ${op} ?`, value));
  if (filter.subjectRef) add(seals, 'subject_ref = ?', filter.subjectRef);
  if (filter.partnerId) add(seals, 'partner_id = ?', filter.partnerId);
  if (filter.fromSeq !== undefined) onSeq('>=', filter.fromSeq);
  if (filter.toSeq !== undefined) onSeq('<=', filter.toSeq);
  onSeq(seq.op, seq.value);
  if (filter.agent) add(entries, 'e.agent = ?', filter.agent);
  if (filter.from) add(entries, 'e.occurred_at >= ?', filter.from);
  if (filter.to) add(entries, 'e.occurred_at < ?', filter.to);
  if (filter.kind) add(entries, 'e.kind = ?', filter.kind);
  params.push(size);
  const direction = seq.op === '<' ? 'DESC' : 'ASC';
  const order = lead ? `-seq ${direction === 'DESC' ? 'ASC' : 'DESC'}` : `seq ${direction}`;
  return `SELECT ${COLUMNS}, ${entries.length ? entries.join(' AND ') : 'TRUE'} AS matches
    FROM (SELECT seq, entry_id, prev_hash, hash FROM audit_seals WHERE ${seals.join(' AND ')} ORDER BY ${order} LIMIT $${params.length}) s
    CROSS JOIN LATERAL (SELECT * FROM audit_entries x WHERE x.id = s.entry_id OFFSET 0) e
    ORDER BY s.seq ${direction}`;
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
    return this.matching(filter, { op: '<', value: beforeSeq ?? Number.MAX_SAFE_INTEGER }, limit);
  }

  /** In chain order, after a seq: the export and the verification page through the chain with this. */
  page(filter: AuditFilter, afterSeq: number, limit: number): Promise<SealedEntry[]> {
    if (filter.toSeq !== undefined) limit = Math.min(limit, filter.toSeq - afterSeq);
    if (limit <= 0) return Promise.resolve([]);
    return this.matching(filter, { op: '>', value: afterSeq }, limit);
  }

  /** Up to `limit` matching entries from `start` on, reading the chain by chunks until they are found or it ends. */
  private async matching(filter: AuditFilter, start: { op: '<' | '>'; value: number }, limit: number): Promise<SealedEntry[]> {
    const found: SealedEntry[] = [];
    const size = Math.max(limit, 100);
    for (let from = start.value; ;) {
      const params: unknown[] = [];
      const rows = await this.db.rows<SealedEntry & { matches: boolean }>(chunkQuery(filter, { op: start.op, value: from }, size, params), params);
      for (const row of rows) if (row.matches && found.length < limit) found.push(row);
      if (found.length >= limit || rows.length < size) break;
      from = Number(rows[rows.length - 1].seq);
    }
    for (const row of found) delete (row as { matches?: boolean }).matches;
    return decode(found);
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
