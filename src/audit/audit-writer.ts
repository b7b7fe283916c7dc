import { Injectable, Logger } from '@nestjs/common';
import { AuditUnavailable } from '../common/errors/domain-errors';
import { OutageLog } from '../common/logging/outage-log';
import { FINE_BUCKETS, Histogram, Metrics } from '../common/metrics';
import { AuditQueue, NewAuditEntry } from './audit-queue';

/** Most entries one INSERT carries. */
const MAX_BATCH = 1000;
/**
 * INSERTs in flight at once. With one, a request arriving during a commit waits for that commit and then its
 * own (two WAL flushes); with two, the next batch starts while the previous one is flushing.
 */
const MAX_IN_FLIGHT = 2;

/**
 * Group commit: callers queue their entries; a writer inserts everything queued with a single multi-row
 * INSERT and releases all of them once it is committed (at most two INSERTs in flight). While they run, the next
 * batch gathers, so the cost per entry falls as load rises, and an entry is durable before its caller goes on.
 */
@Injectable()
export class AuditWriter {
  private readonly outage = new OutageLog(new Logger(AuditWriter.name), 'audit writer', 'entries');
  private pending: { entry: NewAuditEntry; at: number; done: (error?: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly wait: Histogram;

  constructor(private readonly queue: AuditQueue, metrics: Metrics) {
    // What the durable write adds to each lookup: the wait for a batch slot plus the commit (fsync included).
    this.wait = metrics.histogram('gateway_audit_append_wait_seconds',
      'Time from a request handing over its audit entry to that entry being committed.', FINE_BUCKETS);
  }

  /** Resolves once the entry is committed; rejects with AuditUnavailable when it could not be. */
  append(entry: NewAuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, at: performance.now(), done: (error) => (error ? reject(new AuditUnavailable()) : resolve()) });
      this.schedule();
    });
  }

  /**
   * Starts a writer at the end of this event-loop turn (one setImmediate per turn, not per entry), so that the
   * entries of all the requests handled in the same turn share one INSERT and one commit: at moderate load this
   * halves the commits PostgreSQL flushes, for a wait of a fraction of a millisecond.
   */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.inFlight < MAX_IN_FLIGHT && this.pending.length > 0) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.inFlight++;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH);
        try {
          await this.queue.insert(batch.map((item) => item.entry));
          this.outage.succeeded();
          const now = performance.now();
          for (const item of batch) {
            this.wait.observe((now - item.at) / 1000);
            item.done();
          }
        } catch (error) {
          this.outage.failed(error, batch.length);
          for (const item of batch) item.done(error);
        }
      }
    } finally {
      this.inFlight--;
    }
  }
}
