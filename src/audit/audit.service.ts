import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Readable } from 'node:stream';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { ValidationFailed } from '../common/errors/domain-errors';
import { AuditFilter, AuditRepository } from './audit.repository';
import { ENTRY_FIELDS, GENESIS_HASH, SealedEntry, VerificationResult, verifier } from './chain';
import { CheckpointKeys } from './checkpoint-keys';

const PAGE = 5000;
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

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
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
   * Streams the entries of the range in chain order (pages of 5,000: constant memory), then the checkpoints
   * that cover it. NDJSON: a header line, `entry` lines, `checkpoint` lines. CSV: one row per record.
   */
  export(filter: AuditFilter, format: 'ndjson' | 'csv'): Readable {
    const repository = this.repository;
    const publicKeys = this.keys.publicKeys();
    const contiguous = !filter.partnerId && !filter.agent && !filter.subjectRef && !filter.kind;
    async function* lines(): AsyncGenerator<string> {
      const anchor = await repository.anchor();
      let first: number | undefined;
      let last = 0;
      let after = 0;
      if (format === 'ndjson') {
        yield JSON.stringify({ type: 'header', format: EXPORT_FORMAT, contiguous, public_keys: publicKeys,
          anchor: anchor ?? null, filter: { partner: filter.partnerId ?? null, from: filter.from?.toISOString() ?? null,
            to: filter.to?.toISOString() ?? null } }) + '\n';
      } else {
        yield ['record_type', ...ENTRY_FIELDS, 'prev_hash', 'hash', 'key_id', 'signature'].join(',') + '\r\n';
      }
      for (;;) {
        const page = await repository.page(filter, after, PAGE);
        for (const entry of page) {
          const shown = presentEntry(entry);
          first ??= Number(entry.seq);
          last = Number(entry.seq);
          yield format === 'ndjson'
            ? JSON.stringify({ type: 'entry', ...shown }) + '\n'
            : ['entry', ...ENTRY_FIELDS.map((f) => csvField(f === 'scopes_returned' ? (entry.scopes_returned ?? []).join(' ') || null : shown[f])),
              shown.prev_hash, shown.hash, '', ''].join(',') + '\r\n';
        }
        if (page.length < PAGE) break;
        after = Number(page[page.length - 1].seq);
      }
      if (first === undefined) return;
      // The checkpoints inside the range, and the first one after it, which covers its last entries.
      const covering = [...await repository.checkpoints(first, last), ...await repository.checkpoints(last + 1, Number.MAX_SAFE_INTEGER, 1)];
      for (const checkpoint of covering) {
        yield format === 'ndjson'
          ? JSON.stringify({ type: 'checkpoint', ...checkpoint }) + '\n'
          : ['checkpoint', checkpoint.seq, checkpoint.at, ...ENTRY_FIELDS.slice(2).map(() => ''), '', checkpoint.hash,
            checkpoint.key_id, checkpoint.signature].join(',') + '\r\n';
      }
    }
    return Readable.from(lines(), { objectMode: false });
  }

  /** Recomputes the chain over a time range (all of it by default) and checks the checkpoints in it. */
  async verify(from?: Date, to?: Date): Promise<VerificationResult> {
    const anchor = await this.repository.anchor();
    let check: ReturnType<typeof verifier> | undefined;
    let after = 0;
    let first: number | undefined;
    let last = 0;
    for (;;) {
      const page = await this.repository.page({ from, to }, after, PAGE);
      for (const entry of page) {
        if (!check) {
          // From the start of the chain the first prev_hash is known; from inside it, it is taken as given.
          const startHash = from ? entry.prev_hash : anchor?.hash ?? GENESIS_HASH;
          check = verifier({ startHash, publicKey: undefined });
          first = Number(entry.seq);
          if (!from && Number(entry.seq) !== (anchor?.seq ?? 0) + 1) {
            return { ok: false, checked: 0, checkpoints_checked: 0, first_bad_seq: (anchor?.seq ?? 0) + 1, problem: 'the chain does not start where it should' };
          }
        }
        check.entry(entry);
        last = Number(entry.seq);
      }
      if (page.length < PAGE) break;
      after = Number(page[page.length - 1].seq);
    }
    if (!check || first === undefined) return { ok: true, checked: 0, checkpoints_checked: 0 };
    const result = check.result();
    if (!result.ok) return result;
    // Checkpoints: each signature against its key, each hash against the chain.
    let checkpointsChecked = 0;
    for (const checkpoint of await this.repository.checkpoints(first, last)) {
      const key = this.keys.publicKey(checkpoint.key_id);
      const single = verifier({ publicKey: key });
      single.checkpoint(checkpoint);
      const checked = single.result();
      if (!key || !checked.ok) return { ...result, ok: false, first_bad_seq: checkpoint.seq, problem: 'checkpoint signature is invalid' };
      const entry = (await this.repository.page({}, checkpoint.seq - 1, 1))[0];
      if (!entry || Number(entry.seq) !== checkpoint.seq || entry.hash !== checkpoint.hash) {
        return { ...result, ok: false, first_bad_seq: checkpoint.seq, problem: 'checkpoint hash does not match the chain' };
      }
      checkpointsChecked++;
    }
    return { ...result, checkpoints_checked: checkpointsChecked };
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
