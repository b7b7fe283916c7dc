import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PoolClient } from 'pg';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { arrayLiteral } from '../common/database/array-literal';
import { chainHash, Checkpoint, ENTRY_FIELDS, GENESIS_HASH } from './chain';
import { CheckpointKeys } from './checkpoint-keys';

const SEALER_LOCK = 4_711_001;
// The longest wait between two runs once nothing has been pending for a while.
const IDLE_INTERVAL_MS = 1000;
// Large enough to amortise the round trips; hashing yields within a batch (YIELD_EVERY).
const BATCH = 2000;
// Rows hashed between two yields to the event loop (about a millisecond of work).
const YIELD_EVERY = 250;

// Pending entries, oldest id first, as arrays in ENTRY_FIELDS order (no object per row); the first column carries
// the entry id until the seq replaces it.
const READ_PENDING = `SELECT e.id::text, to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), e.kind,
    e.partner_id, e.recipient, e.agent, e.context, e.object, e.operator_id, e.action, e.target, e.detail, e.subject_ref,
    array_to_json(e.scopes_returned)::text, e.outcome, e.http_status, e.request_id, e.upstream_ms
  FROM (SELECT entry_id FROM audit_pending WHERE entry_id > $2 ORDER BY entry_id LIMIT $1) p
  -- Each entry fetched by its id (LATERAL ... OFFSET 0 keeps that plan): a merge join would walk the entries
  -- table from its start, sealed history included, for every batch.
  CROSS JOIN LATERAL (SELECT * FROM audit_entries x WHERE x.id = p.entry_id OFFSET 0) e
  ORDER BY p.entry_id`;
const SEAL_BATCH = 'SELECT audit_seal($1::bigint[], $2, $3, $4::text[], $5::uuid[], $6::text[], $7)';
const SEQ = 0;
const PARTNER = ENTRY_FIELDS.indexOf('partner_id');
const SUBJECT = ENTRY_FIELDS.indexOf('subject_ref');
const SCOPES = ENTRY_FIELDS.indexOf('scopes_returned');

interface Head { seq: number; hash: string }
interface Sealing { firstSeq: number; firstPrev: string; ids: string[]; hashes: string[]; partners: unknown[]; subjects: unknown[] }

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
 * Pipelined: the next batch is read on one connection and hashed here while the previous ones are written on two
 * others (each batch committed after the one before it).
 * Signs a checkpoint every AUDIT_CHECKPOINT_EVERY entries or AUDIT_CHECKPOINT_SECONDS seconds.
 */
@Injectable()
export class AuditSealer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditSealer.name);
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<number>;

  constructor(
    private readonly db: Database,
    private readonly keys: CheckpointKeys,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.audit.sealIntervalMs === 0) return;
    this.scheduleRun(this.config.audit.sealIntervalMs);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
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
        (sealed) => (sealed > 0 ? interval : Math.min(Math.max(IDLE_INTERVAL_MS, interval), delay * 2)),
        (error) => {
          this.logger.warn(`sealing failed: ${(error as { code?: string }).code ?? (error as Error).name}`);
          return interval;
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
    const reader = await this.db.session();
    let broken = false;
    try {
      const { rows: [{ locked }] } = await reader.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SEALER_LOCK]);
      if (!locked) return 0;
      try {
        return await this.sealLocked(reader);
      } finally {
        await reader.query('SELECT pg_advisory_unlock($1)', [SEALER_LOCK]);
      }
    } catch (error) {
      broken = true; // a connection that failed mid-run is dropped, and its session lock with it
      throw error;
    } finally {
      reader.release(broken);
    }
  }

  private async sealLocked(reader: PoolClient): Promise<number> {
    // Two writers, taken from the pool when first needed: batch k+1's seals are written while batch k commits,
    // and committed only after it (in order).
    const writers: (Promise<PoolClient> | undefined)[] = [undefined, undefined];
    const writer = (i: number) => (writers[i] ??= this.db.session());
    const busy: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let previous: Promise<void> = Promise.resolve();
    let next: Promise<unknown[][]> | undefined;
    let broken = false;
    try {
      const { head, lastCheckpoint } = await this.state(reader);
      let total = 0;
      next = settled(this.read(reader, '0'));
      for (let k = 0; ; k++) {
        const rows: unknown[][] = await next;
        if (rows.length === 0) break;
        // The next batch is read while this one is hashed and the previous ones are written. Within a run it starts
        // after the last id taken (this batch's rows stay pending until it commits); each run starts from the
        // beginning of the queue again.
        next = rows.length < BATCH ? Promise.resolve([]) : settled(this.read(reader, rows[rows.length - 1][SEQ] as string));
        const sealing = await this.chain(rows, head);
        const checkpoint = this.checkpointDue(head, lastCheckpoint);
        await busy[k % 2]; // this writer's previous batch (k-2) is committed
        const prior = previous;
        previous = busy[k % 2] = settled(writer(k % 2).then((client) => this.commit(client, sealing, checkpoint, prior)));
        total += rows.length;
      }
      await previous;
      if (total === 0) {
        const checkpoint = this.checkpointDue(head, lastCheckpoint);
        if (checkpoint) await this.commit(await writer(0), undefined, checkpoint, previous);
      }
      return total;
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      await Promise.allSettled([next, ...busy]);
      for (const taken of writers) if (taken) await taken.then((client) => client.release(broken), () => undefined);
    }
  }

  private async read(reader: PoolClient, after: string): Promise<unknown[][]> {
    return (await reader.query<unknown[]>({ name: 'audit_read_pending', text: READ_PENDING, values: [BATCH, after], rowMode: 'array' })).rows;
  }

  /**
   * Gives each row its seq and hash, following on from head (which moves to the batch's last entry). Yields to
   * the event loop every few hundred rows: the sealer shares the process with the lookups.
   */
  private async chain(rows: unknown[][], head: Head): Promise<Sealing> {
    const sealing: Sealing = { firstSeq: head.seq + 1, firstPrev: head.hash, ids: [], hashes: [], partners: [], subjects: [] };
    for (let i = 0; i < rows.length; i++) {
      if (i > 0 && i % YIELD_EVERY === 0) await new Promise(setImmediate);
      const row = rows[i];
      const scopes = row[SCOPES] as string | null;
      row[SCOPES] = scopes === null ? null : JSON.parse(scopes);
      sealing.ids.push(row[SEQ] as string);
      row[SEQ] = ++head.seq;
      const entryHash = chainHash(head.hash, row);
      sealing.hashes.push(entryHash);
      sealing.partners.push(row[PARTNER]);
      sealing.subjects.push(row[SUBJECT]);
      head.hash = entryHash;
    }
    return sealing;
  }

  /** A signed checkpoint at head if one is due (every N entries or T seconds); `last` moves to it. */
  private checkpointDue(head: Head, last: { seq: number; at: number }): Checkpoint | undefined {
    const now = this.clock.now();
    const due = head.seq > last.seq && (head.seq - last.seq >= this.config.audit.checkpointEvery
      || last.seq === 0 || now.getTime() - last.at >= this.config.audit.checkpointSeconds * 1000);
    if (!due) return undefined;
    last.seq = head.seq;
    last.at = now.getTime();
    return this.keys.sign({ seq: head.seq, hash: head.hash, at: now.toISOString() });
  }

  /**
   * Writes one batch's seals and its checkpoint in one transaction, committed only once `previous` (the batch
   * before) has committed; rolled back if it failed. A failed run leaves its entries pending: the next run reads
   * the head from the database again.
   */
  private async commit(writer: PoolClient, sealing: Sealing | undefined, checkpoint: Checkpoint | undefined, previous: Promise<void>): Promise<void> {
    try {
      // Safe without waiting for the WAL flush: if a crash loses this commit, the entries are still pending and
      // the next run seals them again, in the same order, to the same hashes. (One round trip for both.)
      await writer.query('BEGIN; SET LOCAL synchronous_commit = off');
      if (sealing) {
        await writer.query({ name: 'audit_seal_batch', text: SEAL_BATCH,
          values: [arrayLiteral(sealing.ids), sealing.firstSeq, sealing.firstPrev, arrayLiteral(sealing.hashes),
            arrayLiteral(sealing.partners), arrayLiteral(sealing.subjects), this.clock.now()] });
      }
      if (checkpoint) {
        await writer.query('INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5)',
          [checkpoint.seq, checkpoint.hash, checkpoint.at, checkpoint.key_id, checkpoint.signature]);
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
  private async state(reader: PoolClient): Promise<{ head: Head; lastCheckpoint: { seq: number; at: number } }> {
    const { rows: [row] } = await reader.query<{ seq: string | null; hash: string | null; checkpoint_seq: string | null; checkpoint_at: Date | null }>(
      `SELECT h.seq, h.hash, c.seq AS checkpoint_seq, c.at AS checkpoint_at
       FROM (SELECT 1) one
       LEFT JOIN (SELECT seq, hash FROM (SELECT seq, hash FROM audit_seals ORDER BY seq DESC LIMIT 1) s
                  UNION ALL SELECT seq, hash FROM (SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1) a
                  ORDER BY seq DESC LIMIT 1) h ON true
       LEFT JOIN (SELECT seq, at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) c ON true`);
    return {
      head: row.seq === null ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(row.seq), hash: row.hash! },
      lastCheckpoint: row.checkpoint_seq === null ? { seq: 0, at: 0 } : { seq: Number(row.checkpoint_seq), at: row.checkpoint_at!.getTime() },
    };
  }
}
