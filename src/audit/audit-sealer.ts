import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { PoolClient } from 'pg';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { OutageLog } from '../common/logging/outage-log';
import { Metrics } from '../common/metrics';
import { Checkpoint, CHECKPOINT_COLUMNS, checkpointDigest, checkpointPayload, checkpointSignatureValid, GENESIS_HASH } from './chain';
import { CheckpointKeys } from './checkpoint-keys';
import { ChainedBatch, Head, SEAL_BATCH_SIZE } from './seal-batch';
import { SealThread } from './seal-thread';

const SEALER_LOCK = 4_711_001;
// The longest wait between two runs once nothing has been pending for a while.
const IDLE_INTERVAL_MS = 1000;
const SEAL_BATCH = 'SELECT audit_seal($1::bigint[], $2, $3, $4::text[], $5::uuid[], $6::text[], $7::text[], $8)';
const CHECKPOINT = 'SELECT audit_checkpoint($1, $2, $3, $4, $5, $6)';
interface ChainState { head: Head; lastCheckpoint?: Checkpoint; at: number }
const NOTHING: ChainedBatch = { count: 0, lastId: '', firstSeq: 0, firstPrev: '', head: { seq: 0, hash: GENESIS_HASH },
  ids: new Uint8Array(), hashes: new Uint8Array(), partners: new Uint8Array(), subjects: new Uint8Array(), agents: new Uint8Array() };

/** The chain in the database is not the one this sealer sealed and signed: it seals and signs nothing more. */
export interface ChainBroken { problem: string; seq?: number; since: string }

/** A promise whose failure is reported where it is awaited, not as an unhandled rejection in between. */
function settled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Seals pending entries into the chain: one sealer at a time across all instances (a session advisory lock held
 * for the run), pending entries taken as a queue (the oldest ids still in audit_pending, which audit_seal removes
 * as it writes their seals; never an `id >` cursor across runs, so an entry whose INSERT commits late is simply
 * sealed in a later run), seq gapless, hash = SHA-256(prev ‖ entry). Entries themselves never move.
 * Pipelined: the next batch is read and hashed by the sealer's thread (SealThread: a worker thread with its own
 * connection) while the previous ones are written on two connections of the pool, each batch committed after the
 * one before it; this thread only passes the batches along, in order.
 * Signs a checkpoint (in the sealer's thread too) every AUDIT_CHECKPOINT_EVERY entries or AUDIT_CHECKPOINT_SECONDS
 * seconds.
 */
@Injectable()
export class AuditSealer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditSealer.name);
  private readonly outage = new OutageLog(this.logger, 'audit sealing');
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<number>;
  /** The head this process last sealed or verified, and the last checkpoint it signed or verified. */
  private known?: { head: Head; checkpoint?: Checkpoint };
  private broken?: ChainBroken;
  private readonly thread: SealThread;

  constructor(
    private readonly db: Database,
    private readonly keys: CheckpointKeys,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: Metrics,
    // Given by tests that run the compiled worker from the TypeScript sources; else found beside this file.
    @Optional() thread?: SealThread,
  ) {
    this.thread = thread ?? new SealThread(keys, config.databaseAppUrl);
    metrics.gauge('gateway_audit_chain_intact',
      '1 while the chain in the database is the one this instance sealed and signed; 0: sealing stopped.', () => (this.broken ? 0 : 1));
  }

  /** Set when the chain was found rewritten or cut behind this sealer's back (readiness answers 503 then). */
  chainBroken(): ChainBroken | undefined {
    return this.broken;
  }

  onApplicationBootstrap(): void {
    if (this.config.audit.sealIntervalMs === 0) return;
    this.scheduleRun(this.config.audit.sealIntervalMs);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    // Stopping (closeGracefully: no request is running any more): what this instance traced leaves sealed.
    if (this.config.audit.sealIntervalMs > 0) await this.sealPending().catch((error: unknown) => this.outage.failed(error));
    await this.thread.stop();
  }

  /**
   * The next run in `delay` ms: AUDIT_SEAL_INTERVAL_MS after a run that sealed something; after one that found
   * nothing (or another instance sealing), twice the previous delay, up to IDLE_INTERVAL_MS — an idle gateway
   * does not query its database 20 times a second, and the first entries after a quiet spell wait at most that.
   */
  private scheduleRun(delay: number): void {
    this.timer = setTimeout(() => {
      const interval = this.config.audit.sealIntervalMs;
      void this.sealPending().then(
        (sealed) => {
          this.outage.succeeded();
          return sealed > 0 ? interval : Math.min(Math.max(IDLE_INTERVAL_MS, interval), delay * 2);
        },
        (error) => {
          this.outage.failed(error);
          // While the database is out of reach, back off as when idle rather than knocking 20 times a second.
          return Math.min(Math.max(IDLE_INTERVAL_MS, interval), delay * 2);
        },
      ).then((next) => {
        if (!this.stopped) this.scheduleRun(next);
      });
    }, delay);
    this.timer.unref();
  }

  /** Seals everything pending now; returns how many entries were sealed (0 if another instance is sealing). */
  sealPending(): Promise<number> {
    this.running ??= this.sealAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sealAll(): Promise<number> {
    const run = await this.db.underLock(SEALER_LOCK, (reader) => this.sealLocked(reader));
    return run.locked ? run.value : 0;
  }

  private async sealLocked(reader: PoolClient): Promise<number> {
    // Two writers, taken from the pool when first needed: batch k+1's seals are written while batch k commits,
    // and committed only after it (in order).
    const writers: (Promise<PoolClient> | undefined)[] = [undefined, undefined];
    const writer = (i: number) => (writers[i] ??= this.db.session());
    const busy: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let previous: Promise<void> = Promise.resolve();
    let next: Promise<ChainedBatch> | undefined;
    let broken = false;
    try {
      const state = await this.state(reader);
      if (!(await this.chainIntact(reader, state))) return 0;
      let total = 0;
      next = settled(this.thread.batch(reader, '0', state.head));
      for (let k = 0; ; k++) {
        const batch: ChainedBatch = await next;
        if (batch.count === 0) break;
        // The next batch is read and hashed while this one is written and the previous one commits. Within a run it
        // starts after the last id taken (this batch's entries stay pending until it commits); each run starts from
        // the beginning of the queue again.
        next = batch.count < SEAL_BATCH_SIZE ? Promise.resolve(NOTHING) : settled(this.thread.batch(reader, batch.lastId, batch.head));
        state.head = batch.head;
        const checkpoint = await this.checkpointDue(state);
        await busy[k % 2]; // this writer's previous batch (k-2) is committed
        const prior = previous;
        previous = busy[k % 2] = settled(writer(k % 2).then((client) => this.commit(client, batch, checkpoint, prior)));
        total += batch.count;
      }
      await previous;
      if (total === 0) {
        const checkpoint = await this.checkpointDue(state);
        if (checkpoint) await this.commit(await writer(0), undefined, checkpoint, previous);
      }
      this.known = { head: { ...state.head }, checkpoint: state.lastCheckpoint };
      return total;
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      await Promise.allSettled([next, ...busy]);
      for (const taken of writers) if (taken) await taken.then((client) => client.release(broken), () => undefined);
    }
  }

  /**
   * A signed checkpoint at the head if one is due (every N entries or T seconds), chained to the one before it;
   * the state's last checkpoint moves to it.
   */
  private async checkpointDue(state: ChainState): Promise<Checkpoint | undefined> {
    const { head, lastCheckpoint: last } = state;
    const now = this.clock.now();
    const lastSeq = last?.seq ?? 0;
    const due = head.seq > lastSeq && (head.seq - lastSeq >= this.config.audit.checkpointEvery
      || lastSeq === 0 || now.getTime() - state.at >= this.config.audit.checkpointSeconds * 1000);
    if (!due) return undefined;
    state.at = now.getTime();
    const payload = { seq: head.seq, hash: head.hash, at: now.toISOString(), prev_checkpoint: checkpointDigest(last) };
    state.lastCheckpoint = { ...payload, ...(await this.thread.sign(checkpointPayload(payload))) };
    return state.lastCheckpoint;
  }

  /**
   * Before sealing onto the head it read, the sealer checks that the chain still is the one it sealed and signed:
   * the head it left and the last checkpoint it knows are still there, unchanged, and every entry sealed since
   * (by another instance) recomputes from them. On its first run it takes the latest checkpoint (its signature
   * checked) as that point and recomputes the entries after it. Otherwise it stops sealing and signing, loudly.
   */
  private async chainIntact(reader: PoolClient, state: ChainState): Promise<boolean> {
    const problem = await this.findTampering(reader, state);
    if (problem) {
      if (!this.broken) {
        this.broken = { ...problem, since: this.clock.now().toISOString() };
        this.logger.error(`AUDIT CHAIN TAMPERED WITH: ${problem.problem}${problem.seq ? ` (seq ${problem.seq})` : ''}; `
          + 'no entry is sealed and no checkpoint signed until it is resolved (docs/audit.md)');
      }
      return false;
    }
    if (this.broken) this.logger.warn(`audit chain intact again (${this.broken.problem}); sealing resumes`);
    this.broken = undefined;
    this.known = { head: { ...state.head }, checkpoint: state.lastCheckpoint };
    return true;
  }

  private async findTampering(reader: PoolClient, state: ChainState): Promise<{ problem: string; seq?: number } | undefined> {
    const { head, lastCheckpoint } = state;
    const known = this.known;
    const checkpoint = known?.checkpoint ?? lastCheckpoint;
    if (checkpoint) {
      if (!lastCheckpoint || lastCheckpoint.seq < checkpoint.seq) {
        return { problem: `checkpoints after seq ${lastCheckpoint?.seq ?? 0} were removed`, seq: checkpoint.seq };
      }
      const { rows: [stored] } = await reader.query<Checkpoint & { sealed_hash: string | null }>(
        `SELECT ${CHECKPOINT_COLUMNS}, (SELECT s.hash FROM audit_seals s WHERE s.seq = c.seq) AS sealed_hash
         FROM audit_checkpoints c WHERE c.seq = $1`, [checkpoint.seq]);
      const key = this.keys.publicKeys()[checkpoint.key_id];
      if (!stored || stored.hash !== checkpoint.hash || stored.signature !== checkpoint.signature || !key
        || !checkpointSignatureValid(checkpoint, key)) {
        return { problem: `the checkpoint at seq ${checkpoint.seq} was removed or replaced`, seq: checkpoint.seq };
      }
      if (stored.sealed_hash !== checkpoint.hash) {
        return { problem: `the entry at seq ${checkpoint.seq} no longer has the hash its checkpoint signed`, seq: checkpoint.seq };
      }
    }
    const from = known?.head ?? (checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : undefined);
    if (!from || head.seq === from.seq && head.hash === from.hash) return undefined;
    if (head.seq < from.seq) return { problem: `the chain ends at seq ${head.seq}, before seq ${from.seq} already sealed`, seq: head.seq + 1 };
    const range = await this.thread.verify(reader, { fromSeq: from.seq + 1, toSeq: head.seq, publicKeys: this.keys.publicKeys() });
    if (!range.ok) return { problem: range.problem ?? 'the chain does not verify', seq: range.first_bad_seq };
    if (range.firstPrevHash !== from.hash || range.lastSeq !== head.seq) {
      return { problem: `the chain after seq ${from.seq} no longer follows from it`, seq: from.seq + 1 };
    }
    return undefined;
  }

  /**
   * Writes one batch's seals and its checkpoint in one transaction, committed only once `previous` (the batch
   * before) has committed; rolled back if it failed. A failed run leaves its entries pending: the next run reads
   * the head from the database again.
   */
  private async commit(writer: PoolClient, sealing: ChainedBatch | undefined, checkpoint: Checkpoint | undefined, previous: Promise<void>): Promise<void> {
    try {
      // Safe without waiting for the WAL flush: if a crash loses this commit, the entries are still pending and
      // the next run seals them again, in the same order, to the same hashes. (One round trip for both.)
      await writer.query('BEGIN; SET LOCAL synchronous_commit = off');
      if (sealing) {
        await writer.query({ name: 'audit_seal_batch', text: SEAL_BATCH,
          values: [sealing.ids, sealing.firstSeq, sealing.firstPrev, sealing.hashes, sealing.partners, sealing.subjects,
            sealing.agents, this.clock.now()] });
      }
      if (checkpoint) {
        await writer.query({ name: 'audit_checkpoint', text: CHECKPOINT,
          values: [checkpoint.seq, checkpoint.hash, checkpoint.at, checkpoint.key_id, checkpoint.signature, checkpoint.prev_checkpoint] });
      }
      await previous;
      await writer.query('COMMIT');
    } catch (error) {
      await writer.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /**
   * Where the chain stands, in one round trip: the last sealed entry (or the anchor a purge left, or the
   * genesis) and the last signed checkpoint.
   */
  private async state(reader: PoolClient): Promise<ChainState> {
    const { rows: [row] } = await reader.query<{ seq: string | null; hash: string | null; checkpoint: Checkpoint | null }>(
      `SELECT h.seq, h.hash, row_to_json(c) AS checkpoint
       FROM (SELECT 1) one
       LEFT JOIN (SELECT seq, hash FROM (SELECT seq, hash FROM audit_seals ORDER BY seq DESC LIMIT 1) s
                  UNION ALL SELECT seq, hash FROM (SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1) a
                  ORDER BY seq DESC LIMIT 1) h ON true
       LEFT JOIN (SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) c ON true`);
    const checkpoint = row.checkpoint ?? undefined;
    return {
      head: row.seq === null ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(row.seq), hash: row.hash! },
      lastCheckpoint: checkpoint,
      at: checkpoint ? new Date(checkpoint.at).getTime() : 0,
    };
  }
}
