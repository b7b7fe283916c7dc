import { csvField } from '../common/csv';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Clock } from '../common/clock';
import { NoTurnLeft, Turns } from '../common/turns';
import { Stopping } from '../common/stopping';
import { runTaskThread } from '../common/threads';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { RateLimited, ValidationFailed } from '../common/errors/domain-errors';
import { Anchor, AuditFilter, AuditRepository, StoredEntry } from './audit.repository';
import { Checkpoint, checkpointDigest, ENTRY_FIELDS, EXPORT_FORMAT, exportEntryLine, GENESIS_HASH, SealedEntry, VerificationResult } from './chain';
import { CheckpointKeys } from './checkpoint-keys';
import { SegmentResult, SegmentTask, verifySegment } from './verify-segment';

const PAGE = 5000;
/** Ranges at least this long are verified in parallel segments. */
const PARALLEL_FROM = 50_000;
/** Segments verified at once, at most (each a worker thread with its own connection). */
const MAX_SEGMENTS = 4;
/**
 * Verifications waiting for their turn, at most; more are refused (429). One runs at a time per instance: each uses a
 * worker thread and a database connection per segment (up to 4, beside the pool), and the cores the lookups need.
 */
export const VERIFICATIONS_WAITING = 4;
/**
 * Pages of exports read from the database at once per instance: each export reads its pages through the pool the
 * lookups' audit appends use, one page ahead; however many auditors export at once, at most this many connections
 * are theirs. Exports take turns page by page, so none waits for another to finish.
 */
export const EXPORT_PAGES_AT_ONCE = 2;
/** How long an export waits for a client that takes nothing before it is ended. */
export const EXPORT_STALL_MS = 120_000;

/** An export ended because its client took nothing for EXPORT_STALL_MS (what the stream fails with). */
export class ExportStalled extends Error {
  override name = 'ExportStalled';
  constructor() {
    super('the export was ended: its client took nothing for too long');
  }
}
/** About how much of an export goes out at once (characters; a line is never cut). */
const EXPORT_CHUNK_CHARS = 64 * 1024;
const SEGMENT_WORKER = join(__dirname, 'verify-segment.js');

/**
 * Runs one segment in a worker thread (compiled build), or in this thread (tests run the TypeScript sources). When
 * `signal` aborts, the thread is stopped (its connection goes with it) and the promise rejects with the reason.
 */
function runSegment(task: SegmentTask, signal: AbortSignal): Promise<SegmentResult> {
  // A segment that could not be read rejects (503 when the database is out of reach): it is no broken chain.
  return existsSync(SEGMENT_WORKER) ? runTaskThread(SEGMENT_WORKER, task, signal) : verifySegment(task, signal);
}

/** The shape of an entry in answers and exports: the chain fields, seq as a number (null until sealed). */
export function presentEntry(entry: SealedEntry | StoredEntry) {
  const out: Record<string, unknown> = {};
  for (const field of ENTRY_FIELDS) out[field] = entry[field] ?? null;
  out.seq = entry.seq === null ? null : Number(entry.seq);
  out.occurred_at = new Date(entry.occurred_at).toISOString();
  out.prev_hash = entry.prev_hash;
  out.hash = entry.hash;
  return out;
}

function encodeCursor(entryId: number): string {
  return Buffer.from(`entry:${entryId}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const match = /^entry:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new ValidationFailed([{ field: 'cursor', reason: 'is not a cursor this API gave' }]);
  return Number(match[1]);
}

/** 429 rate_limited, as any throttle: what the console says of it differs (no one tried too often). */
export class VerificationsBusy extends RateLimited {
  constructor() {
    super(5, `A verification of the trail is running on this instance and ${VERIFICATIONS_WAITING} more are waiting; retry later.`);
  }
}

/** Search, export, verification and retention of the sealed audit trail. */
@Injectable()
export class AuditService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditService.name);
  private timer?: NodeJS.Timeout;
  /** One verification at a time, VERIFICATIONS_WAITING more waiting. */
  private readonly verifications = new Turns(1, VERIFICATIONS_WAITING);
  /** Pages of exports read at once, whatever the number of exports running (see EXPORT_PAGES_AT_ONCE). */
  private readonly exportPages = new Turns(EXPORT_PAGES_AT_ONCE);

  constructor(
    private readonly repository: AuditRepository,
    private readonly keys: CheckpointKeys,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly stopping: Stopping,
  ) {}

  onApplicationBootstrap(): void {
    // Manual sealing (AUDIT_SEAL_INTERVAL_MS=0, tests) also means manual retention: nothing moves on its own.
    if (this.config.audit.sealIntervalMs === 0) return;
    this.timer = setInterval(() => void this.purgeExpired().catch((error) =>
      this.logger.warn(`audit retention purge failed: ${(error as Error).name}`)), 3600_000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * Newest first, every committed entry: one not sealed yet is listed with `sealed: false` and null chain fields
   * (DESIGN §3.5). A page may hold fewer entries than asked and still a cursor: the search reads a bounded number
   * of rows per call, and goes on from where it stopped.
   */
  async search(filter: AuditFilter, cursor: string | undefined, limit = 100) {
    const { entries, scannedTo } = await this.repository.search(filter, decodeCursor(cursor), limit + 1);
    const page = entries.slice(0, limit);
    const next = entries.length > limit ? Number(page[page.length - 1].entry_id) : scannedTo;
    return {
      entries: page.map((entry): Record<string, unknown> => ({ ...presentEntry(entry), sealed: entry.seq !== null })),
      next_cursor: next === undefined ? null : encodeCursor(next),
    };
  }

  /** What the trail keeps: the retention period the purge applies, and what the latest purge removed (none yet: undefined). */
  async retention(): Promise<{ months: number; lastPurge?: Anchor }> {
    const [months, lastPurge] = await Promise.all([this.repository.retentionMonths(), this.repository.anchor()]);
    return { months, lastPurge };
  }

  async latestCheckpoint() {
    const checkpoint = await this.repository.latestCheckpoint();
    return checkpoint ? { ...checkpoint, public_key: this.keys.publicKeys()[checkpoint.key_id] } : null;
  }

  /**
   * The range in chain order, page by page (constant memory), each checkpoint right after the entry it seals,
   * then the first checkpoint beyond the range (which covers its last entries). The next page is fetched while
   * the current one is processed.
   */
  private async *walk(filter: AuditFilter): AsyncGenerator<{ entry?: SealedEntry; checkpoint?: Checkpoint }> {
    const read = (cursor: number) => this.exportPages.run(() => this.repository.page(filter, cursor, PAGE));
    let next = read(0);
    let last: number | undefined;
    try {
      for (;;) {
        const page = await next;
        if (page.length === PAGE) next = read(this.repository.cursorOf(filter, page[page.length - 1]));
        if (page.length === 0) break;
        // A filtered walk goes by entry id, whose order the seqs follow only roughly.
        const seqs = page.map((entry) => Number(entry.seq));
        const checkpoints = new Map((await this.repository.checkpoints(Math.min(...seqs), Math.max(...seqs))).map((c) => [c.seq, c]));
        for (const entry of page) {
          yield { entry };
          const checkpoint = checkpoints.get(Number(entry.seq));
          if (checkpoint) yield { checkpoint };
        }
        last = Math.max(last ?? 0, ...seqs);
        if (page.length < PAGE) break;
      }
    } finally {
      // Its client gone (the walk ended at a yield), the page read ahead is nobody's: its failure must not be an
      // unhandled rejection, which would end the process.
      next.catch(() => undefined);
    }
    if (last !== undefined) {
      for (const checkpoint of await this.repository.checkpoints(last + 1, Number.MAX_SAFE_INTEGER, 1)) yield { checkpoint };
    }
  }

  /**
   * Streams an export: NDJSON (a header line, `entry` and `checkpoint` lines) or CSV (one row per record). An export
   * whose client takes nothing for `stallMs` is ended (the stream fails with ExportStalled): it would hold the
   * retention purge off, and a connection, for as long as the client stays connected.
   */
  export(filter: AuditFilter, format: 'ndjson' | 'csv', { stallMs = EXPORT_STALL_MS } = {}): Readable {
    const publicKeys = this.keys.publicKeys();
    const contiguous = !filter.partnerId && !filter.agent && !filter.subjectRef && !filter.kind;
    const repository = this.repository;
    const self = this;
    let waitingSince: number | undefined;
    async function* lines(): AsyncGenerator<string> {
      // The retention purge waits until the export ends (or its client leaves): it would otherwise remove entries
      // the export has not reached, or leave the header's anchor older than the first entry, and the file would not
      // verify. Taken before the anchor is read.
      const release = await repository.holdTrail();
      const watchdog = setInterval(() => {
        if (waitingSince === undefined || performance.now() - waitingSince <= stallMs) return;
        self.logger.warn(`audit export ended: its client took nothing for ${Math.round(stallMs / 1000)} s (the file it has is cut short)`);
        stream.destroy(new ExportStalled());
      }, Math.min(stallMs / 4, 10_000));
      watchdog.unref();
      try {
        // Lines go out in chunks of about 64 KiB: one write (and one HTTP chunk) per line cost a fifth of the rate.
        let buffered = '';
        for await (const line of body()) {
          buffered += line;
          if (buffered.length < EXPORT_CHUNK_CHARS) continue;
          // Suspended here while the stream's buffer is full, until its client reads.
          waitingSince = performance.now();
          yield buffered;
          buffered = '';
          waitingSince = undefined;
        }
        if (buffered) yield buffered;
      } finally {
        clearInterval(watchdog);
        await release();
      }
    }
    async function* body(): AsyncGenerator<string> {
      const anchor = await repository.anchor();
      // A time range of the whole chain is exported as its contiguous seq range, so that it verifies.
      let range = filter;
      if (contiguous && (filter.from || filter.to)) {
        const seqs = await repository.seqRange(filter.from, filter.to);
        range = seqs ? { fromSeq: seqs.first, toSeq: seqs.last } : { fromSeq: 1, toSeq: 0 };
      }
      const walk = self.walk(range);
      if (format === 'ndjson') {
        yield JSON.stringify({ type: 'header', format: EXPORT_FORMAT, contiguous, public_keys: publicKeys,
          anchor: anchor ?? null, filter: { partner: filter.partnerId ?? null, from: filter.from?.toISOString() ?? null,
            to: filter.to?.toISOString() ?? null }, end_line: true }) + '\n';
      } else {
        yield ['record_type', ...ENTRY_FIELDS, 'prev_hash', 'hash', 'key_id', 'signature'].join(',') + '\r\n';
      }
      const counted = { entries: 0, checkpoints: 0, last_seq: null as number | null };
      for await (const { entry, checkpoint } of walk) {
        if (entry) {
          counted.entries++;
          counted.last_seq = Number(entry.seq);
          if (format === 'ndjson') {
            // The entry's canonical text as it is: verified offline without being parsed (chain.ts#exportLineHashed).
            yield exportEntryLine(entry) + '\n';
            continue;
          }
          const shown = presentEntry(entry);
          yield ['entry', ...ENTRY_FIELDS.map((f) => csvField(f === 'scopes_returned' ? (entry.scopes_returned ?? []).join(' ') || null : shown[f])),
            shown.prev_hash, shown.hash, '', ''].join(',') + '\r\n';
        } else if (checkpoint) {
          counted.checkpoints++;
          yield format === 'ndjson'
            ? JSON.stringify({ type: 'checkpoint', ...checkpoint }) + '\n'
            : ['checkpoint', checkpoint.seq, checkpoint.at, ...ENTRY_FIELDS.slice(2).map(() => ''), '', checkpoint.hash,
              checkpoint.key_id, checkpoint.signature].join(',') + '\r\n';
        }
      }
      // What the file holds, last: a file cut short between two lines (a stalled or interrupted export) lacks it.
      if (format === 'ndjson') yield JSON.stringify({ type: 'end', ...counted }) + '\n';
    }
    const stream = Readable.from(lines(), { objectMode: false });
    return stream;
  }

  /**
   * Recomputes the chain over a time range (all of it by default) and checks the checkpoints in it. A long
   * range is cut into segments verified in parallel worker threads; the junctions between them are checked here.
   * Auditors' verifications take turns (one at a time per instance, four waiting); a `background` one (the scheduled
   * run: one at a time across instances already, in one thread) does not take theirs, so that an auditor's answer
   * does not wait for a run of the whole trail, which may last an hour.
   */
  async verify(from?: Date, to?: Date, clientWaits?: AbortSignal, options: { threads?: number; background?: boolean } = {}): Promise<VerificationResult> {
    // Given up, waiting or running, when the client leaves (no one would read the answer) or the instance stops
    // (answered InstanceStopping at once rather than holding the stop until its deadline).
    const cancel = clientWaits ? AbortSignal.any([clientWaits, this.stopping.signal]) : this.stopping.signal;
    try {
      // The retention purge waits while a verification reads (it would see the trail's start removed under it).
      const verify = () => this.repository.whileReadingTrail(() => this.verifyNow(from, to, cancel, options.threads ?? MAX_SEGMENTS));
      if (options.background) {
        cancel.throwIfAborted();
        return await verify();
      }
      return await this.verifications.run(verify, cancel);
    } catch (error) {
      if (!(error instanceof NoTurnLeft)) throw error;
      throw new VerificationsBusy();
    }
  }

  /** Verifications waiting for their turn behind the one running. */
  verificationsQueued(): number {
    return this.verifications.waiting();
  }

  private async verifyNow(from: Date | undefined, to: Date | undefined, signal: AbortSignal, threads: number): Promise<VerificationResult> {
    const [anchor, range] = await Promise.all([this.repository.anchor(), this.repository.seqRange(from, to)]);
    if (!range) return { ok: true, checked: 0, checkpoints_checked: 0 };
    const expectedFirst = (anchor?.seq ?? 0) + 1;
    if (!from && range.first !== expectedFirst) {
      return { ok: false, checked: 0, checkpoints_checked: 0, first_bad_seq: expectedFirst, problem: 'the chain does not start where it should' };
    }
    const count = range.last - range.first + 1;
    const parts = count >= PARALLEL_FROM ? Math.min(availableParallelism(), threads) : 1;
    const size = Math.ceil(count / parts);
    const tasks = Array.from({ length: parts }, (_, i) => ({
      databaseUrl: this.config.databaseAppUrl!, publicKeys: this.keys.publicKeys(),
      fromSeq: range.first + i * size, toSeq: Math.min(range.last, range.first + (i + 1) * size - 1),
    }));
    const [results, checkpointBefore] = await Promise.all([Promise.all(tasks.map((task) => runSegment(task, signal))),
      this.repository.checkpointBefore(range.first)]);
    let checked = 0;
    let checkpointsChecked = 0;
    // The checkpoints chain across segments too: the first of each follows the last one before it.
    let lastCheckpoint: Checkpoint | undefined = checkpointBefore;
    for (let i = 0; i < results.length; i++) {
      const result = results[i];
      checked += result.checked;
      checkpointsChecked += result.checkpoints_checked;
      if (!result.ok) return { ok: false, checked, checkpoints_checked: checkpointsChecked, first_bad_seq: result.first_bad_seq, problem: result.problem };
      const expectedPrev = i > 0 ? results[i - 1].lastHash : from ? undefined : anchor?.hash ?? GENESIS_HASH;
      if (expectedPrev !== undefined && result.firstPrevHash !== undefined && result.firstPrevHash !== expectedPrev) {
        return { ok: false, checked, checkpoints_checked: checkpointsChecked, first_bad_seq: result.firstSeq,
          problem: 'prev_hash does not match the previous entry' };
      }
      const first = result.firstCheckpoint;
      if (first?.prev_checkpoint != null && (lastCheckpoint || !from) && first.prev_checkpoint !== checkpointDigest(lastCheckpoint)) {
        return { ok: false, checked, checkpoints_checked: checkpointsChecked, first_bad_seq: first.seq,
          problem: `checkpoint does not follow the checkpoint at seq ${lastCheckpoint?.seq ?? 0} (one was removed or replaced)` };
      }
      lastCheckpoint = result.lastCheckpoint ?? lastCheckpoint;
    }
    return { ok: true, checked, checkpoints_checked: checkpointsChecked };
  }

  /**
   * Applies the retention period: whole sealed segments older than it go (null: put off, the trail is being read).
   * The database computes the cutoff from the period its owner configured (AUDIT_RETENTION_MONTHS, applied at
   * start-up); nothing here can move it.
   */
  async purgeExpired(): Promise<number | null> {
    const removed = await this.repository.purge();
    if (removed === null) this.logger.log('retention: purge put off for an hour, the trail is being read (a verification or an export)');
    else if (removed > 0) this.logger.log(`retention: ${removed} audit entries past the retention period purged, anchor kept`);
    return removed;
  }
}
