import type { ClientBase } from 'pg';
import { Checkpoint, CHECKPOINT_COLUMNS, ENTRY_FIELDS, verifier } from './chain';

/** A seq range of the chain to verify, with the public keys its checkpoints may be signed by (base64 SPKI by key id). */
export interface RangeTask {
  fromSeq: number;
  toSeq: number;
  publicKeys: Record<string, string>;
}

export interface SegmentResult {
  ok: boolean;
  checked: number;
  checkpoints_checked: number;
  first_bad_seq?: number;
  problem?: string;
  firstSeq?: number;
  firstPrevHash?: string;
  lastSeq?: number;
  lastHash?: string;
  /** The segment's first and last checkpoints: the caller checks that they chain across segments. */
  firstCheckpoint?: Checkpoint;
  lastCheckpoint?: Checkpoint;
}

const PAGE = 5000;
// In ENTRY_FIELDS order, then prev_hash, hash, and whether the seal's search copies agree with the entry.
const COLUMNS = `seq::float8 AS seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, kind,
  partner_id, recipient, agent, context, object, operator_id, action, target, detail, subject_ref,
  array_to_json(scopes_returned)::text AS scopes_returned, outcome, http_status, request_id, upstream_ms, prev_hash, hash, copies_agree`;

/**
 * Verifies entries and checkpoints of a seq range on the given connection: seqs gapless from fromSeq, links and
 * hashes recomputed (the first entry against its own prev_hash: firstPrevHash lets the caller check the junction),
 * the seals' search copies, and each checkpoint against its entry, its signature and the checkpoint before it.
 */
export async function verifyRange(client: ClientBase, task: RangeTask): Promise<SegmentResult> {
  const checkpoints = (await client.query<Checkpoint>(
    `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE seq BETWEEN $1 AND $2 ORDER BY seq`, [task.fromSeq, task.toSeq])).rows;
  let check: ReturnType<typeof verifier> | undefined;
  let first: unknown[] | undefined;
  let last: unknown[] | undefined;
  const SEQ = 0;
  const SCOPES = ENTRY_FIELDS.indexOf('scopes_returned');
  const PREV = ENTRY_FIELDS.length;
  const HASH = ENTRY_FIELDS.length + 1;
  const COPIES_AGREE = ENTRY_FIELDS.length + 2;
  let c = 0;
  // No upper bound in the WHERE clause: with one, a table not yet analysed gets a bitmap scan and a sort of the
  // whole rest of the range per page; the LIMIT alone keeps the plan an index scan.
  // Rows as arrays, in ENTRY_FIELDS order then prev_hash, hash: no object per row.
  const read = (after: number) => client.query<unknown[]>({
    text: `SELECT ${COLUMNS} FROM audit_log WHERE audit_log.seq > $1 ORDER BY audit_log.seq LIMIT $2`,
    values: [after, Math.min(PAGE, task.toSeq - after)], rowMode: 'array' });
  // The next page is asked for before this one is hashed: PostgreSQL reads it on its core meanwhile.
  let next: ReturnType<typeof read> | undefined = task.fromSeq - 1 < task.toSeq ? read(task.fromSeq - 1) : undefined;
  try {
    while (next) {
      const page = (await next).rows;
      next = undefined;
      if (page.length === 0) break;
      const after = Number(page[page.length - 1][SEQ]);
      if (after < task.toSeq) next = read(after);
      for (const entry of page) {
        const scopes = entry[SCOPES] as string | null;
        entry[SCOPES] = scopes === null ? null : JSON.parse(scopes);
        if (!check) {
          first = entry;
          check = verifier({ startHash: entry[PREV] as string });
          if (Number(entry[SEQ]) !== task.fromSeq) {
            return { ok: false, checked: 0, checkpoints_checked: 0, first_bad_seq: task.fromSeq, problem: `seq gap before ${entry[SEQ]}` };
          }
        }
        check.entry(entry);
        if (entry[COPIES_AGREE] === false && !check.failed()) {
          // Not part of the hash, but a wrong copy would hide entries from a search by partner or person.
          return { ...check.result(), ok: false, first_bad_seq: Number(entry[SEQ]), problem: 'the seal\'s partner, person or agent copy differs from the entry' };
        }
        while (c < checkpoints.length && checkpoints[c].seq === Number(entry[SEQ])) {
          const key = task.publicKeys[checkpoints[c].key_id];
          if (!key) return { ...check.result(), ok: false, first_bad_seq: checkpoints[c].seq, problem: 'checkpoint signed by an unknown key' };
          check.checkpoint(checkpoints[c++], key);
        }
        if (check.failed()) return check.result();
        last = entry;
      }
    }
  } finally {
    // A failure found before the page asked for arrived: the connection is left idle for whoever uses it next.
    await next?.catch(() => undefined);
  }
  if (!check) return { ok: true, checked: 0, checkpoints_checked: 0 };
  return { ...check.result(), firstSeq: Number(first![SEQ]), firstPrevHash: first![PREV] as string,
    lastSeq: Number(last![SEQ]), lastHash: last![HASH] as string,
    firstCheckpoint: checkpoints[0], lastCheckpoint: checkpoints[checkpoints.length - 1] };
}

