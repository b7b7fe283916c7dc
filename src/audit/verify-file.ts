import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Checkpoint, GENESIS_HASH, SealedEntry, VerificationResult, verifier } from './chain';
import { EXPORT_FORMAT } from './audit.service';

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
export async function verifyExportFile(path: string, pinnedPublicKey?: string): Promise<VerificationResult> {
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
