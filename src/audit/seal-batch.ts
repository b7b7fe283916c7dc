import { ClientBase, Query, QueryArrayConfig, QueryConfig } from 'pg';
import { int8Array, textArray, uuidArray } from '../common/database/binary-array';
import { chainHash, ENTRY_FIELDS } from './chain';

/** Entries per batch: large enough to amortise the round trips. */
export const SEAL_BATCH_SIZE = 2000;

// Pending entries, oldest id first, as arrays in ENTRY_FIELDS order (no object per row); the first column carries
// the entry id until the seq replaces it.
const READ_PENDING = `SELECT e.id::text, to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), e.kind,
    e.partner_id, e.recipient, e.agent, e.context, e.object, e.operator_id, e.action, e.target, e.detail, e.subject_ref,
    array_to_json(e.scopes_returned)::text, e.outcome, e.http_status, e.request_id, e.upstream_ms
  FROM audit_entries e
  -- The batch's ids as one sorted array: one scan of the entries' primary key that steps from id to id (a join
  -- could walk the entries table from its start, sealed history included, for every batch).
  WHERE e.id = ANY (ARRAY(SELECT entry_id FROM audit_pending WHERE entry_id > $2 ORDER BY entry_id LIMIT $1))
  ORDER BY e.id`;
const SEQ = 0;
const PARTNER = ENTRY_FIELDS.indexOf('partner_id');
const AGENT = ENTRY_FIELDS.indexOf('agent');
const SUBJECT = ENTRY_FIELDS.indexOf('subject_ref');
const SCOPES = ENTRY_FIELDS.indexOf('scopes_returned');

/** The last sealed entry: the next one gets seq + 1 and chains onto hash. */
export interface Head { seq: number; hash: string }

/**
 * One batch of pending entries, chained: what audit_seal() takes, its columns as binary arrays (binary-array.ts:
 * PostgreSQL reads them without parsing, and the sealer's thread hands them to the one holding the connection
 * without a copy), and the head after it.
 */
export interface ChainedBatch {
  count: number;
  /** The last entry id taken: the next batch of this run starts after it. */
  lastId: string;
  firstSeq: number;
  firstPrev: string;
  head: Head;
  ids: Uint8Array;
  hashes: Uint8Array;
  partners: Uint8Array;
  subjects: Uint8Array;
  agents: Uint8Array;
}

/**
 * Reads up to SEAL_BATCH_SIZE pending entries after entry id `after` (in a run, the last id of the batch before;
 * '0' to start from the oldest) and chains them onto `head`: seq gapless from head.seq + 1, each hash =
 * SHA-256(prev ‖ canonical entry). `head` itself is not changed.
 * Each row is chained as it arrives and then dropped (a row listener: the driver keeps no array of the batch's
 * rows): only the five columns the seal needs stay until the batch ends, so that the collector, which copies what
 * is alive whenever it runs, does not copy a batch of rows while it is read (docs/decisions.md).
 */
export function readAndChain(client: ClientBase, after: string, head: Head): Promise<ChainedBatch> {
  // Not a named (prepared) statement: planned on each call, with the table's size as it is then. A cached plan made
  // while the trail was small (a fresh deployment, the sealer's first runs) scans the whole table and compares each
  // row with the 2,000 ids one by one: 5 s a batch once it holds 300,000 entries, sealing stalled until an ANALYZE
  // (seen in a soak: 28 s). Planning costs ~0.1 ms a batch.
  const config: QueryArrayConfig = { text: READ_PENDING, values: [SEAL_BATCH_SIZE, after], rowMode: 'array' };
  // pg's Query takes rowMode as client.query does; its type declaration leaves it out.
  const query = new Query(config as QueryConfig);
  const chain = new Chaining(head);
  let failed: unknown;
  return new Promise((resolve, reject) => {
    query.on('row', (row: unknown[]) => {
      if (failed !== undefined) return;
      try {
        chain.add(row);
      } catch (error) {
        failed = error;
      }
    });
    // The driver emits 'error' instead of 'end' when the statement or the connection fails.
    query.on('error', reject);
    query.on('end', () => (failed === undefined ? resolve(chain.batch()) : reject(failed)));
    client.query(query);
  });
}

/** The batch being chained, row after row. */
class Chaining {
  private readonly ids: string[] = [];
  private readonly hashes: string[] = [];
  private readonly partners: string[] = [];
  private readonly subjects: string[] = [];
  private readonly agents: string[] = [];
  private seq: number;
  private hash: string;

  constructor(private readonly head: Head) {
    ({ seq: this.seq, hash: this.hash } = head);
  }

  add(row: unknown[]): void {
    const scopes = row[SCOPES] as string | null;
    row[SCOPES] = scopes === null ? null : JSON.parse(scopes);
    this.ids.push(row[SEQ] as string);
    row[SEQ] = ++this.seq;
    this.hash = chainHash(this.hash, row);
    this.hashes.push(this.hash);
    this.partners.push(row[PARTNER] as string);
    this.subjects.push(row[SUBJECT] as string);
    this.agents.push(row[AGENT] as string);
  }

  batch(): ChainedBatch {
    const { ids } = this;
    return { count: ids.length, lastId: ids.length ? ids[ids.length - 1] : '', firstSeq: this.head.seq + 1,
      firstPrev: this.head.hash, head: { seq: this.seq, hash: this.hash }, ids: int8Array(ids), hashes: textArray(this.hashes),
      partners: uuidArray(this.partners), subjects: textArray(this.subjects), agents: textArray(this.agents) };
  }
}
