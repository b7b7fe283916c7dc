import { createHash, createPublicKey, KeyObject, verify } from 'node:crypto';

/**
 * The audit chain's canonical encoding and hashing. This file is the specification an auditor's verifier
 * follows (docs/audit.md):
 *   canonical(entry) = JSON of an object with exactly the ENTRY_FIELDS, in that order; absent values are null;
 *                      occurred_at is ISO 8601 UTC with milliseconds; detail has its keys sorted recursively.
 *   hash             = hex(SHA-256(prev_hash ‖ canonical(entry))), prev_hash as its 64 hex characters;
 *                      the first entry's prev_hash is 64 zeros (or the anchor left by a purge).
 *   checkpoint       = Ed25519 signature (base64url) of canonical({ seq, hash, at }).
 */
export const GENESIS_HASH = '0'.repeat(64);

export const ENTRY_FIELDS = ['seq', 'occurred_at', 'kind', 'partner_id', 'recipient', 'agent', 'context', 'object',
  'operator_id', 'action', 'target', 'detail', 'subject_ref', 'scopes_returned', 'outcome', 'http_status', 'request_id',
  'upstream_ms'] as const;

export type EntryField = (typeof ENTRY_FIELDS)[number];

export interface AuditEntry {
  seq: number;
  occurred_at: Date | string;
  kind: 'lookup' | 'action';
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
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value as object).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]));
  }
  return value;
}

const isoUtc = (value: Date | string) => new Date(value).toISOString();

export function canonical(entry: AuditEntry): string {
  const ordered: Record<string, unknown> = {};
  for (const field of ENTRY_FIELDS) {
    const value = entry[field];
    if (value === undefined || value === null) ordered[field] = null;
    else if (field === 'occurred_at') ordered[field] = isoUtc(value as Date | string);
    else if (field === 'seq' || field === 'http_status' || field === 'upstream_ms') ordered[field] = Number(value);
    else if (field === 'detail') ordered[field] = sortKeys(value);
    else ordered[field] = value;
  }
  return JSON.stringify(ordered);
}

export function chainHash(prevHash: string, entry: AuditEntry): string {
  return createHash('sha256').update(prevHash).update(canonical(entry)).digest('hex');
}

export function checkpointPayload(checkpoint: Pick<Checkpoint, 'seq' | 'hash' | 'at'>): string {
  return JSON.stringify({ seq: Number(checkpoint.seq), hash: checkpoint.hash, at: isoUtc(checkpoint.at) });
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
 * `startHash` when known), each hash recomputed; then each checkpoint's signature and its hash against the entry
 * at its seq. Names the first bad entry. Streams: feed entries one by one through `verifier()`.
 */
export function verifier(options: { startHash?: string; publicKey?: KeyObject | string }) {
  let previous: { seq: number; hash: string } | undefined;
  let checked = 0;
  let failure: { seq: number; problem: string } | undefined;
  const hashes = new Map<number, string>();
  const checkpoints: Checkpoint[] = [];
  return {
    entry(entry: SealedEntry): void {
      if (failure) return;
      const seq = Number(entry.seq);
      checked++;
      if (previous && seq !== previous.seq + 1) {
        failure = { seq: Math.min(seq, previous.seq + 1), problem: seq <= previous.seq ? 'seq out of order' : `seq gap after ${previous.seq}` };
        return;
      }
      const expectedPrev = previous?.hash ?? options.startHash;
      if (expectedPrev !== undefined && entry.prev_hash !== expectedPrev) {
        failure = { seq, problem: 'prev_hash does not match the previous entry' };
        return;
      }
      if (chainHash(entry.prev_hash, entry) !== entry.hash) {
        failure = { seq, problem: 'hash does not match the entry' };
        return;
      }
      previous = { seq, hash: entry.hash };
      hashes.set(seq, entry.hash);
    },
    checkpoint(checkpoint: Checkpoint): void {
      checkpoints.push(checkpoint);
    },
    result(): VerificationResult {
      let checkpointsChecked = 0;
      if (!failure) {
        for (const checkpoint of checkpoints) {
          const seq = Number(checkpoint.seq);
          if (options.publicKey && !checkpointSignatureValid(checkpoint, options.publicKey)) {
            failure = { seq, problem: 'checkpoint signature is invalid' };
            break;
          }
          const hash = hashes.get(seq);
          if (hash !== undefined && hash !== checkpoint.hash) {
            failure = { seq, problem: 'checkpoint hash does not match the chain' };
            break;
          }
          checkpointsChecked++;
        }
      }
      return failure
        ? { ok: false, checked, checkpoints_checked: checkpointsChecked, first_bad_seq: failure.seq, problem: failure.problem }
        : { ok: true, checked, checkpoints_checked: checkpointsChecked };
    },
  };
}
