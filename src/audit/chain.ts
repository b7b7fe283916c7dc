import { createPublicKey, hash, KeyObject, verify } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';

/**
 * The audit chain's canonical encoding and hashing. This file is the specification an auditor's verifier
 * follows (docs/audit.md):
 *   canonical(entry) = JSON of an object with exactly the ENTRY_FIELDS, in that order; absent values are null;
 *                      occurred_at is ISO 8601 UTC with milliseconds; detail has its keys sorted recursively.
 *   hash             = hex(SHA-256(prev_hash ‖ canonical(entry))), prev_hash as its 64 hex characters;
 *                      the first entry's prev_hash is 64 zeros (or the anchor left by a purge).
 *   checkpoint       = Ed25519 signature (base64url) of canonical({ seq, hash, at, prev_checkpoint }), where
 *                      prev_checkpoint = hex(SHA-256(the previous checkpoint's signed payload)), 64 zeros for the
 *                      first; checkpoints signed before checkpoints were chained have none (and no such key).
 */
export const GENESIS_HASH = '0'.repeat(64);

/** The `format` of an NDJSON export's header line. */
export const EXPORT_FORMAT = 'api-droits-cnam-audit/1';

/** A checkpoint's columns as the chain encodes them (seq a number, `at` canonical ISO text). */
export const CHECKPOINT_COLUMNS = `seq::float8 AS seq, hash, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, key_id,
  signature, prev_checkpoint`;


export const ENTRY_FIELDS = ['seq', 'occurred_at', 'kind', 'partner_id', 'recipient', 'agent', 'context', 'object',
  'operator_id', 'action', 'target', 'detail', 'subject_ref', 'scopes_returned', 'outcome', 'http_status', 'request_id',
  'upstream_ms'] as const;

export type EntryField = (typeof ENTRY_FIELDS)[number];

export interface AuditEntry {
  seq: number;
  occurred_at: Date | string;
  kind: 'lookup' | 'action' | 'probe';
  partner_id?: string | null;
  recipient?: string | null;
  agent?: string | null;
  context?: string | null;
  object?: string | null;
  operator_id?: string | null;
  action?: string | null;
  target?: string | null;
  detail?: Record<string, unknown> | null;
  subject_ref?: string | null;
  scopes_returned?: string[] | null;
  outcome: string;
  http_status?: number | null;
  request_id?: string | null;
  upstream_ms?: number | null;
}

export interface SealedEntry extends AuditEntry {
  prev_hash: string;
  hash: string;
}

export interface Checkpoint {
  seq: number;
  hash: string;
  at: string;
  key_id: string;
  signature: string;
  /** Digest of the previous checkpoint's payload (checkpointDigest); null on checkpoints signed before chaining. */
  prev_checkpoint?: string | null;
}

export type CheckpointPayload = Pick<Checkpoint, 'seq' | 'hash' | 'at' | 'prev_checkpoint'>;

const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** ISO 8601 UTC with milliseconds; a string already in that form is kept as it is (the database gives it so). */
const isoUtc = (value: Date | string) =>
  typeof value === 'string' && CANONICAL_ISO.test(value) ? value : new Date(value).toISOString();

const NUMERIC = new Set<string>(['seq', 'http_status', 'upstream_ms']);

// Per field: the text before its value, and how its value is encoded (0 JSON, 1 date, 2 number, 3 sorted JSON).
const PREFIXES = ENTRY_FIELDS.map((field, i) => `${i === 0 ? '{' : ','}"${field}":`);
const ENCODINGS = ENTRY_FIELDS.map((field) => (field === 'occurred_at' ? 1 : NUMERIC.has(field) ? 2 : field === 'detail' ? 3 : 0));

// A string JSON.stringify leaves as it is between its quotes: printable ASCII without `"` or `\` (ids, hashes,
// codes, most names). Testing for it costs a third of JSON.stringify, which the hot loops call ten times per entry.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function encodeValue(encoding: number, value: unknown): string {
  if (value === undefined || value === null) return 'null';
  switch (encoding) {
    case 1: return `"${isoUtc(value as Date | string)}"`;
    case 2: return String(Number(value));
    case 3: return canonicalJson(value);
    default: return typeof value === 'string' && PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
  }
}

/** Built as a string, field by field: the same text as JSON.stringify of the ordered object, without the object. */
export function canonical(entry: AuditEntry): string {
  let out = '';
  for (let i = 0; i < ENTRY_FIELDS.length; i++) out += PREFIXES[i] + encodeValue(ENCODINGS[i], entry[ENTRY_FIELDS[i]]);
  return `${out}}`;
}

/** The same encoding from a database row in array form, its values in ENTRY_FIELDS order (the sealer's hot loop). */
export function canonicalRow(row: unknown[]): string {
  let out = '';
  for (let i = 0; i < ENTRY_FIELDS.length; i++) out += PREFIXES[i] + encodeValue(ENCODINGS[i], row[i]);
  return `${out}}`;
}

/** The chain's link over an entry's canonical text: one-shot SHA-256 (crypto.hash), no Hash object per entry. */
function link(prevHash: string, canonicalText: string): string {
  return hash('sha256', prevHash + canonicalText, 'hex');
}

export function chainHash(prevHash: string, entry: AuditEntry | unknown[]): string {
  return link(prevHash, Array.isArray(entry) ? canonicalRow(entry) : canonical(entry));
}

// An export's entry line as the gateway writes it (exportEntryLine): `{"type":"entry",` + the canonical text without
// its braces + `,"prev_hash":"<64 hex>","hash":"<64 hex>"}`.
const LINE_HEAD = '{"type":"entry",';
const LINE_TAIL = 14 + 64 + 10 + 64 + 2;
const HEX64 = /^[0-9a-f]{64}$/;
const SEQ_FIELD = /^"seq":(\d{1,15}),/;

/** An entry's line in an NDJSON export: its canonical text as it is, between the line's type and its two hashes. */
export function exportEntryLine(entry: SealedEntry): string {
  return `${LINE_HEAD}${canonical(entry).slice(1, -1)},"prev_hash":"${entry.prev_hash}","hash":"${entry.hash}"}`;
}

/**
 * An export's entry line whose hash holds over the line's own text, without parsing it (the offline verifier's
 * fast path): when the hash at its end is SHA-256(the prev_hash before it ‖ '{' + the text between the two + '}'),
 * that text is the canonical encoding the sealer hashed (or someone who hashes garbage forged an unsigned tail,
 * which no signature vouches for either way), so its seq, prev_hash and hash are the entry's. Undefined when the
 * line is laid out otherwise or does not hash so: the caller parses it and checks it the long way, which names
 * what is wrong.
 */
export function exportLineHashed(line: string): { seq: number; prev_hash: string; hash: string } | undefined {
  const tail = line.length - LINE_TAIL;
  if (tail <= LINE_HEAD.length || !line.startsWith(LINE_HEAD) || !line.startsWith(',"prev_hash":"', tail)
    || !line.startsWith('","hash":"', tail + 78) || !line.endsWith('"}')) return undefined;
  const prevHash = line.slice(tail + 14, tail + 78);
  const entryHash = line.slice(tail + 88, tail + 152);
  const seq = SEQ_FIELD.exec(line.slice(LINE_HEAD.length, LINE_HEAD.length + 24));
  if (!seq || !HEX64.test(prevHash) || !HEX64.test(entryHash)) return undefined;
  if (link(prevHash, `{${line.slice(LINE_HEAD.length, tail)}}`) !== entryHash) return undefined;
  return { seq: Number(seq[1]), prev_hash: prevHash, hash: entryHash };
}

export function checkpointPayload(checkpoint: CheckpointPayload): string {
  const base = { seq: Number(checkpoint.seq), hash: checkpoint.hash, at: isoUtc(checkpoint.at) };
  return JSON.stringify(checkpoint.prev_checkpoint == null ? base : { ...base, prev_checkpoint: checkpoint.prev_checkpoint });
}

/** What the next checkpoint carries as prev_checkpoint: SHA-256 of this one's signed payload. */
export function checkpointDigest(checkpoint: CheckpointPayload | undefined): string {
  return checkpoint ? hash('sha256', checkpointPayload(checkpoint), 'hex') : GENESIS_HASH;
}

export function checkpointSignatureValid(checkpoint: Checkpoint, publicKey: KeyObject | string): boolean {
  try {
    const key = typeof publicKey === 'string' ? createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' }) : publicKey;
    return verify(null, Buffer.from(checkpointPayload(checkpoint)), key, Buffer.from(checkpoint.signature, 'base64url'));
  } catch {
    return false;
  }
}

export interface VerificationResult {
  ok: boolean;
  checked: number;
  checkpoints_checked: number;
  first_bad_seq?: number;
  problem?: string;
}

/**
 * Verifies a run of sealed entries in seq order: gapless seq, each prev_hash the previous hash (the first one
 * `startHash` when known), each hash recomputed; checkpoints are fed in seq order between the entries (right
 * after the entry they seal) and checked against it and, given a public key, their signature. A checkpoint fed
 * before its entry, or after a later one, is out of place: it would escape the comparison with the chain (only a
 * checkpoint beyond the last entry, covering the end of a range, may come without its entry). Constant memory:
 * an export of millions of entries streams through it. Names the first bad entry.
 */
export function verifier(options: { startHash?: string; publicKey?: KeyObject | string }) {
  let previous: { seq: number; hash: string } | undefined;
  let previousCheckpoint: Checkpoint | undefined;
  /** A checkpoint for an entry not seen yet: no entry may follow it. */
  let ahead: number | undefined;
  let checked = 0;
  let checkpointsChecked = 0;
  /** The last entry whose hash a signed checkpoint matched: it and every entry before it are covered. */
  let signedThrough: number | undefined;
  let failure: { seq: number; problem: string } | undefined;
  return {
    /**
     * A sealed entry, as an object or as a row array (ENTRY_FIELDS values, then prev_hash, then hash). `hashed`: its
     * hash was already found to be SHA-256(prev_hash ‖ its canonical text) (the export's fast path, exportLineHashed).
     */
    entry(input: SealedEntry | unknown[] | { seq: number; prev_hash: string; hash: string }, hashed = false): void {
      if (failure) return;
      const entry = Array.isArray(input)
        ? { seq: input[0] as number, prev_hash: input[ENTRY_FIELDS.length] as string, hash: input[ENTRY_FIELDS.length + 1] as string }
        : input;
      const seq = Number(entry.seq);
      checked++;
      if (ahead !== undefined) {
        failure = { seq: ahead, problem: 'checkpoint out of place: before the entry it seals' };
        return;
      }
      if (previous && seq !== previous.seq + 1) {
        failure = { seq: Math.min(seq, previous.seq + 1), problem: seq <= previous.seq ? 'seq out of order' : `seq gap after ${previous.seq}` };
        return;
      }
      const expectedPrev = previous?.hash ?? options.startHash;
      if (expectedPrev !== undefined && entry.prev_hash !== expectedPrev) {
        failure = { seq, problem: 'prev_hash does not match the previous entry' };
        return;
      }
      if (!hashed && chainHash(entry.prev_hash, Array.isArray(input) ? input : (entry as SealedEntry)) !== entry.hash) {
        failure = { seq, problem: 'hash does not match the entry' };
        return;
      }
      previous = { seq, hash: entry.hash };
    },
    /** `key` overrides the verifier's public key for this checkpoint (keys are looked up by key_id). */
    checkpoint(checkpoint: Checkpoint, key?: KeyObject | string): void {
      if (failure) return;
      const seq = Number(checkpoint.seq);
      const publicKey = key ?? options.publicKey;
      if (publicKey && !checkpointSignatureValid(checkpoint, publicKey)) {
        failure = { seq, problem: 'checkpoint signature is invalid' };
        return;
      }
      // A checkpoint right after its entry is checked against it; one beyond the entries seen (the one that
      // covers the end of a range) can only have its signature checked.
      if (previous && seq === previous.seq && checkpoint.hash !== previous.hash) {
        failure = { seq, problem: 'checkpoint hash does not match the chain' };
        return;
      }
      if (previous && seq < previous.seq) {
        failure = { seq, problem: 'checkpoint out of place: after a later entry' };
        return;
      }
      if (!previous || seq > previous.seq) ahead = seq;
      // Chained checkpoints: one removed between two others shows here.
      if (previousCheckpoint && checkpoint.prev_checkpoint != null && checkpoint.prev_checkpoint !== checkpointDigest(previousCheckpoint)) {
        failure = { seq, problem: `checkpoint does not follow the checkpoint at seq ${previousCheckpoint.seq} (one was removed or replaced)` };
        return;
      }
      previousCheckpoint = checkpoint;
      checkpointsChecked++;
      if (publicKey && previous && seq === previous.seq) signedThrough = seq;
    },
    failed(): boolean {
      return failure !== undefined;
    },
    /** The last entry a checkpoint (signature checked) matched, if any. */
    signedThrough(): number | undefined {
      return signedThrough;
    },
    /** The seq of a checkpoint fed ahead of the entries (the next entry fed fails), if any. */
    ahead(): number | undefined {
      return ahead;
    },
    result(): VerificationResult {
      return failure
        ? { ok: false, checked, checkpoints_checked: checkpointsChecked, first_bad_seq: failure.seq, problem: failure.problem }
        : { ok: true, checked, checkpoints_checked: checkpointsChecked };
    },
  };
}
