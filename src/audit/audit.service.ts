import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { ValidationFailed } from '../common/errors/domain-errors';
import { AuditFilter, AuditRepository } from './audit.repository';
import { Checkpoint, ENTRY_FIELDS, GENESIS_HASH, SealedEntry, VerificationResult } from './chain';
import { CheckpointKeys } from './checkpoint-keys';
import { SegmentResult, SegmentTask, verifySegment } from './verify-segment';
import { APPLICATION_ROLE } from '../common/database/data-source';

const PAGE = 5000;
/** Ranges at least this long are verified in parallel segments. */
const PARALLEL_FROM = 50_000;
const SEGMENT_WORKER = join(__dirname, 'verify-segment.js');

/** Runs one segment in a worker thread (compiled build), or in this thread (tests run the TypeScript sources). */
function runSegment(task: SegmentTask): Promise<SegmentResult> {
  if (!existsSync(SEGMENT_WORKER)) return verifySegment(task);
  return new Promise((resolve, reject) => {
    const worker = new Worker(SEGMENT_WORKER, { workerData: task });
    worker.once('message', (result: SegmentResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}
export const EXPORT_FORMAT = 'api-droits-cnam-audit/1';

/** The shape of an entry in answers and exports: the chain fields, seq as a number. */
export function presentEntry(entry: SealedEntry) {
  const out: Record<string, unknown> = {};
  for (const field of ENTRY_FIELDS) out[field] = entry[field] ?? null;
  out.seq = Number(entry.seq);
  out.occurred_at = new Date(entry.occurred_at).toISOString();
  out.prev_hash = entry.prev_hash;
  out.hash = entry.hash;
  return out;
}

function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new ValidationFailed([{ field: 'cursor', reason: 'is not a cursor this API gave' }]);
  return Number(match[1]);
}

/**
 * One CSV field (RFC 4180). Text a partner typed that starts like a formula (=, +, -, @) is prefixed with an
 * apostrophe so that a spreadsheet opening the export does not run it (CSV injection); the NDJSON export,
 * the one verified, keeps every value as it is.
 */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Search, export, verification and retention of the sealed audit trail. */
@Injectable()
export class AuditService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditService.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repository: AuditRepository,
    private readonly keys: CheckpointKeys,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
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

  async search(filter: AuditFilter, cursor: string | undefined, limit = 100) {
    const entries = await this.repository.search(filter, decodeCursor(cursor), limit + 1);
    const page = entries.slice(0, limit);
    return {
      entries: page.map(presentEntry),
      next_cursor: entries.length > limit ? encodeCursor(Number(page[page.length - 1].seq)) : null,
    };
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
    let next = this.repository.page(filter, 0, PAGE);
    let last: number | undefined;
    for (;;) {
      const page = await next;
      if (page.length === PAGE) next = this.repository.page(filter, Number(page[page.length - 1].seq), PAGE);
      if (page.length === 0) break;
      const checkpoints = await this.repository.checkpoints(Number(page[0].seq), Number(page[page.length - 1].seq));
      let c = 0;
      for (const entry of page) {
        yield { entry };
        while (c < checkpoints.length && checkpoints[c].seq === Number(entry.seq)) yield { checkpoint: checkpoints[c++] };
      }
      last = Number(page[page.length - 1].seq);
      if (page.length < PAGE) break;
    }
    if (last !== undefined) {
      for (const checkpoint of await this.repository.checkpoints(last + 1, Number.MAX_SAFE_INTEGER, 1)) yield { checkpoint };
    }
  }

  /** Streams an export: NDJSON (a header line, `entry` and `checkpoint` lines) or CSV (one row per record). */
  export(filter: AuditFilter, format: 'ndjson' | 'csv'): Readable {
    const publicKeys = this.keys.publicKeys();
    const contiguous = !filter.partnerId && !filter.agent && !filter.subjectRef && !filter.kind;
    const repository = this.repository;
    const self = this;
    async function* lines(): AsyncGenerator<string> {
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
            to: filter.to?.toISOString() ?? null } }) + '\n';
      } else {
        yield ['record_type', ...ENTRY_FIELDS, 'prev_hash', 'hash', 'key_id', 'signature'].join(',') + '\r\n';
      }
      for await (const { entry, checkpoint } of walk) {
        if (entry) {
          const shown = presentEntry(entry);
          yield format === 'ndjson'
            ? JSON.stringify({ type: 'entry', ...shown }) + '\n'
            : ['entry', ...ENTRY_FIELDS.map((f) => csvField(f === 'scopes_returned' ? (entry.scopes_returned ?? []).join(' ') || null : shown[f])),
              shown.prev_hash, shown.hash, '', ''].join(',') + '\r\n';
        } else if (checkpoint) {
          yield format === 'ndjson'
            ? JSON.stringify({ type: 'checkpoint', ...checkpoint }) + '\n'
            : ['checkpoint', checkpoint.seq, checkpoint.at, ...ENTRY_FIELDS.slice(2).map(() => ''), '', checkpoint.hash,
              checkpoint.key_id, checkpoint.signature].join(',') + '\r\n';
        }
      }
    }
    return Readable.from(lines(), { objectMode: false });
  }

  /**
   * Recomputes the chain over a time range (all of it by default) and checks the checkpoints in it. A long
   * range is cut into segments verified in parallel worker threads; the junctions between them are checked here.
   */
  async verify(from?: Date, to?: Date): Promise<VerificationResult> {
    const [anchor, range] = await Promise.all([this.repository.anchor(), this.repository.seqRange(from, to)]);
    if (!range) return { ok: true, checked: 0, checkpoints_checked: 0 };
    const expectedFirst = (anchor?.seq ?? 0) + 1;
    if (!from && range.first !== expectedFirst) {
      return { ok: false, checked: 0, checkpoints_checked: 0, first_bad_seq: expectedFirst, problem: 'the chain does not start where it should' };
    }
    const count = range.last - range.first + 1;
    const parts = count >= PARALLEL_FROM ? Math.min(availableParallelism(), 4) : 1;
    const size = Math.ceil(count / parts);
    const tasks = Array.from({ length: parts }, (_, i) => ({
      databaseUrl: this.config.databaseUrl!, role: APPLICATION_ROLE, publicKeys: this.keys.publicKeys(),
      fromSeq: range.first + i * size, toSeq: Math.min(range.last, range.first + (i + 1) * size - 1),
    }));
    const results = await Promise.all(tasks.map((task) => runSegment(task)));
    let checked = 0;
    let checkpointsChecked = 0;
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
    }
    return { ok: true, checked, checkpoints_checked: checkpointsChecked };
  }

  /** Applies the retention period: whole sealed segments older than AUDIT_RETENTION_MONTHS go. */
  async purgeExpired(cutoff?: Date): Promise<number> {
    const limit = cutoff ?? new Date(this.clock.now().getTime());
    if (!cutoff) limit.setUTCMonth(limit.getUTCMonth() - this.config.audit.retentionMonths);
    const removed = await this.repository.purge(limit);
    if (removed > 0) this.logger.log(`retention: ${removed} audit entries older than ${limit.toISOString()} purged, anchor kept`);
    return removed;
  }
}
