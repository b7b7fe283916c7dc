import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Clock } from '../common/clock';
import { AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { OutageLog } from '../common/logging/outage-log';

const BATCH = 20;
const LEASE_SECONDS = 120;
const INTERVAL_MS = 5000;

export interface DueRow {
  id: string;
  attempts: number;
}

/** Where a queue lives: its table, the columns a sender needs, and what "done" is called there. */
export interface QueueTable {
  table: string;
  columns: string;
  doneStatus: string;
  doneAt: string;
}

/** The short code kept as a failed attempt's last error: an SMTP reply or HTTP status, or the error's code; never a message. */
export const failureCode = (error: unknown): string =>
  String((error as { responseCode?: number }).responseCode ?? (error as { code?: string }).code ?? 'error').slice(0, 100);

/**
 * A queue of outgoing messages in a table, sent by whichever instance leases a row first (FOR UPDATE SKIP LOCKED, a
 * lease of two minutes), so that two instances never send the same row at once, and a crash between sending and
 * marking sends it again after the lease, under the same id. Failed attempts are retried when `nextAttempt` says,
 * and the row is marked failed when it says never. E-mails (NotificationDelivery) and webhooks (WebhookDelivery).
 */
export abstract class LeasedSender<T extends DueRow> implements OnApplicationBootstrap, OnModuleDestroy {
  protected abstract readonly logger: Logger;
  private outage?: OutageLog;
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  protected constructor(protected readonly db: Database, protected readonly clock: Clock, private readonly adapterHost: HttpAdapterHost,
    protected readonly config: AppConfig, private readonly queue: QueueTable) {}

  /** Sends one row; throws to have it retried. */
  protected abstract send(row: T): Promise<void>;

  /** When to try a row again after `attempts` failures; undefined: never (it is marked failed). */
  protected abstract nextAttempt(row: T, attempts: number): Date | undefined;

  onApplicationBootstrap(): void {
    // Not in the CLI; and tests deliver when they choose (manual sealing means manual everything).
    if (!this.adapterHost.httpAdapter || this.config.audit.sealIntervalMs === 0) return;
    this.outage = new OutageLog(this.logger, `${this.queue.table} delivery`);
    this.timer = setInterval(() => {
      this.running ??= this.deliverDue().then((n) => (this.outage!.succeeded(), n), (error) => (this.outage!.failed(error), 0))
        .finally(() => (this.running = undefined));
    }, INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Sends what is due now (one leased batch at a time); answers how many went out. */
  async deliverDue(): Promise<number> {
    let sent = 0;
    const { table, columns } = this.queue;
    for (;;) {
      const batch = await this.db.rows<T>(
        `UPDATE ${table} SET lease_until = now() + make_interval(secs => $3) WHERE id IN (
           SELECT id FROM ${table} WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < now())
           ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id, attempts, ${columns}`, [this.clock.now(), BATCH, LEASE_SECONDS]);
      for (const row of batch) if (await this.attempt(row)) sent++;
      if (batch.length < BATCH) return sent;
    }
  }

  private async attempt(row: T): Promise<boolean> {
    const { table, doneStatus, doneAt } = this.queue;
    try {
      await this.send(row);
      await this.db.rows(`UPDATE ${table} SET status = $3, ${doneAt} = $2, lease_until = NULL, attempts = attempts + 1, last_error = NULL
        WHERE id = $1`, [row.id, this.clock.now(), doneStatus]);
      return true;
    } catch (error) {
      const attempts = row.attempts + 1;
      const next = this.nextAttempt(row, attempts);
      await this.db.rows(`UPDATE ${table} SET attempts = $2::int, last_error = $3, lease_until = NULL, next_attempt_at = COALESCE($4, next_attempt_at),
        status = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE status END WHERE id = $1`,
      [row.id, attempts, failureCode(error), next ?? null]);
      this.outage?.failed(error);
      return false;
    }
  }
}
