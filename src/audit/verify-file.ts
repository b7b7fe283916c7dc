import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { runTaskThread } from '../common/threads';
import { Checkpoint, checkpointDigest, checkpointSignatureValid, EXPORT_FORMAT, VerificationResult } from './chain';
import { AFTER_END, ChunkResult, ChunkTask, ExportEnd, ExportHeader, linesFrom, verifyChunk } from './verify-file-chunk';

/** A checkpoint saved earlier from GET /v1/audit/checkpoints/latest (its JSON as served, public_key included). */
export type SavedCheckpoint = Checkpoint & { public_key?: string };

/** What became of each saved checkpoint: its entry's hash in the export matches it, differs, or is not in the export. */
export interface SavedCheckpointCheck {
  seq: number;
  at: string;
  status: 'matches' | 'differs' | 'not_in_export' | 'bad_signature';
}

/**
 * A verified export, and what its signatures prove: `signed_through_seq` is the last entry a signed checkpoint (in the
 * file, or saved earlier and given) matched — it and every entry before it in the file cannot have been changed,
 * removed or reordered unnoticed. The `unsigned_entries` after it (or all of a filtered export's, whose entries are
 * each checked on their own) only link by hash: whoever rewrites them and recomputes the hashes goes unnoticed offline.
 */
export type FileVerification = VerificationResult & {
  saved_checkpoints?: SavedCheckpointCheck[];
  contiguous?: boolean;
  signed_through_seq?: number | null;
  unsigned_entries?: number;
  /** True: the file's end line counts what it holds (nothing cut off its end); null: an export made before end lines. */
  complete?: true | null;
};

/** What a verified file's signatures reach (see FileVerification): the last entry a checkpoint in it matched (-Infinity: none). */
interface Coverage {
  contiguous: boolean;
  signedThrough: number;
  lastSeq?: number;
  complete: true | null;
}

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

/**
 * Verifies an NDJSON export offline, line by line (constant memory): gapless seq, prev_hash links, hashes,
 * and each checkpoint's signature and hash. The public key is the one given (pinned from
 * GET /v1/audit/checkpoints/latest), else the export's own. A filtered export (one partner's entries) is not a
 * contiguous chain: each entry is then checked against its own prev_hash, and checkpoints by signature.
 */
export async function verifyExportFile(path: string, pinnedPublicKey?: string, saved: SavedCheckpoint[] = [],
  options: FileVerificationOptions = {}): Promise<FileVerification> {
  // Each saved checkpoint, by seq, is compared with the export's entry at that seq as the file streams by.
  const checks = new Map<number, SavedCheckpointCheck & { hash: string }>();
  for (const checkpoint of saved) {
    const key = pinnedPublicKey ?? checkpoint.public_key;
    checks.set(Number(checkpoint.seq), { seq: Number(checkpoint.seq), at: checkpoint.at, hash: checkpoint.hash,
      status: key && checkpointSignatureValid(checkpoint, key) ? 'not_in_export' : 'bad_signature' });
  }
  const { result, seen, coverage } = await verifyLines(path, pinnedPublicKey, [...checks.keys()], options);
  for (const [seq, hash] of seen) {
    const check = checks.get(seq);
    if (check && check.status !== 'bad_signature') check.status = check.hash === hash ? 'matches' : 'differs';
  }
  const savedChecks = [...checks.values()].sort((a, b) => a.seq - b.seq).map(({ hash: _hash, ...check }) => check);
  const withSaved = saved.length === 0 ? result : { ...result, saved_checkpoints: savedChecks };
  const unsigned = savedChecks.find((check) => check.status === 'bad_signature');
  if (unsigned) {
    return { ...withSaved, ok: false, first_bad_seq: unsigned.seq,
      problem: `the checkpoint saved for seq ${unsigned.seq} is not validly signed (check the file and the public key)` };
  }
  const differs = savedChecks.find((check) => check.status === 'differs');
  if (differs && (result.ok || (result.first_bad_seq ?? Infinity) > differs.seq)) {
    const before = savedChecks.filter((check) => check.status === 'matches' && check.seq < differs.seq).pop();
    return { ...withSaved, ok: false, first_bad_seq: differs.seq,
      problem: `the entry at seq ${differs.seq} does not have the hash of the checkpoint saved at ${differs.at}: the history `
        + `up to it was rewritten${before ? ` after seq ${before.seq}, whose saved checkpoint matches` : ''}` };
  }
  if (!result.ok || !coverage) return withSaved;
  // In a whole chain, a saved checkpoint that matches covers every entry before it, as one in the file does.
  const signedThrough = coverage.contiguous
    ? Math.max(coverage.signedThrough, ...savedChecks.filter((check) => check.status === 'matches').map((check) => check.seq))
    : -Infinity;
  const covered = Number.isFinite(signedThrough);
  return { ...withSaved, contiguous: coverage.contiguous, signed_through_seq: covered ? signedThrough : null,
    unsigned_entries: covered && coverage.lastSeq !== undefined ? coverage.lastSeq - signedThrough : result.checked,
    complete: coverage.complete };
}

/**
 * Why a file whose header announces an end line is not whole: the end line missing (the file was cut short between
 * two lines: a stalled or interrupted download), or counting other records than the file holds.
 */
function incomplete(end: ExportEnd | undefined, records: { entries: number; checkpoints: number }, lastSeq: number | undefined): string | undefined {
  if (!end) return 'the file ends before its end line: it was cut short (export it again)';
  if (end.entries !== records.entries || end.checkpoints !== records.checkpoints || end.last_seq !== (lastSeq ?? null)) {
    return `the end line counts ${end.entries} entries and ${end.checkpoints} checkpoints up to seq ${end.last_seq}, `
      + `the file holds ${records.entries} and ${records.checkpoints} up to seq ${lastSeq ?? null}: lines were removed or added`;
  }
  return undefined;
}

/** Exports at least this large are verified in parts, one per core (up to 4), each in a worker thread. */
const PARALLEL_FROM_BYTES = 8 * 1024 * 1024;
const CHUNK_WORKER = join(__dirname, 'verify-file-chunk.js');

export interface FileVerificationOptions {
  /** Parts to cut the file into (default: one per core, up to 4, for files of 8 MiB or more; else 1). */
  parts?: number;
  /** The compiled chunk worker; without one (the TypeScript sources), the parts run one after another here. */
  worker?: string | null;
}

/** Runs one part in a worker thread, or in this thread without a compiled worker. */
function runChunk(task: ChunkTask, worker: string | null): Promise<ChunkResult> {
  return worker ? runTaskThread(worker, task) : verifyChunk(task);
}

/** The header line, if the file starts with one (blank lines aside): it and the byte where the body starts. */
async function readHeader(path: string): Promise<{ header?: ExportHeader; bodyStart: number; lines: number }> {
  let lines = 0;
  for await (const { text, offset } of linesFrom(path, 0)) {
    lines++;
    if (!text.trim()) continue;
    let record: ExportHeader | undefined;
    try {
      record = JSON.parse(text);
    } catch {
      record = undefined;
    }
    return record?.type === 'header' ? { header: record, bodyStart: offset + Buffer.byteLength(text) + 1, lines } : { bodyStart: 0, lines: 0 };
  }
  return { bodyStart: 0, lines: 0 };
}

/**
 * Cuts the export into parts verified at once (verify-file-chunk.ts), then checks what joins them, in file order,
 * so that the answer is the one a single pass gives: the first failure and where it is.
 */
async function verifyLines(path: string, pinnedPublicKey: string | undefined, savedSeqs: number[],
  options: FileVerificationOptions): Promise<{ result: VerificationResult; seen: Map<number, string>; coverage?: Coverage }> {
  const worker = options.worker === undefined ? (existsSync(CHUNK_WORKER) ? CHUNK_WORKER : null) : options.worker;
  const size = statSync(path).size;
  const { header, bodyStart, lines: headerLines } = await readHeader(path);
  if (header && header.format !== EXPORT_FORMAT) {
    return { result: { ok: false, checked: 0, checkpoints_checked: 0, problem: 'unknown export format' }, seen: new Map() };
  }
  if (!header) {
    // Every export starts with its header, which says whether the chain is whole; without it nothing links the entries.
    return { result: { ok: false, checked: 0, checkpoints_checked: 0,
      problem: 'no header line: not an export of this gateway (its first line is the header)' }, seen: new Map() };
  }
  const parts = options.parts ?? (size >= PARALLEL_FROM_BYTES ? Math.min(availableParallelism(), 4) : 1);
  const step = Math.ceil((size - bodyStart) / parts);
  const tasks: ChunkTask[] = Array.from({ length: parts }, (_, i) => ({ kind: 'verify-file-chunk', path,
    start: bodyStart + i * step, end: i === parts - 1 ? Infinity : bodyStart + (i + 1) * step, first: i === 0,
    header, pinnedPublicKey, savedSeqs }));
  const results = await Promise.all(tasks.map((task) => runChunk(task, worker)));

  const seen = new Map<number, string>();
  let checked = 0;
  let checkpointsChecked = 0;
  let lineNumber = headerLines;
  let previous: { seq: number; hash: string } | undefined;
  let previousCheckpoint: Checkpoint | undefined;
  let ahead: number | undefined;
  let end: ExportEnd | undefined;
  const records = { entries: 0, checkpoints: 0 };
  const contiguous = header.contiguous === true;
  for (const part of results) {
    // A failure at the cut: what a single pass would have seen of this part by then is the entries up to `upTo`.
    const failed = (result: Partial<VerificationResult>, upTo?: number) => {
      if (upTo !== undefined) for (const [seq, hash] of part.seen) if (seq <= upTo) seen.set(seq, hash);
      return { result: { ok: false, checked, checkpoints_checked: checkpointsChecked, ...result } as VerificationResult, seen };
    };
    const first = part.firstEntry;
    // A later part starts at an entry line: after the end line, as a single pass finds it.
    if (end && first) return failed({ problem: AFTER_END });
    if (contiguous && ahead !== undefined && first) {
      // A checkpoint ended the part before for an entry that comes later: out of place, as a single pass finds.
      return failed({ checked: checked + 1, first_bad_seq: ahead, problem: 'checkpoint out of place: before the entry it seals' }, first.seq);
    }
    if (contiguous && previous && first) {
      // The link across the cut, checked as the single pass checks each entry: seq, then prev_hash.
      if (first.seq !== previous.seq + 1) {
        return failed({ checked: checked + 1, first_bad_seq: Math.min(first.seq, previous.seq + 1),
          problem: first.seq <= previous.seq ? 'seq out of order' : `seq gap after ${previous.seq}` }, first.seq);
      }
      if (first.prev_hash !== previous.hash) {
        return failed({ checked: checked + 1, first_bad_seq: first.seq, problem: 'prev_hash does not match the previous entry' }, first.seq);
      }
    }
    const link = part.firstCheckpoint;
    if (previousCheckpoint && link?.prev_checkpoint != null && link.prev_checkpoint !== checkpointDigest(previousCheckpoint)) {
      return failed({ checked: checked + part.result.checked, first_bad_seq: Number(link.seq),
        problem: `checkpoint does not follow the checkpoint at seq ${previousCheckpoint.seq} (one was removed or replaced)` }, Number(link.seq));
    }
    for (const [seq, hash] of part.seen) seen.set(seq, hash);
    checked += part.result.checked;
    checkpointsChecked += part.result.checkpoints_checked;
    if (part.badLine !== undefined) {
      return failed({ problem: `line ${lineNumber + part.badLine} is not JSON` });
    }
    if (!part.result.ok) return failed({ first_bad_seq: part.result.first_bad_seq, problem: part.result.problem });
    lineNumber += part.lines;
    if (part.lastEntry) previous = part.lastEntry;
    if (part.lastCheckpoint) previousCheckpoint = part.lastCheckpoint;
    if (part.firstEntry || part.ahead !== undefined) ahead = part.ahead;
    records.entries += part.records.entries;
    records.checkpoints += part.records.checkpoints;
    end ??= part.end;
  }
  const lastSeq = results.reduce<number | undefined>((last, part) => part.lastEntry?.seq ?? last, undefined);
  const unfinished = header.end_line ? incomplete(end, records, lastSeq) : undefined;
  if (unfinished) return { result: { ok: false, checked, checkpoints_checked: checkpointsChecked, problem: unfinished }, seen };
  return { result: { ok: true, checked, checkpoints_checked: checkpointsChecked }, seen,
    coverage: { contiguous, signedThrough: Math.max(...results.map((part) => part.signedThrough ?? -Infinity)), lastSeq,
      complete: header.end_line ? true : null } };
}
