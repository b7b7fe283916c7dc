import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database, Transaction } from '../common/database/database';
import { chainHash, GENESIS_HASH, SealedEntry } from './chain';
import { CheckpointKeys } from './checkpoint-keys';

const SEALER_LOCK = 4_711_001;
// Small enough that hashing one batch holds the event loop for a few milliseconds only (the sealer shares
// the process with the request path), large enough to amortise the round trips.
const BATCH = 2000;

/**
 * Seals queued entries into the chain: one sealer at a time across all instances (a transaction-scoped
 * advisory lock), pending entries taken as a queue (the oldest ids still queued, moved by audit_seal; never an `id >` cursor, so an entry
 * whose INSERT commits late is simply sealed in a later round), seq gapless, hash = SHA-256(prev ‖ entry).
 * Signs a checkpoint every AUDIT_CHECKPOINT_EVERY entries or AUDIT_CHECKPOINT_SECONDS seconds.
 */
@Injectable()
export class AuditSealer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditSealer.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly db: Database,
    private readonly keys: CheckpointKeys,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.audit.sealIntervalMs === 0) return;
    this.timer = setInterval(() => void this.sealPending().catch((error) =>
      this.logger.warn(`sealing failed: ${(error as { code?: string }).code ?? (error as Error).name}`)), this.config.audit.sealIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Seals everything pending now; returns how many entries were sealed. */
  sealPending(): Promise<number> {
    this.running ??= this.sealAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sealAll(): Promise<number> {
    let total = 0;
    // Within one run, later batches start after the last id taken, so that they do not re-scan the index entries
    // of rows just moved. Each run starts from the beginning of the queue again, so an entry whose INSERT
    // committed late (a lower id, seen only now) is sealed by the next run, never skipped.
    let after: string | undefined;
    for (;;) {
      const batch = await this.db.transaction((tx) => this.sealBatch(tx, after));
      if (batch.sealed < 0) return total; // another instance holds the sealer lock
      total += batch.sealed;
      after = batch.lastId;
      if (batch.sealed < BATCH) break;
    }
    return total;
  }

  private async sealBatch(tx: Transaction, after: string | undefined): Promise<{ sealed: number; lastId?: string }> {
    const [{ locked }] = await this.db.rows<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [SEALER_LOCK], tx);
    if (!locked) return { sealed: -1 };
    // Safe without waiting for the WAL flush: if a crash loses this commit, the entries are still queued and the
    // next run seals them again, in the same order, to the same hashes.
    await this.db.rows(`SET LOCAL synchronous_commit = off`, [], tx);
    const head = await this.head(tx);
    // Read the oldest queued entries (one sealer at a time: no row locks needed), in the chain's own encoding.
    const taken = await this.db.rows<SealedEntry & { id: string }>(
      `SELECT id::text AS id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, kind,
         partner_id, recipient, agent, context, object, operator_id, action, target, detail, subject_ref,
         array_to_json(scopes_returned)::text AS scopes_returned, outcome, http_status, request_id, upstream_ms
       FROM audit_queue WHERE audit_queue.id > $2 ORDER BY audit_queue.id LIMIT $1`, [BATCH, after ?? '0'], tx);
    const now = this.clock.now();
    if (taken.length > 0) {
      let { seq, hash } = head;
      const ids: string[] = [];
      const seqs: number[] = [];
      const prevHashes: string[] = [];
      const hashes: string[] = [];
      for (const entry of taken) {
        const scopes = entry.scopes_returned as unknown as string | null;
        entry.scopes_returned = scopes === null ? null : JSON.parse(scopes);
        entry.seq = ++seq;
        const entryHash = chainHash(hash, entry);
        ids.push(entry.id);
        seqs.push(seq);
        prevHashes.push(hash);
        hashes.push(entryHash);
        hash = entryHash;
      }
      await this.db.rows('SELECT audit_seal($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5)', [ids, seqs, prevHashes, hashes, now], tx);
      head.seq = seq;
      head.hash = hash;
    }
    await this.checkpointIfDue(head, now, tx);
    return { sealed: taken.length, lastId: taken[taken.length - 1]?.id };
  }

  /** The last sealed entry (or the anchor a purge left, or the genesis). */
  private async head(tx: Transaction): Promise<{ seq: number; hash: string }> {
    const last = await this.db.one<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1', [], tx)
      ?? await this.db.one<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1', [], tx);
    return last ? { seq: Number(last.seq), hash: last.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  private async checkpointIfDue(head: { seq: number; hash: string }, now: Date, tx: Transaction): Promise<void> {
    if (head.seq === 0) return;
    const last = await this.db.one<{ seq: string; at: Date }>('SELECT seq, at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1', [], tx);
    const lastSeq = last ? Number(last.seq) : 0;
    if (lastSeq >= head.seq) return;
    const due = head.seq - lastSeq >= this.config.audit.checkpointEvery
      || !last || now.getTime() - last.at.getTime() >= this.config.audit.checkpointSeconds * 1000;
    if (!due) return;
    const checkpoint = this.keys.sign({ seq: head.seq, hash: head.hash, at: now.toISOString() });
    await this.db.rows('INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5)',
      [checkpoint.seq, checkpoint.hash, checkpoint.at, checkpoint.key_id, checkpoint.signature], tx);
  }
}
