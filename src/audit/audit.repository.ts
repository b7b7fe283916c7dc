import { Injectable } from '@nestjs/common';
import { TRAIL_READ_LOCK } from '../../migrations/014-audit-verifications';
import { Database } from '../common/database/database';
import { Checkpoint, CHECKPOINT_COLUMNS, SealedEntry } from './chain';

export interface AuditFilter {
  partnerId?: string;
  agent?: string;
  subjectRef?: string;
  from?: Date;
  to?: Date;
  kind?: 'lookup' | 'action' | 'probe';
  fromSeq?: number;
  toSeq?: number;
}

// occurred_at as canonical ISO text: the chain's own encoding, and no date parsing per row. From a pending entry
// (not sealed yet) the seal's fields are null.
const COLUMNS = `s.seq::float8 AS seq, e.id::float8 AS entry_id,
  to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, e.kind,
  e.partner_id, e.recipient, e.agent, e.context, e.object, e.operator_id, e.action, e.target, e.detail, e.subject_ref,
  array_to_json(e.scopes_returned)::text AS scopes_returned, e.outcome, e.http_status, e.request_id, e.upstream_ms, s.prev_hash, s.hash`;

export interface Anchor extends Checkpoint {
  from_seq: number;
  entries: number;
  purged_at: string;
}

/** Most rows one search reads before it answers with what it found and a cursor to go on from (bounded cost). */
export const SEARCH_SCAN_LIMIT = 20_000;
/** Most pending (unsealed) entries a search looks through: normally they are the last second's. */
const PENDING_SCAN_LIMIT = 10_000;

/** An entry as read: sealed (seq, prev_hash, hash set) or still pending (null). */
export type StoredEntry = Omit<SealedEntry, 'seq' | 'prev_hash' | 'hash'> & { seq: number | null; entry_id: number;
  prev_hash: string | null; hash: string | null };

/** scopes_returned travels as JSON text: JSON.parse is much cheaper than the driver's array parser. */
function decode<T extends { scopes_returned?: string[] | null }>(rows: T[]): T[] {
  for (const row of rows) {
    const text = row.scopes_returned as unknown as string | null;
    row.scopes_returned = text === null ? null : JSON.parse(text);
  }
  return rows;
}

type Position = { by: 'seq' | 'entry'; op: '<' | '>'; value: number };

/** The seal column a filter leads by: its indexed copy of the person, the agent or the partner (migration 006). */
function leadOf(filter: AuditFilter): 'subject_ref' | 'agent' | 'partner_id' | undefined {
  return filter.subjectRef ? 'subject_ref' : filter.agent ? 'agent' : filter.partnerId ? 'partner_id' : undefined;
}

/**
 * One chunk of sealed entries, from the seals (their partner, person, agent and seq conditions on the seals' own
 * indexes, the LIMIT inside), each joined to its entry by id; `matches` says whether the entry passes the entry
 * conditions (time, kind). Read by entry id (searches, filtered exports) or by seq (contiguous exports). With a
 * lead, the seals are ordered by -entry_id, which only the (lead, -entry_id) indexes give: ordered otherwise, the
 * planner could prefer walking the whole chain and filtering, and did for a partner whose entries were old (18 s).
 */
function chunkQuery(filter: AuditFilter, at: Position, size: number, params: unknown[]): string {
  const seals: string[] = [];
  const entries: string[] = [];
  const add = (into: string[], clause: string, value: unknown) => {
    params.push(value);
    into.push(clause.replace('?', `$${params.length}`));
  };
  const lead = leadOf(filter);
  const flip: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=' };
  if (filter.subjectRef) add(seals, 'subject_ref = ?', filter.subjectRef);
  if (filter.agent) add(seals, 'agent = ?', filter.agent);
  if (filter.partnerId) add(seals, 'partner_id = ?', filter.partnerId);
  if (filter.fromSeq !== undefined) add(seals, 'seq >= ?', filter.fromSeq);
  if (filter.toSeq !== undefined) add(seals, 'seq <= ?', filter.toSeq);
  let order: string;
  if (at.by === 'seq') {
    add(seals, `seq ${at.op} ?`, at.value);
    order = `seq ${at.op === '<' ? 'DESC' : 'ASC'}`;
  } else if (lead) {
    // entry_id < n is -entry_id > -n, on the (lead, -entry_id) index.
    add(seals, `-entry_id ${flip[at.op]} ?`, -at.value);
    order = `-entry_id ${at.op === '<' ? 'ASC' : 'DESC'}`;
  } else {
    add(seals, `entry_id ${at.op} ?`, at.value);
    order = `entry_id ${at.op === '<' ? 'DESC' : 'ASC'}`;
  }
  if (filter.from) add(entries, 'e.occurred_at >= ?', filter.from);
  if (filter.to) add(entries, 'e.occurred_at < ?', filter.to);
  if (filter.kind) add(entries, 'e.kind = ?', filter.kind);
  params.push(size);
  const outer = at.by === 'seq' ? 's.seq' : 's.entry_id';
  return `SELECT ${COLUMNS}, ${entries.length ? entries.join(' AND ') : 'TRUE'} AS matches
    FROM (SELECT seq, entry_id, prev_hash, hash FROM audit_seals WHERE ${seals.join(' AND ')} ORDER BY ${order} LIMIT $${params.length}) s
    CROSS JOIN LATERAL (SELECT * FROM audit_entries x WHERE x.id = s.entry_id OFFSET 0) e
    ORDER BY ${outer} ${at.op === '<' ? 'DESC' : 'ASC'}`;
}

/** The newest pending entries (not sealed yet) before an entry id that pass every condition of the filter. */
function pendingQuery(filter: AuditFilter, beforeId: number, limit: number, params: unknown[]): string {
  const conditions: string[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    conditions.push(clause.replace('?', `$${params.length}`));
  };
  add('p.entry_id < ?', beforeId);
  const inner = `SELECT entry_id FROM audit_pending p WHERE ${conditions.pop()} ORDER BY entry_id DESC LIMIT ${PENDING_SCAN_LIMIT}`;
  if (filter.subjectRef) add('e.subject_ref = ?', filter.subjectRef);
  if (filter.agent) add('e.agent = ?', filter.agent);
  if (filter.partnerId) add('e.partner_id = ?', filter.partnerId);
  if (filter.from) add('e.occurred_at >= ?', filter.from);
  if (filter.to) add('e.occurred_at < ?', filter.to);
  if (filter.kind) add('e.kind = ?', filter.kind);
  params.push(limit);
  return `SELECT ${COLUMNS.replace('s.seq::float8', 'NULL::float8').replace('s.prev_hash, s.hash', 'NULL::text AS prev_hash, NULL::text AS hash')}
    FROM (${inner}) p CROSS JOIN LATERAL (SELECT * FROM audit_entries x WHERE x.id = p.entry_id OFFSET 0) e
    ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY e.id DESC LIMIT $${params.length}`;
}

/**
 * Reads of the trail. Searches see every committed entry, sealed or not (DESIGN §3.5); exports and verification
 * read the sealed chain: seals in seq order, each joined to its entry. Partner, person and agent filters use the
 * seals' indexed copies; verification checks that they agree with the entries. Nothing here writes but the
 * retention purge, which the database bounds itself.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly db: Database) {}

  /**
   * Newest first by entry id, before `beforeId` (the cursor). Pending entries are read first, then sealed ones: an
   * entry sealed in between is found twice (kept once), never missed. Reads at most SEARCH_SCAN_LIMIT sealed rows:
   * `scannedTo` is then where it stopped, for a cursor that goes on from there.
   */
  async search(filter: AuditFilter, beforeId: number | undefined, limit: number): Promise<{ entries: StoredEntry[]; scannedTo?: number }> {
    const before = beforeId ?? Number.MAX_SAFE_INTEGER;
    const params: unknown[] = [];
    const pending = await this.db.rows<StoredEntry>(pendingQuery(filter, before, limit, params), params);
    const sealed = await this.matching(filter, { by: 'entry', op: '<', value: before }, limit, SEARCH_SCAN_LIMIT);
    const byId = new Map<number, StoredEntry>();
    for (const row of [...pending, ...sealed.found]) byId.set(Number(row.entry_id), row);
    let entries = [...byId.values()].sort((a, b) => Number(b.entry_id) - Number(a.entry_id)).slice(0, limit);
    if (sealed.scannedTo !== undefined) entries = entries.filter((row) => Number(row.entry_id) > sealed.scannedTo!);
    return { entries: decode(entries), scannedTo: sealed.scannedTo };
  }

  /**
   * The export's and the verification's walk, after a position: in seq order for the whole chain (fromSeq/toSeq),
   * by entry id when filtered by partner or person. cursorOf gives the position of a row.
   */
  async page(filter: AuditFilter, after: number, limit: number): Promise<SealedEntry[]> {
    const by = leadOf(filter) ? 'entry' : 'seq';
    if (by === 'seq' && filter.toSeq !== undefined) limit = Math.min(limit, filter.toSeq - after);
    if (limit <= 0) return Promise.resolve([]);
    return decode((await this.matching(filter, { by, op: '>', value: after }, limit)).found) as SealedEntry[];
  }

  cursorOf(filter: AuditFilter, row: { seq: number | null; entry_id?: number }): number {
    return Number(leadOf(filter) ? (row as { entry_id: number }).entry_id : row.seq);
  }

  /** Up to `limit` matching entries from `start` on, reading the chain by chunks until they are found, it ends or `scanLimit` rows were read. */
  private async matching(filter: AuditFilter, start: Position, limit: number, scanLimit = Infinity): Promise<{ found: StoredEntry[]; scannedTo?: number }> {
    const found: StoredEntry[] = [];
    const size = Math.max(limit, 100);
    let scanned = 0;
    for (let from = start.value; ;) {
      const params: unknown[] = [];
      const rows = await this.db.rows<StoredEntry & { matches: boolean }>(chunkQuery(filter, { ...start, value: from }, size, params), params);
      for (const row of rows) {
        if (row.matches && found.length < limit) found.push(row);
        delete (row as { matches?: boolean }).matches;
      }
      scanned += rows.length;
      if (found.length >= limit || rows.length < size) break;
      const last = rows[rows.length - 1];
      from = Number(start.by === 'seq' ? last.seq : last.entry_id);
      if (scanned >= scanLimit) return { found, scannedTo: from };
    }
    return { found };
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
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE seq BETWEEN $1 AND $2 ORDER BY seq LIMIT $3`, [fromSeq, toSeq, limit]);
  }

  latestCheckpoint(): Promise<Checkpoint | undefined> {
    return this.db.one<Checkpoint>(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`);
  }

  /** The last checkpoint before a seq (the one the checkpoints of a range follow), if any. */
  checkpointBefore(seq: number): Promise<Checkpoint | undefined> {
    return this.db.one<Checkpoint>(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE seq < $1 ORDER BY seq DESC LIMIT 1`, [seq]);
  }

  /**
   * The latest purge anchor (undefined: the chain starts from the genesis): the checkpoint the remaining chain
   * starts from, and what the purge removed (seqs from_seq to seq, `entries` of them, the last one's hash).
   */
  async anchor(): Promise<Anchor | undefined> {
    const row = await this.db.one<Anchor>(
      `SELECT ${CHECKPOINT_COLUMNS}, from_seq::float8 AS from_seq, entries::float8 AS entries,
              to_char(purged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS purged_at
       FROM audit_anchors ORDER BY seq DESC LIMIT 1`);
    return row ?? undefined;
  }

  /**
   * How long the oldest entry kept has been past the retention period, in seconds (0: none is). The purge removes
   * whole sealed segments every hour, so minutes are normal; days mean purges fail or keep being put off. Read from
   * the first seq after the latest anchor, not the index's start, which holds the purged rows until VACUUM.
   */
  async retentionOverdueSeconds(): Promise<number> {
    const row = await this.db.one<{ overdue: number | null }>(
      `SELECT EXTRACT(EPOCH FROM (now() - make_interval(months => (SELECT retention_months FROM audit_settings)))
                - l.occurred_at)::float8 AS overdue
       FROM audit_log l WHERE l.seq > COALESCE((SELECT max(seq) FROM audit_anchors), 0) ORDER BY l.seq LIMIT 1`);
    return Math.max(0, row?.overdue ?? 0);
  }

  /** The retention period the purge applies: the database's (audit_settings, set by the owner at start-up). */
  async retentionMonths(): Promise<number> {
    const row = await this.db.one<{ months: number }>('SELECT retention_months AS months FROM audit_settings');
    return row!.months;
  }

  /**
   * Runs `work` (a verification) while holding TRAIL_READ_LOCK shared: the retention purge then waits for the next
   * hour rather than removing the oldest segment under it (which would look like a cut chain).
   */
  whileReadingTrail<T>(work: () => Promise<T>): Promise<T> {
    return this.db.underSharedLock(TRAIL_READ_LOCK, work);
  }

  /** The same, for a read that is not one call (an export streamed at its client's pace): call the answer to end it. */
  holdTrail(): Promise<() => Promise<void>> {
    return this.db.holdShared(TRAIL_READ_LOCK);
  }

  /**
   * Applies the retention period the database holds (audit_settings, set by the owner): whole sealed segments
   * older than it go, an anchor stays. Returns how many entries were removed, or null when the purge was put off
   * because the trail is being read (a verification or an export holds TRAIL_READ_LOCK shared).
   */
  async purge(): Promise<number | null> {
    // audit_purge() takes the lock itself and removes nothing without it (migration 014); taken here first in the
    // same transaction (advisory locks are re-entrant), it also says why nothing was removed.
    return this.db.transaction(async (tx) => {
      const lock = await this.db.one<{ free: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS free', [TRAIL_READ_LOCK], tx);
      if (!lock?.free) return null;
      const row = await this.db.one<{ removed: string }>('SELECT audit_purge() AS removed', [], tx);
      return Number(row?.removed ?? 0);
    });
  }
}
