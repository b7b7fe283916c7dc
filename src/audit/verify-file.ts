import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Checkpoint, checkpointSignatureValid, GENESIS_HASH, SealedEntry, VerificationResult, verifier } from './chain';
import { EXPORT_FORMAT } from './audit.service';

/** A checkpoint saved earlier from GET /v1/audit/checkpoints/latest (its JSON as served, public_key included). */
export type SavedCheckpoint = Checkpoint & { public_key?: string };

/** What became of each saved checkpoint: its entry's hash in the export matches it, differs, or is not in the export. */
export interface SavedCheckpointCheck {
  seq: number;
  at: string;
  status: 'matches' | 'differs' | 'not_in_export' | 'bad_signature';
}

export type FileVerification = VerificationResult & { saved_checkpoints?: SavedCheckpointCheck[] };

/** Reads a saved checkpoint file; throws a message naming the file when it is not one. */
export function readSavedCheckpoint(path: string): SavedCheckpoint {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`${path} is not a JSON checkpoint (save the answer of GET /v1/audit/checkpoints/latest)`);
  }
  if (!value || typeof value.seq !== 'number' || typeof value.hash !== 'string' || typeof value.signature !== 'string'
    || typeof value.at !== 'string' || typeof value.key_id !== 'string') {
    throw new Error(`${path} is not a checkpoint: it needs seq, hash, at, key_id and signature`);
  }
  return value as unknown as SavedCheckpoint;
}

interface Header {
  contiguous?: boolean;
  public_keys?: Record<string, string>;
  anchor?: { hash: string; seq: number } | null;
}

/**
 * Verifies an NDJSON export offline, line by line (constant memory): gapless seq, prev_hash links, hashes,
 * and each checkpoint's signature and hash. The public key is the one given (pinned from
 * GET /v1/audit/checkpoints/latest), else the export's own. A filtered export (one partner's entries) is not a
 * contiguous chain: each entry is then checked against its own prev_hash, and checkpoints by signature.
 */
export async function verifyExportFile(path: string, pinnedPublicKey?: string, saved: SavedCheckpoint[] = []): Promise<FileVerification> {
  // Each saved checkpoint, by seq, is compared with the export's entry at that seq as the file streams by.
  const checks = new Map<number, SavedCheckpointCheck & { hash: string }>();
  for (const checkpoint of saved) {
    const key = pinnedPublicKey ?? checkpoint.public_key;
    checks.set(Number(checkpoint.seq), { seq: Number(checkpoint.seq), at: checkpoint.at, hash: checkpoint.hash,
      status: key && checkpointSignatureValid(checkpoint, key) ? 'not_in_export' : 'bad_signature' });
  }
  const result = await verifyLines(path, pinnedPublicKey, (entry) => {
    const check = checks.get(Number(entry.seq));
    if (check && check.status !== 'bad_signature') check.status = check.hash === entry.hash ? 'matches' : 'differs';
  });
  if (saved.length === 0) return result;
  const savedChecks = [...checks.values()].sort((a, b) => a.seq - b.seq).map(({ hash: _hash, ...check }) => check);
  const unsigned = savedChecks.find((check) => check.status === 'bad_signature');
  if (unsigned) {
    return { ...result, ok: false, first_bad_seq: unsigned.seq, saved_checkpoints: savedChecks,
      problem: `the checkpoint saved for seq ${unsigned.seq} is not validly signed (check the file and the public key)` };
  }
  const differs = savedChecks.find((check) => check.status === 'differs');
  if (differs && (result.ok || (result.first_bad_seq ?? Infinity) > differs.seq)) {
    const before = savedChecks.filter((check) => check.status === 'matches' && check.seq < differs.seq).pop();
    return { ...result, ok: false, first_bad_seq: differs.seq, saved_checkpoints: savedChecks,
      problem: `the entry at seq ${differs.seq} does not have the hash of the checkpoint saved at ${differs.at}: the history `
        + `up to it was rewritten${before ? ` after seq ${before.seq}, whose saved checkpoint matches` : ''}` };
  }
  return { ...result, saved_checkpoints: savedChecks };
}

async function verifyLines(path: string, pinnedPublicKey: string | undefined, onEntry: (entry: SealedEntry) => void): Promise<VerificationResult> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let header: Header | undefined;
  let check: ReturnType<typeof verifier> | undefined;
  let checked = 0;
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (!line.trim()) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line);
    } catch {
      return { ok: false, checked, checkpoints_checked: 0, problem: `line ${lineNumber} is not JSON` };
    }
    if (record.type === 'header') {
      if (record.format !== EXPORT_FORMAT) return { ok: false, checked: 0, checkpoints_checked: 0, problem: 'unknown export format' };
      header = record as Header;
      continue;
    }
    if (record.type === 'entry') {
      const entry = record as unknown as SealedEntry;
      onEntry(entry);
      if (!header?.contiguous) {
        const single = verifier({ startHash: entry.prev_hash });
        single.entry(entry);
        const result = single.result();
        if (!result.ok) return { ...result, checked: checked + 1 };
        checked++;
        continue;
      }
      if (!check) {
        const seq = Number(entry.seq);
        const startHash = seq === 1 ? GENESIS_HASH : header.anchor && seq === header.anchor.seq + 1 ? header.anchor.hash : undefined;
        check = verifier({ startHash });
      }
      check.entry(entry);
    } else if (record.type === 'checkpoint') {
      const checkpoint = record as unknown as Checkpoint;
      const key = pinnedPublicKey ?? header?.public_keys?.[checkpoint.key_id];
      if (!key) return { ok: false, checked, checkpoints_checked: 0, first_bad_seq: Number(checkpoint.seq), problem: 'checkpoint signed by an unknown key' };
      const target = check ?? verifier({});
      target.checkpoint(checkpoint, key);
      if (!check && target.failed()) return { ...target.result(), checked };
    }
    if (check?.failed()) return check.result();
  }
  return check ? check.result() : { ok: true, checked, checkpoints_checked: 0 };
}
