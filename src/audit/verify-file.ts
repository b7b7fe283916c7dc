import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { GENESIS_HASH, SealedEntry, VerificationResult, verifier } from './chain';
import { EXPORT_FORMAT } from './audit.service';

/**
 * Verifies an NDJSON export offline: chain (gapless seq, prev_hash links, hashes) and checkpoint signatures.
 * The public key is the one given (pinned from GET /v1/audit/checkpoints/latest), else the export's own.
 */
export async function verifyExportFile(path: string, pinnedPublicKey?: string): Promise<VerificationResult & { line?: number }> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let check: ReturnType<typeof verifier> | undefined;
  let header: { contiguous?: boolean; public_keys?: Record<string, string>; anchor?: { hash: string; seq: number } | null } | undefined;
  let lineNumber = 0;
  const checkpoints: Record<string, unknown>[] = [];
  let keyFor: (keyId: string) => string | undefined = () => pinnedPublicKey;
  for await (const line of lines) {
    lineNumber++;
    if (!line.trim()) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line);
    } catch {
      return { ok: false, checked: 0, checkpoints_checked: 0, problem: `line ${lineNumber} is not JSON`, line: lineNumber };
    }
    if (record.type === 'header') {
      if (record.format !== EXPORT_FORMAT) return { ok: false, checked: 0, checkpoints_checked: 0, problem: 'unknown export format' };
      header = record as typeof header;
      keyFor = (keyId) => pinnedPublicKey ?? header?.public_keys?.[keyId];
    } else if (record.type === 'entry') {
      if (!check) {
        // A contiguous export from the start of the chain begins at the genesis or at the purge anchor.
        const entry = record as unknown as SealedEntry;
        const fromStart = header?.contiguous && (Number(entry.seq) === 1 || Number(entry.seq) === (header.anchor?.seq ?? -1) + 1);
        check = verifier({ startHash: fromStart ? (Number(entry.seq) === 1 ? GENESIS_HASH : header!.anchor!.hash) : undefined });
        if (!header?.contiguous) return verifyEach(lines, record, keyFor);
      }
      check.entry(record as unknown as SealedEntry);
    } else if (record.type === 'checkpoint') {
      checkpoints.push(record);
    }
  }
  if (!check) return { ok: true, checked: 0, checkpoints_checked: 0 };
  return withCheckpoints(check, checkpoints, keyFor);
}

function withCheckpoints(check: ReturnType<typeof verifier>, checkpoints: Record<string, unknown>[],
  keyFor: (keyId: string) => string | undefined): VerificationResult {
  const chained = check.result();
  if (!chained.ok) return chained;
  let checkpointsChecked = 0;
  for (const checkpoint of checkpoints) {
    const key = keyFor(String(checkpoint.key_id));
    const single = verifier({ publicKey: key });
    single.checkpoint(checkpoint as never);
    if (!key || !single.result().ok) {
      return { ...chained, ok: false, first_bad_seq: Number(checkpoint.seq), problem: 'checkpoint signature is invalid' };
    }
    checkpointsChecked++;
  }
  // Hash of each checkpoint against the chain: a second verifier pass with the checkpoints fed in.
  const final = check;
  for (const checkpoint of checkpoints) final.checkpoint(checkpoint as never);
  const result = final.result();
  return result.ok ? { ...result, checkpoints_checked: checkpointsChecked } : result;
}

/** A filtered export is not a contiguous chain: each entry's hash is checked against its own prev_hash. */
async function verifyEach(lines: AsyncIterable<string>, first: Record<string, unknown>,
  keyFor: (keyId: string) => string | undefined): Promise<VerificationResult> {
  let checked = 0;
  const checkpoints: Record<string, unknown>[] = [];
  const one = (record: Record<string, unknown>) => {
    const v = verifier({ startHash: String(record.prev_hash) });
    v.entry(record as unknown as SealedEntry);
    return v.result();
  };
  let result = one(first);
  if (!result.ok) return result;
  checked++;
  for await (const line of lines) {
    if (!line.trim()) continue;
    const record = JSON.parse(line);
    if (record.type === 'checkpoint') checkpoints.push(record);
    if (record.type !== 'entry') continue;
    result = one(record);
    if (!result.ok) return { ...result, checked };
    checked++;
  }
  const keyed = checkpoints.filter((c) => {
    const single = verifier({ publicKey: keyFor(String(c.key_id)) });
    single.checkpoint(c as never);
    return single.result().ok;
  });
  if (keyed.length !== checkpoints.length) return { ok: false, checked, checkpoints_checked: keyed.length, problem: 'checkpoint signature is invalid' };
  return { ok: true, checked, checkpoints_checked: keyed.length };
}
