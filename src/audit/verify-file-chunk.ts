import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { reply } from '../common/threads';
import { Checkpoint, EXPORT_FORMAT, exportLineHashed, GENESIS_HASH, SealedEntry, VerificationResult, verifier } from './chain';

/** An export's header line (the fields verification uses). */
export interface ExportHeader {
  type?: 'header';
  format?: string;
  contiguous?: boolean;
  public_keys?: Record<string, string>;
  anchor?: { hash: string; seq: number } | null;
  /** The file ends with an `end` line counting its records (exports made before it have none). */
  end_line?: boolean;
}

/** An export's last line: what the file holds, so that a file cut short between two lines shows as such. */
export interface ExportEnd {
  entries: number;
  checkpoints: number;
  last_seq: number | null;
}

/**
 * One part of an NDJSON export, verified on its own (verify-file.ts cuts the file and checks the junctions): the
 * lines from byte `start` to byte `end`, moved to whole lines so that every part but the first begins with an entry
 * line (a checkpoint stays with the entry it follows). Each part reads past its end until the next entry line.
 */
export interface ChunkTask {
  kind: 'verify-file-chunk';
  path: string;
  start: number;
  /** Where the next part starts (its first entry line at or after this byte); Infinity for the last part. */
  end: number;
  /** The first part: it checks the chain's start (genesis or the purge's anchor) and any header line it meets. */
  first: boolean;
  /** The header already read (by the caller, before the parts); undefined when the first part reads it itself. */
  header?: ExportHeader;
  pinnedPublicKey?: string;
  /** Seqs of saved checkpoints: the part reports the hash it found at each. */
  savedSeqs: number[];
}

export interface ChunkResult {
  result: VerificationResult;
  /** The part's failing line, counted from its first line, when that line is not JSON. */
  badLine?: number;
  /** Lines the part read (its own), to number a bad line in the whole file. */
  lines: number;
  header?: ExportHeader;
  firstEntry?: { seq: number; prev_hash: string };
  lastEntry?: { seq: number; hash: string };
  firstCheckpoint?: Checkpoint;
  lastCheckpoint?: Checkpoint;
  /** The hash of the entry at each saved checkpoint's seq, for those in this part (up to its failure). */
  seen: [number, string][];
  /** A checkpoint at the part's end for an entry not in it: no entry may come after it (chain.ts#verifier). */
  ahead?: number;
  /** The last entry of the part a signed checkpoint matched (contiguous exports). */
  signedThrough?: number;
  /** Entry and checkpoint lines the part holds (up to its failure). */
  records: { entries: number; checkpoints: number };
  /** The file's end line, when it is in this part (nothing but blank lines after it). */
  end?: ExportEnd;
}

const NEWLINE = 0x0a;
/** What an entry line verified on the fast path stands for (its fields are exportLineHashed's answer). */
const HASHED: Record<string, unknown> = Object.freeze({ type: 'entry' });

export const AFTER_END = 'a line after the end line';

/** Lines of the file from `start` (whole lines only: the one `start` falls in is skipped) with their start offsets. */
export async function* linesFrom(path: string, start: number): AsyncGenerator<{ text: string; offset: number }> {
  let carry: Buffer | undefined;
  let position = Math.max(0, start - 1);
  // From start - 1: if that byte ends a line, the line at `start` is whole; otherwise the partial line is dropped.
  let skipping = start > 0;
  for await (const chunk of createReadStream(path, { start: position, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    const base = position - (carry?.length ?? 0);
    position += chunk.length;
    let from = 0;
    for (let at = buffer.indexOf(NEWLINE, from); at !== -1; at = buffer.indexOf(NEWLINE, from)) {
      if (skipping) skipping = false;
      else yield { text: buffer.toString('utf8', from, at), offset: base + from };
      from = at + 1;
    }
    carry = from < buffer.length ? buffer.subarray(from) : undefined;
    buffer = undefined as unknown as Buffer;
  }
  if (carry && !skipping) yield { text: carry.toString('utf8'), offset: position - carry.length };
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Verifies one part as the whole file was verified line by line before parts existed (constant memory): gapless
 * seq, prev_hash links, hashes, each checkpoint's signature, its hash against its entry and its link to the one
 * before; in a filtered (not contiguous) export, each entry on its own. The first failure ends the part.
 */
export async function verifyChunk(task: ChunkTask): Promise<ChunkResult> {
  let header = task.header;
  let check: ReturnType<typeof verifier> | undefined;
  let checked = 0;
  let lines = 0;
  let started = task.first;
  let firstEntry: ChunkResult['firstEntry'];
  let lastEntry: ChunkResult['lastEntry'];
  let firstCheckpoint: Checkpoint | undefined;
  let lastCheckpoint: Checkpoint | undefined;
  /** A checkpoint met before the first entry of a contiguous export. */
  let leading: number | undefined;
  /** Checkpoints checked outside a chain (a filtered export's, or before the first entry): by signature only. */
  let loose = 0;
  const saved = new Set(task.savedSeqs);
  const seen: [number, string][] = [];
  const records = { entries: 0, checkpoints: 0 };
  let end: ExportEnd | undefined;
  const done = (result: VerificationResult, badLine?: number): ChunkResult =>
    ({ result, badLine, lines, header, firstEntry, lastEntry, firstCheckpoint, lastCheckpoint, seen, ahead: check ? check.ahead() : leading,
      signedThrough: check?.signedThrough(), records, end });
  /** A failure found outside the verifier: with what it had checked so far. */
  const failure = (problem?: string, firstBadSeq?: number): VerificationResult => ({ ok: false,
    checked: check ? check.result().checked : checked, checkpoints_checked: check?.result().checkpoints_checked ?? loose,
    ...(firstBadSeq === undefined ? {} : { first_bad_seq: firstBadSeq }), ...(problem === undefined ? {} : { problem }) });

  for await (const { text, offset } of linesFrom(task.path, task.start)) {
    // An entry line laid out as the gateway writes it, whose hash holds over its own text, needs no parsing.
    const hashed = exportLineHashed(text);
    const blank = !hashed && !text.trim();
    const record = blank ? undefined : hashed ? HASHED : parse(text);
    const beyond = offset >= task.end;
    if (!started || beyond) {
      // Before this part's first entry line the lines are the previous part's; from the next part's first entry
      // line on, the next part's.
      const isEntry = record?.type === 'entry';
      if (beyond && isEntry) break;
      if (!started) {
        if (!isEntry) continue;
        started = true;
      }
    }
    lines++;
    if (blank) continue;
    if (!record) return done(failure(), lines);
    // The end line is the last: a line after it was added, or the end line moved up.
    if (end) return done(failure(AFTER_END));
    if (record.type === 'end') {
      end = { entries: Number(record.entries), checkpoints: Number(record.checkpoints), last_seq: record.last_seq == null ? null : Number(record.last_seq) };
      continue;
    }
    if (record.type === 'header') {
      if (record.format !== EXPORT_FORMAT) return done(failure('unknown export format'));
      // One header, first: a second one further down would change how the lines after it are read.
      if (header || checked > 0 || check) return done(failure('a header line after the first line'));
      header = record as ExportHeader;
      continue;
    }
    if (record.type === 'entry') {
      const entry = hashed ?? (record as unknown as SealedEntry);
      const seq = Number(entry.seq);
      records.entries++;
      if (saved.has(seq)) seen.push([seq, entry.hash]);
      firstEntry ??= { seq, prev_hash: entry.prev_hash };
      lastEntry = { seq, hash: entry.hash };
      if (!header?.contiguous) {
        const single = verifier({ startHash: entry.prev_hash });
        single.entry(entry, hashed !== undefined);
        const result = single.result();
        if (!result.ok) return done({ ...result, checked: checked + 1 });
        checked++;
        continue;
      }
      if (!check) {
        // The chain's start is checked here; a later part's first link, by the caller against the part before.
        const startHash = !task.first ? undefined : seq === 1 ? GENESIS_HASH
          : header.anchor && seq === header.anchor.seq + 1 ? header.anchor.hash : undefined;
        check = verifier({ startHash });
        if (leading !== undefined) {
          return done({ ok: false, checked: 1, checkpoints_checked: 0, first_bad_seq: leading,
            problem: 'checkpoint out of place: before the entry it seals' });
        }
      }
      check.entry(entry, hashed !== undefined);
    } else if (record.type === 'checkpoint') {
      const checkpoint = record as unknown as Checkpoint;
      records.checkpoints++;
      const key = task.pinnedPublicKey ?? header?.public_keys?.[checkpoint.key_id];
      if (!key) {
        return done(failure('checkpoint signed by an unknown key', Number(checkpoint.seq)));
      }
      const target = check ?? verifier({});
      target.checkpoint(checkpoint, key);
      if (!check && header?.contiguous && !target.failed()) leading ??= Number(checkpoint.seq);
      if (!target.failed()) {
        firstCheckpoint ??= checkpoint;
        lastCheckpoint = checkpoint;
      }
      if (!check && target.failed()) return done({ ...target.result(), checked, checkpoints_checked: loose });
      if (!check) loose++;
    }
    if (check?.failed()) return done(check.result());
  }
  return done(check ? check.result() : { ok: true, checked, checkpoints_checked: loose });
}

if (parentPort && (workerData as ChunkTask | undefined)?.kind === 'verify-file-chunk') reply(parentPort, verifyChunk(workerData as ChunkTask));
